//! Fuzz target `wire_request`: see `pwsync_fuzz_checks::wire_request` for what it feeds and which properties it
//! checks (the stable corpus replay test runs the same check).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pwsync_fuzz_checks::wire_request::check(data));
