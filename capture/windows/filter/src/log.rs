//! The filter's log: one line per event in `pwsync-filter.log` (next to the spool directory
//! once the configuration is known, next to the DLL before), and warnings and errors also in
//! the Windows Application event log (source `pwsync-filter`), where a domain controller's
//! administrator looks first.
//!
//! The log is the only place where a change that could not be captured is reported, so each
//! such line names the account and RID and says why. It must never contain a password (no
//! caller passes one, and no error type of this crate or of pwsync-seal/-spool holds one),
//! never fail or block its caller for long (every error is swallowed: lsass must go on), and
//! never grow without bound (at 4 MiB the file is renamed to `.1`, replacing the previous).

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::event_log;
use crate::module_path;
use crate::time_text;
use crate::win32;

/// The log file's name, wherever it is.
pub const LOG_FILE_NAME: &str = "pwsync-filter.log";
/// Size at which the log file is rotated.
pub const MAX_LOG_BYTES: u64 = 4 << 20;

/// How serious an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal operation: a change captured, the configuration loaded.
    Info,
    /// Something an administrator should look at, but nothing was lost.
    Warning,
    /// A change was not captured, or the filter cannot work.
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// The log file chosen by the configuration; `None` until then (next to the DLL).
/// The mutex also keeps lines of concurrent calls whole.
static LOG_FILE: Mutex<Option<PathBuf>> = Mutex::new(None);

/// From now on, log to `path`.
pub fn set_file(path: PathBuf) {
    *LOG_FILE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(path);
}

/// Logs an informational line.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Logs a warning (also to the event log).
pub fn warning(message: &str) {
    write(Level::Warning, message);
}

/// Logs an error (also to the event log).
pub fn error(message: &str) {
    write(Level::Error, message);
}

fn write(level: Level, message: &str) {
    let message = one_line(message);
    // SAFETY: GetCurrentThreadId has no preconditions.
    let thread = unsafe { win32::GetCurrentThreadId() };
    let line = format!(
        "{} {} [pid {} tid {}] {}\r\n",
        time_text::now_utc(),
        level.as_str(),
        std::process::id(),
        thread,
        message
    );
    {
        let chosen = LOG_FILE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let path =
            chosen.clone().or_else(|| module_path::this_module_dir().map(|dir| dir.join(LOG_FILE_NAME)));
        if let Some(path) = path {
            // Nowhere to report a failure to write the report: the event log below still has
            // warnings and errors.
            let _ = append(&path, &line, MAX_LOG_BYTES);
        }
    }
    if level != Level::Info {
        event_log::report(level, &message);
    }
}

/// Appends `line` to `path`, first renaming a file that would grow past `max_bytes`.
fn append(path: &Path, line: &str, max_bytes: u64) -> std::io::Result<()> {
    if let Ok(metadata) = std::fs::metadata(path) {
        if metadata.len() + line.len() as u64 > max_bytes {
            let mut rotated = OsString::from(path.as_os_str());
            rotated.push(".1");
            std::fs::rename(path, PathBuf::from(rotated))?;
        }
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(line.as_bytes())
}

/// `message` on one line: Windows error texts may end in CR LF, and a log line must not be
/// split (nor forged) by what an error or account name contains.
fn one_line(message: &str) -> String {
    message.trim_end().chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    #[test]
    fn appends_whole_lines_and_rotates_at_the_limit() {
        let dir = TestDir::new("log-rotate");
        let path = dir.path().join(LOG_FILE_NAME);
        append(&path, "first line\r\n", 30).unwrap();
        append(&path, "second line\r\n", 30).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first line\r\nsecond line\r\n");
        append(&path, "third line\r\n", 30).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "third line\r\n");
        let rotated = dir.path().join(format!("{}.1", LOG_FILE_NAME));
        assert_eq!(std::fs::read_to_string(rotated).unwrap(), "first line\r\nsecond line\r\n");
    }

    #[test]
    fn messages_are_kept_on_one_line() {
        assert_eq!(one_line("cannot open: Access is denied.\r\n"), "cannot open: Access is denied.");
        assert_eq!(one_line("account a\nINFO forged"), "account a INFO forged");
    }
}
