//! See [`provernet_fuzz::api`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| provernet_fuzz::api(data));
