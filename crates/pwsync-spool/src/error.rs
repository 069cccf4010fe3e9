//! The spool's named errors: [`SpoolError`] for directory operations and [`CaptureError`]
//! for the whole capture hook.
//!
//! Messages name paths, record names and what an operator can do; they must never contain
//! record content (which is sealed anyway) or anything from a password.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use pwsync_seal::SealError;

/// Why a spool operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// An operating-system call failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done, e.g. "create", "rename".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The spool root (or its `failed` subdirectory) exists but is not a directory.
    #[error(
        "spool path {path} exists but is not a directory; move it away or choose another spool directory"
    )]
    NotADirectory {
        /// The offending path.
        path: PathBuf,
    },
    /// The directory lets group or others in (unix).
    #[error("spool directory {path} has mode {mode:04o}, which gives group or others access; run `chmod 700 {path}` and check that it belongs to the capture hook's user")]
    InsecurePermissions {
        /// The offending directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A record's capture time is before 1970, which the file name cannot sort.
    #[error("capture time {captured_at_ns} ns is before 1970; check the system clock")]
    NegativeCaptureTime {
        /// The rejected time.
        captured_at_ns: i64,
    },
    /// An empty record was given to write.
    #[error("refusing to write an empty record")]
    EmptyRecord,
    /// A record larger than the format allows.
    #[error("record is {len} bytes, more than the limit of {max}")]
    RecordTooLarge {
        /// Its length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A name that is not a spool record name (or contains path separators).
    #[error("{name:?} is not a spool record name (expected <20 digits>-<32 hex digits>.pws or .retry.pws, without any directory)")]
    InvalidRecordName {
        /// The rejected name.
        name: String,
    },
    /// No record of that name in the pending or failed area.
    #[error("no {area} record named {name}")]
    NotFound {
        /// The record name.
        name: String,
        /// "pending" or "failed".
        area: &'static str,
    },
    /// A failure code that is not short snake_case.
    #[error("failure code {code:?} must be 1 to 64 characters of a-z, 0-9 and _, starting with a letter")]
    InvalidFailureCode {
        /// The rejected code.
        code: String,
    },
    /// A failure detail that is not one printable line of at most 1024 bytes.
    #[error("failure detail {problem}; use FailureReason::one_line to clean it")]
    InvalidFailureDetail {
        /// What is wrong.
        problem: &'static str,
    },
    /// The origin state file does not hold what this crate writes.
    #[error("origin state file {path} is corrupt; remove it to reset (the sequence restarts at 1, capture times stay increasing with the clock)")]
    OriginStateCorrupt {
        /// The state file.
        path: PathBuf,
    },
    /// The capture time or sequence number cannot be incremented any more.
    #[error("origin state in {path} has reached the largest capture time or sequence number")]
    StampOverflow {
        /// The state file.
        path: PathBuf,
    },
    /// Another process held the lock for too long.
    #[error("could not lock {path} within {waited:?}; is another capture process stuck?")]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
}

impl SpoolError {
    /// Wraps an I/O error with what was done and where.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> SpoolError {
        let path = path.into();
        move |source| SpoolError::Io { action, path, source }
    }
}

/// Why [`crate::Spool::capture`] failed. The change was not written.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The change breaks a limit of the record format (or the public key is unusable).
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The spool directory could not take the record.
    #[error(transparent)]
    Spool(#[from] SpoolError),
}
