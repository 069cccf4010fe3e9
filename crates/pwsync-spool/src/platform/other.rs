//! Non-unix (Windows): no POSIX modes, no directory fsync, and a sharing-mode open instead
//! of `flock` — the closest std-only equivalents.
//!
//! Must never pretend to a protection it lacks: the spool directory's privacy comes from
//! its ACL (set by the installer), which this module does not check; this is documented in
//! docs/spool-format.md.

use std::fs::{DirBuilder, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `path` and missing parents; access comes from the inherited ACL.
pub(crate) fn create_private_dir(path: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).create(path)
}

/// Without POSIX modes there is nothing to check here: always "private".
pub(crate) fn insecure_mode(path: &Path) -> io::Result<Option<u32>> {
    std::fs::metadata(path).map(|_| None)
}

/// Plain options; access comes from the directory's ACL.
pub(crate) fn private_file_options() -> OpenOptions {
    OpenOptions::new()
}

/// Windows has no directory fsync; a rename is made durable by the file system journal.
pub(crate) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Result of one attempt to take an exclusive lock.
pub(crate) enum LockAttempt {
    /// The lock is held until the file is closed.
    Locked(std::fs::File),
    /// Another holder has it; try again later.
    Busy,
}

#[cfg(windows)]
const ERROR_SHARING_VIOLATION: i32 = 32;

/// Opens `path` with no sharing at all, which excludes every other opener until closed.
pub(crate) fn try_lock_file(path: &Path) -> io::Result<LockAttempt> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(windows)]
    std::os::windows::fs::OpenOptionsExt::share_mode(&mut options, 0);
    match options.open(path) {
        Ok(file) => Ok(LockAttempt::Locked(file)),
        #[cfg(windows)]
        Err(error) if error.raw_os_error() == Some(ERROR_SHARING_VIOLATION) => Ok(LockAttempt::Busy),
        Err(error) => Err(error),
    }
}
