//! Unix: directories 0700, files 0600, fsync of directories, `flock` for exclusion.
//!
//! Must never widen permissions of an existing directory by itself (an insecure spool is
//! reported, not repaired, so that an operator notices who else could read it).

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// Creates `path` (and missing parents) with mode 0700.
pub(crate) fn create_private_dir(path: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(path)
}

/// `Some(mode)` if group or others have any access to `path`, `None` if it is private.
pub(crate) fn insecure_mode(path: &Path) -> io::Result<Option<u32>> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o7777;
    Ok(if mode & 0o077 != 0 { Some(mode) } else { None })
}

/// Options that create a new file readable and writable by the owner only.
pub(crate) fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.mode(0o600);
    options
}

/// Makes a rename, creation or removal in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Result of one attempt to take an exclusive lock.
pub(crate) enum LockAttempt {
    /// The lock is held until the file is closed.
    Locked(File),
    /// Another holder has it; try again later.
    Busy,
}

/// Opens (creating, 0600) `path` and tries once to take an exclusive `flock` on it.
pub(crate) fn try_lock_file(path: &Path) -> io::Result<LockAttempt> {
    let file = private_file_options().read(true).write(true).create(true).open(path)?;
    #[allow(unsafe_code)]
    // SAFETY: flock only reads the descriptor number, which `file` keeps open for the
    // duration of the call.
    let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if result == 0 {
        return Ok(LockAttempt::Locked(file));
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) || error.kind() == io::ErrorKind::Interrupted {
        Ok(LockAttempt::Busy)
    } else {
        Err(error)
    }
}
