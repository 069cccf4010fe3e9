//! Fuzz target `payload_decode`: see `pwsync_fuzz_checks::payload_decode` for what it feeds and which properties
//! it checks (the stable corpus replay test runs the same check).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pwsync_fuzz_checks::payload_decode::check(data));
