//! See [`provernet_fuzz::witness`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| provernet_fuzz::witness(data));
