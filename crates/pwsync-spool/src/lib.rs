//! The pwsync spool: a directory in which capture hooks leave one sealed record per
//! password change, and from which the client daemon delivers, acknowledges, or fails them.
//!
//! Layout: pending records `{captured_at_ns:020}-{change_id}.pws` (or `.retry.pws`) in the
//! root; `failed/` holds failed records plus a `.reason` file each; `.origin-state` keeps
//! the last capture time and sequence number; `.tmp-*` are writes in progress. See
//! `docs/spool-format.md`.
//!
//! This crate must never lose a record that `write_record`/`capture` reported written,
//! never read or hold a password except to pass it to the seal, never follow a name from a
//! caller outside the spool, and never use Rust newer than 1.63 or async (the capture
//! hooks — Samba script, Windows LSA DLL, PAM module — link it).

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod capture;
mod capture_failures;
mod durable;
mod error;
mod failure;
mod origin_state;
mod platform;
mod record_name;
mod spool;

pub use capture::{CaptureInput, Captured};
pub use capture_failures::{
    note_capture_failure, read_capture_failures, CaptureFailures, CAPTURE_FAILURES_FILE,
};
pub use error::{CaptureError, SpoolError};
pub use failure::{FailedRecord, FailureReason, MAX_DETAIL_LEN};
pub use spool::{PendingRecord, Spool, SpoolStats, CLIENT_STATE_FILE, FAILED_DIR};
