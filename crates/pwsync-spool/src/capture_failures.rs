//! The capture-failure journal: one line per password change a hook could not capture but let
//! through (`--on-failure allow`), so that the divergence it caused is counted and shown by the
//! client instead of being lost in a DC's log.
//!
//! The journal lives in the spool root as `capture-failures`. Writing it is best effort: when
//! the spool itself is what failed, the hook's other report (stderr, syslog) is all there is.
//! A line holds a time, an exit code, the account and a reason; it must never hold a password.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// File name of the journal in the spool root.
pub const CAPTURE_FAILURES_FILE: &str = "capture-failures";

/// Longest line kept: a runaway reason must not fill the disk a line at a time.
const MAX_LINE: usize = 1024;

/// What the journal holds, for the client's status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaptureFailures {
    /// Number of failures noted since the journal was created.
    pub count: u64,
    /// The newest line.
    pub last: Option<String>,
}

/// Appends one failure to the journal of the spool at `root` (creating it, mode 0600).
/// `captured_at_ns` is the time of the failure; the other fields are written on one line, with
/// line breaks and tabs replaced.
pub fn note_capture_failure(
    root: &Path,
    at_ns: i64,
    code: u8,
    account: &str,
    reason: &str,
) -> io::Result<()> {
    let clean = |text: &str| text.replace(['\n', '\r', '\t'], " ");
    let mut line = format!("{at_ns}\t{code}\t{}\t{}", clean(account), clean(reason));
    if line.len() > MAX_LINE {
        let mut end = MAX_LINE;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
    }
    line.push('\n');
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(root.join(CAPTURE_FAILURES_FILE))?;
    // One write call: appends of concurrent hooks do not interleave within a line.
    file.write_all(line.as_bytes())?;
    file.sync_data()
}

/// Reads the journal of the spool at `root`; an absent journal means no failure.
pub fn read_capture_failures(root: &Path) -> io::Result<CaptureFailures> {
    let text = match fs::read_to_string(root.join(CAPTURE_FAILURES_FILE)) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(CaptureFailures::default()),
        Err(error) => return Err(error),
    };
    let lines: Vec<&str> = text.lines().filter(|line| !line.is_empty()).collect();
    Ok(CaptureFailures { count: lines.len() as u64, last: lines.last().map(|line| line.to_string()) })
}
