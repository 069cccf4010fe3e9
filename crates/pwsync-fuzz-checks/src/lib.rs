//! The checks that pwsync's fuzz targets run on each input, kept apart from the production
//! crates so that the fuzzer (`fuzz/`, nightly) and the stable corpus replay test
//! (`tests/corpus.rs`) call the very same code.
//!
//! Each check takes arbitrary bytes and panics only when a property of the code under test is
//! broken (a panic inside it, an error that is not one of its named errors, a valid input that
//! does not round-trip). It must never be linked into a production binary, and never print an
//! input: inputs may hold passwords.

pub mod config_parse;
pub mod ldap_filter;
pub mod payload_decode;
pub mod record_open;
pub mod wire_request;

/// A target's check: panics when a property is broken.
pub type Check = fn(&[u8]);

/// The fuzz targets, by the name of their directory under `fuzz/corpus/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("record_open", record_open::check),
    ("payload_decode", payload_decode::check),
    ("wire_request", wire_request::check),
    ("config_parse", config_parse::check),
    ("ldap_filter", ldap_filter::check),
];
