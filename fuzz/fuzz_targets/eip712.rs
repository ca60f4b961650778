//! See [`provernet_fuzz::eip712`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| provernet_fuzz::eip712(data));
