//! See [`provernet_fuzz::envelope`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| provernet_fuzz::envelope(data));
