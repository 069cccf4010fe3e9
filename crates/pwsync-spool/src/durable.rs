//! Durable file creation: write to a `.tmp-` file, fsync it, rename it into place, fsync
//! the directory — so that after a crash a name exists only with its full content.
//!
//! Must never leave a half-written file under a final name, and never create a file that
//! group or others can read (unix).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rand_core::{OsRng, RngCore};

use crate::platform;
use crate::SpoolError;

/// Prefix of every temporary file; listings ignore such names.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// Writes `contents` to `dir/final_name` durably, with owner-only permissions.
pub(crate) fn write_durably(dir: &Path, final_name: &str, contents: &[u8]) -> Result<PathBuf, SpoolError> {
    let temp_path = dir.join(temp_name());
    let final_path = dir.join(final_name);
    let written = write_synced(&temp_path, contents).and_then(|()| {
        fs::rename(&temp_path, &final_path).map_err(SpoolError::io("rename into place", &final_path))
    });
    if let Err(error) = written {
        // Best effort: a leftover temp file is also removed later by `clean_stale_temp`.
        let _ = fs::remove_file(&temp_path);
        return Err(error);
    }
    platform::sync_dir(dir).map_err(SpoolError::io("sync directory", dir))?;
    Ok(final_path)
}

fn write_synced(path: &Path, contents: &[u8]) -> Result<(), SpoolError> {
    let mut file = platform::private_file_options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(SpoolError::io("create", path))?;
    file.write_all(contents).map_err(SpoolError::io("write", path))?;
    file.sync_all().map_err(SpoolError::io("sync", path))
}

fn temp_name() -> String {
    format!("{}{:016x}", TEMP_PREFIX, OsRng.next_u64())
}

/// Removes `.tmp-` files in `dir` last modified more than `older_than` ago (left behind
/// by a crash between create and rename). Returns how many were removed.
pub(crate) fn remove_stale_temp(dir: &Path, older_than: Duration) -> Result<usize, SpoolError> {
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in fs::read_dir(dir).map_err(SpoolError::io("list", dir))? {
        let entry = entry.map_err(SpoolError::io("list", dir))?;
        let is_temp = entry.file_name().to_str().map_or(false, |name| name.starts_with(TEMP_PREFIX));
        if !is_temp {
            continue;
        }
        let path = entry.path();
        let modified = match entry.metadata().and_then(|metadata| metadata.modified()) {
            Ok(modified) => modified,
            // Gone meanwhile (another cleaner) or unreadable: nothing to do now.
            Err(_) => continue,
        };
        let age = now.duration_since(modified).unwrap_or(Duration::ZERO);
        if age > older_than {
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(SpoolError::io("remove", path)(error)),
            }
        }
    }
    if removed > 0 {
        platform::sync_dir(dir).map_err(SpoolError::io("sync directory", dir))?;
    }
    Ok(removed)
}
