//! See [`provernet_fuzz::frame`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| provernet_fuzz::frame(data));
