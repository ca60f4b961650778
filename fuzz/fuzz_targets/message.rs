//! See [`provernet_fuzz::message`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| provernet_fuzz::message(data));
