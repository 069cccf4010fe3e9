//! The per-origin stamp: capture time and sequence number for the next change, kept in
//! `<root>/.origin-state` under an exclusive lock so that concurrent hooks (threads or
//! processes) never hand out the same pair.
//!
//! Capture times must never go backwards for an origin, even when the wall clock does:
//! each stamp is `max(now, last + 1)`. The file is not fsynced on purpose: after a crash a
//! lost increment is covered by the clock having moved on. It is overwritten in place with
//! a fixed-length line, so a torn write shows up as corruption, never as a silently
//! smaller value.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::platform::{self, LockAttempt};
use crate::SpoolError;

/// Name of the state file inside the spool root.
pub(crate) const STATE_FILE: &str = ".origin-state";

/// How long to wait for another capture process before giving up. Well below the 10 s
/// after which Samba kills its password script.
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

const LABEL: &str = "pwsync-origin-state-v1";
/// Label, two signed 20-character numbers, separators and newline.
const LINE_LEN: usize = LABEL.len() + 1 + 20 + 1 + 20 + 1;

/// The last stamp handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Last {
    captured_at_ns: i64,
    seq: u64,
}

/// Takes the next `(captured_at_ns, origin_seq)` for this spool, given the current time.
pub(crate) fn next_stamp(root: &Path, now_ns: i64) -> Result<(i64, u64), SpoolError> {
    let path = root.join(STATE_FILE);
    let mut file = lock(&path)?;
    let mut text = String::new();
    (&mut file)
        .take(LINE_LEN as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|_| SpoolError::OriginStateCorrupt { path: path.clone() })?;
    let last = parse(&text).ok_or_else(|| SpoolError::OriginStateCorrupt { path: path.clone() })?;
    let overflow = || SpoolError::StampOverflow { path: path.clone() };
    let next = match last {
        None => Last { captured_at_ns: now_ns, seq: 1 },
        Some(last) => Last {
            captured_at_ns: now_ns.max(last.captured_at_ns.checked_add(1).ok_or_else(overflow)?),
            seq: last.seq.checked_add(1).ok_or_else(overflow)?,
        },
    };
    let line = format_line(next);
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.write_all(line.as_bytes()))
        .and_then(|()| file.set_len(line.len() as u64))
        .map_err(SpoolError::io("write", &path))?;
    // Dropping `file` releases the lock.
    Ok((next.captured_at_ns, next.seq))
}

fn lock(path: &Path) -> Result<std::fs::File, SpoolError> {
    let started = Instant::now();
    let mut pause = Duration::from_micros(200);
    loop {
        match platform::try_lock_file(path).map_err(SpoolError::io("lock", path))? {
            LockAttempt::Locked(file) => return Ok(file),
            LockAttempt::Busy if started.elapsed() < LOCK_TIMEOUT => {
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(10));
            }
            LockAttempt::Busy => {
                return Err(SpoolError::LockTimeout { path: path.to_owned(), waited: started.elapsed() })
            }
        }
    }
}

fn format_line(stamp: Last) -> String {
    format!("{} {:020} {:020}\n", LABEL, stamp.captured_at_ns, stamp.seq)
}

/// `Some(None)` for a new (empty) file, `Some(Some(last))` for a valid one, `None` if
/// corrupt.
fn parse(text: &str) -> Option<Option<Last>> {
    if text.is_empty() {
        return Some(None);
    }
    if text.len() != LINE_LEN || !text.ends_with('\n') {
        return None;
    }
    let mut words = text.trim_end_matches('\n').split(' ');
    if words.next()? != LABEL {
        return None;
    }
    let captured_at_ns = words.next()?.parse().ok()?;
    let seq = words.next()?.parse().ok()?;
    if words.next().is_some() {
        return None;
    }
    Some(Some(Last { captured_at_ns, seq }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_fixed_length_for_any_value() {
        for stamp in [
            Last { captured_at_ns: 0, seq: 0 },
            Last { captured_at_ns: i64::MIN, seq: u64::MAX },
            Last { captured_at_ns: i64::MAX, seq: 1 },
        ] {
            let line = format_line(stamp);
            assert_eq!(line.len(), LINE_LEN, "{:?}", line);
            assert_eq!(parse(&line), Some(Some(stamp)));
        }
    }

    #[test]
    fn empty_is_new_and_anything_else_is_corrupt() {
        assert_eq!(parse(""), Some(None));
        let good = format_line(Last { captured_at_ns: 5, seq: 6 });
        assert_eq!(parse(&good[..good.len() - 3]), None);
        assert_eq!(parse(&good.replace(LABEL, "pwsync-origin-state-v9")), None);
        assert_eq!(parse(&good.replace('6', "x")), None);
        assert_eq!(parse("\0\0\0"), None);
    }
}
