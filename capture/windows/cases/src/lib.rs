//! The table of password changes that the Wine test feeds to the LSA filter DLL (through
//! the harness, on Windows) and then looks for in the spool and the log (through verify, on
//! Linux). One table for both sides, so that no password travels on a command line or in an
//! environment variable, and the two sides cannot drift apart.
//!
//! It must never depend on anything but std (it builds for Windows with Rust 1.63 and for
//! Linux), and every case must say exactly what the DLL has to do with it: capture the
//! very account and password, or refuse with a log line that names the case's RID.

#![warn(missing_docs)]

mod case;
mod input;
mod table;

pub use case::{Case, Expect};
pub use input::{Utf16Input, MAX_UNICODE_STRING_BYTES};
pub use table::{all_cases, concurrent_cases, scenario_change, CONCURRENT_CHANGES, CONCURRENT_THREADS};
