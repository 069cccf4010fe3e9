//! [`Spool`]: the durable spool directory — pending records in the root, failed ones with
//! a reason in `failed/` — and every operation on it.
//!
//! Invariants it must never break: a record file exists under its final name only with its
//! full, fsynced content; a record leaves the root only by `ack` (deleted after a definitive
//! verdict) or `fail` (moved, still sealed, with its reason written first); sealed bytes are
//! never rewritten; names from callers are validated before they touch a path; and on unix
//! the directories are 0700 and the files 0600.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pwsync_seal::{ChangeId, MAX_RECORD_LEN};

use crate::durable::{self, TEMP_PREFIX};
use crate::failure::{self, FailedRecord, FailureReason};
use crate::origin_state::{self, STATE_FILE};
use crate::platform;
use crate::record_name::RecordName;
use crate::SpoolError;

/// Name of the subdirectory that holds failed records.
pub const FAILED_DIR: &str = "failed";
/// The client daemon's small status file (last contact with the server); not a record.
pub const CLIENT_STATE_FILE: &str = ".client-state.json";
const REASON_SUFFIX: &str = ".reason";

/// A spool directory, opened and checked.
#[derive(Debug, Clone)]
pub struct Spool {
    root: PathBuf,
    failed: PathBuf,
}

/// A record waiting to be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRecord {
    /// File name, e.g. `01790000000123456789-<id>.pws`.
    pub name: String,
    /// Full path of the file.
    pub path: PathBuf,
    /// Capture time, from the name (the record's own copy is inside the seal).
    pub captured_at_ns: i64,
    /// Change id, from the name.
    pub id: ChangeId,
    /// True if an operator moved it back from `failed/`: the server should retry a target
    /// that had rejected it.
    pub operator_retry: bool,
}

/// Counts for monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolStats {
    /// Number of pending records.
    pub pending: usize,
    /// Capture time of the oldest pending record.
    pub oldest_captured_at_ns: Option<i64>,
    /// Number of failed records.
    pub failed: usize,
}

impl Spool {
    /// Opens the spool at `root`, creating it and `failed/` (0700) if missing. Refuses a
    /// root that is not a directory, or (unix) one that group or others can access.
    pub fn open(root: &Path) -> Result<Spool, SpoolError> {
        let failed = root.join(FAILED_DIR);
        for dir in [root, failed.as_path()] {
            match fs::metadata(dir) {
                Ok(metadata) if !metadata.is_dir() => {
                    return Err(SpoolError::NotADirectory { path: dir.to_owned() })
                }
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    platform::create_private_dir(dir).map_err(SpoolError::io("create", dir))?;
                }
                Err(error) => return Err(SpoolError::io("inspect", dir)(error)),
            }
            if let Some(mode) = platform::insecure_mode(dir).map_err(SpoolError::io("inspect", dir))? {
                return Err(SpoolError::InsecurePermissions { path: dir.to_owned(), mode });
            }
        }
        Ok(Spool { root: root.to_owned(), failed })
    }

    /// The spool root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes a sealed record durably (temp file, fsync, rename, directory fsync) as
    /// `{captured_at_ns:020}-{id}.pws`, owner-only. Returns its path.
    pub fn write_record(
        &self,
        captured_at_ns: i64,
        id: &ChangeId,
        record: &[u8],
    ) -> Result<PathBuf, SpoolError> {
        if captured_at_ns < 0 {
            return Err(SpoolError::NegativeCaptureTime { captured_at_ns });
        }
        if record.is_empty() {
            return Err(SpoolError::EmptyRecord);
        }
        if record.len() > MAX_RECORD_LEN {
            return Err(SpoolError::RecordTooLarge { len: record.len() as u64, max: MAX_RECORD_LEN });
        }
        let name = RecordName::new(captured_at_ns, *id).to_string();
        durable::write_durably(&self.root, &name, record)
    }

    /// Hands out the next `(captured_at_ns, origin_seq)`: under an exclusive lock on
    /// `<root>/.origin-state`, `captured_at = max(now_ns, last + 1)` and `seq = last + 1`,
    /// so capture times strictly increase per origin even if the clock steps back.
    pub fn next_stamp(&self, now_ns: i64) -> Result<(i64, u64), SpoolError> {
        origin_state::next_stamp(&self.root, now_ns)
    }

    /// Pending records, oldest first. Names that are not record names are skipped (see
    /// [`Spool::list_strays`]); temporary files and the state file are ignored.
    pub fn list_pending(&self) -> Result<Vec<PendingRecord>, SpoolError> {
        let mut records: Vec<PendingRecord> = list_names(&self.root)?
            .into_iter()
            .filter_map(|name| {
                let parsed = RecordName::parse(&name)?;
                Some(PendingRecord {
                    path: self.root.join(&name),
                    name,
                    captured_at_ns: parsed.captured_at_ns,
                    id: parsed.id,
                    operator_retry: parsed.operator_retry,
                })
            })
            .collect();
        records.sort_by(|a, b| (a.captured_at_ns, &a.name).cmp(&(b.captured_at_ns, &b.name)));
        Ok(records)
    }

    /// Names in the root that are neither records, nor `failed/`, nor the spool's own
    /// temporary and state files — for the client to warn about.
    pub fn list_strays(&self) -> Result<Vec<String>, SpoolError> {
        let mut strays: Vec<String> = list_names(&self.root)?
            .into_iter()
            .filter(|name| {
                RecordName::parse(name).is_none()
                    && name != FAILED_DIR
                    && name != STATE_FILE
                    && name != crate::CAPTURE_FAILURES_FILE
                    && name != CLIENT_STATE_FILE
                    && !name.starts_with(TEMP_PREFIX)
            })
            .collect();
        strays.sort();
        Ok(strays)
    }

    /// Reads a pending record's sealed bytes (refusing files over the record size limit).
    pub fn read(&self, record: &PendingRecord) -> Result<Vec<u8>, SpoolError> {
        let name = parse_name(&record.name)?;
        let path = self.root.join(name.to_string());
        let file = fs::File::open(&path)
            .map_err(|error| not_found_or(error, &record.name, "pending", "open", &path))?;
        let mut bytes = Vec::new();
        file.take(MAX_RECORD_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(SpoolError::io("read", &path))?;
        if bytes.len() > MAX_RECORD_LEN {
            let len = fs::metadata(&path).map_or(bytes.len() as u64, |metadata| metadata.len());
            return Err(SpoolError::RecordTooLarge { len, max: MAX_RECORD_LEN });
        }
        Ok(bytes)
    }

    /// Deletes a delivered record durably. Already gone is fine (idempotent).
    pub fn ack(&self, record: &PendingRecord) -> Result<(), SpoolError> {
        self.ack_all(&[record])
    }

    /// Deletes several delivered records, with one directory fsync for all of them.
    ///
    /// A delete lost to a power failure only brings a record back for one more delivery,
    /// which the server answers from its ledger; so a batch needs one sync, not one per
    /// record (the sync per record was the client's bottleneck when draining a backlog).
    pub fn ack_all(&self, records: &[&PendingRecord]) -> Result<(), SpoolError> {
        let mut removed_any = false;
        for record in records {
            let path = self.root.join(parse_name(&record.name)?.to_string());
            match fs::remove_file(&path) {
                Ok(()) => removed_any = true,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(SpoolError::io("remove", &path)(error)),
            }
        }
        if removed_any {
            platform::sync_dir(&self.root).map_err(SpoolError::io("sync directory", &self.root))?;
        }
        Ok(())
    }

    /// Moves a record into `failed/` with its reason: the reason file is written durably
    /// first, then the record is renamed (bytes untouched) and both directories fsynced.
    pub fn fail(&self, record: &PendingRecord, reason: &FailureReason) -> Result<(), SpoolError> {
        self.fail_at(record, reason, now_ns())
    }

    fn fail_at(
        &self,
        record: &PendingRecord,
        reason: &FailureReason,
        failed_at_ns: i64,
    ) -> Result<(), SpoolError> {
        reason.validate()?;
        let name = parse_name(&record.name)?.to_string();
        let source = self.root.join(&name);
        fs::metadata(&source).map_err(|error| not_found_or(error, &name, "pending", "inspect", &source))?;
        let reason_name = format!("{}{}", name, REASON_SUFFIX);
        durable::write_durably(
            &self.failed,
            &reason_name,
            failure::reason_file_text(reason, failed_at_ns).as_bytes(),
        )?;
        let target = self.failed.join(&name);
        if let Err(error) = fs::rename(&source, &target) {
            // Do not leave a reason for a record that is not there.
            let _ = fs::remove_file(self.failed.join(&reason_name));
            return Err(not_found_or(error, &name, "pending", "move to failed", &source));
        }
        platform::sync_dir(&self.failed).map_err(SpoolError::io("sync directory", &self.failed))?;
        platform::sync_dir(&self.root).map_err(SpoolError::io("sync directory", &self.root))
    }

    /// Failed records with their reasons, oldest capture first.
    pub fn list_failed(&self) -> Result<Vec<FailedRecord>, SpoolError> {
        let mut failed = Vec::new();
        for name in list_names(&self.failed)? {
            let parsed = match RecordName::parse(&name) {
                Some(parsed) => parsed,
                None => continue,
            };
            let reason_path = self.failed.join(format!("{}{}", name, REASON_SUFFIX));
            // Bytes, not text: a reason file damaged into invalid UTF-8 is one unreadable
            // reason, not an error that hides every other failed record.
            let (code, detail, failed_at_ns) = match fs::read(&reason_path) {
                Ok(bytes) => {
                    match String::from_utf8(bytes).ok().as_deref().and_then(failure::parse_reason_file) {
                        Some((reason, at)) => (reason.code, reason.detail, Some(at)),
                        None => {
                            ("reason_unreadable".to_owned(), "the reason file is damaged".to_owned(), None)
                        }
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => (
                    "reason_missing".to_owned(),
                    "no reason file (interrupted while failing the record?)".to_owned(),
                    None,
                ),
                Err(error) => return Err(SpoolError::io("read", reason_path)(error)),
            };
            failed.push(FailedRecord {
                name,
                captured_at_ns: parsed.captured_at_ns,
                id: parsed.id,
                code,
                detail,
                failed_at_ns,
            });
        }
        failed.sort_by(|a, b| (a.captured_at_ns, &a.name).cmp(&(b.captured_at_ns, &b.name)));
        Ok(failed)
    }

    /// Moves a failed record back to pending as `{stem}.retry.pws` and removes its reason.
    pub fn retry_failed(&self, name: &str) -> Result<(), SpoolError> {
        let parsed = parse_name(name)?;
        let source = self.failed.join(name);
        let target = self.root.join(parsed.as_retry().to_string());
        fs::rename(&source, &target)
            .map_err(|error| not_found_or(error, name, "failed", "move back", &source))?;
        platform::sync_dir(&self.root).map_err(SpoolError::io("sync directory", &self.root))?;
        self.remove_reason(name)
    }

    /// Deletes a failed record and its reason for good.
    pub fn purge_failed(&self, name: &str) -> Result<(), SpoolError> {
        parse_name(name)?;
        let path = self.failed.join(name);
        fs::remove_file(&path).map_err(|error| not_found_or(error, name, "failed", "remove", &path))?;
        self.remove_reason(name)
    }

    fn remove_reason(&self, name: &str) -> Result<(), SpoolError> {
        let reason_path = self.failed.join(format!("{}{}", name, REASON_SUFFIX));
        match fs::remove_file(&reason_path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(SpoolError::io("remove", reason_path)(error)),
        }
        platform::sync_dir(&self.failed).map_err(SpoolError::io("sync directory", &self.failed))
    }

    /// Counts of pending and failed records and the oldest pending capture time.
    pub fn stats(&self) -> Result<SpoolStats, SpoolError> {
        let pending = self.list_pending()?;
        let failed =
            list_names(&self.failed)?.iter().filter(|name| RecordName::parse(name).is_some()).count();
        Ok(SpoolStats {
            pending: pending.len(),
            oldest_captured_at_ns: pending.first().map(|record| record.captured_at_ns),
            failed,
        })
    }

    /// Removes `.tmp-` files older than `older_than` from the root and `failed/` (left by a
    /// crash mid-write; a live writer's temp file is younger than a second). Returns how
    /// many were removed.
    pub fn clean_stale_temp(&self, older_than: Duration) -> Result<usize, SpoolError> {
        Ok(durable::remove_stale_temp(&self.root, older_than)?
            + durable::remove_stale_temp(&self.failed, older_than)?)
    }
}

/// File names in `dir`; names that are not UTF-8 are reported lossily (they can only be
/// strays).
fn list_names(dir: &Path) -> Result<Vec<String>, SpoolError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(SpoolError::io("list", dir))? {
        let entry = entry.map_err(SpoolError::io("list", dir))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

fn parse_name(name: &str) -> Result<RecordName, SpoolError> {
    RecordName::parse(name).ok_or_else(|| SpoolError::InvalidRecordName { name: name.to_owned() })
}

fn not_found_or(
    error: io::Error,
    name: &str,
    area: &'static str,
    action: &'static str,
    path: &Path,
) -> SpoolError {
    if error.kind() == io::ErrorKind::NotFound {
        SpoolError::NotFound { name: name.to_owned(), area }
    } else {
        SpoolError::io(action, path)(error)
    }
}

/// The current time in Unix nanoseconds (0 if the clock is before 1970; `i64::MAX` past
/// 2262).
pub(crate) fn now_ns() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}
