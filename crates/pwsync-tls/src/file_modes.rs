//! Unix permissions of PKI files: private keys 0600, certificates 0644, new directories 0700.
//!
//! Must never loosen the mode of an existing file or directory, and never open an existing file
//! for writing. On non-Unix systems the mode arguments are ignored (ACLs are the operator's job).

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

/// Mode of a private key file: owner read/write only.
pub(crate) const PRIVATE_KEY_MODE: u32 = 0o600;
/// Mode of a certificate file: anyone may read a certificate.
pub(crate) const CERTIFICATE_MODE: u32 = 0o644;
/// Mode of a directory this crate creates to hold keys.
pub(crate) const PRIVATE_DIR_MODE: u32 = 0o700;

/// Creates `path` (which must not exist yet) with exactly `mode`.
pub(crate) fn create_new_file(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    unix::set_creation_mode(&mut options, mode);
    let file = options.open(path)?;
    // The creation mode is filtered through the umask; set it again so that a
    // restrictive umask cannot turn a certificate unreadable (or a lax one a key readable).
    unix::set_exact_mode(&file, mode)?;
    Ok(file)
}

/// Creates `path` and its missing parents with mode 0700; leaves an existing directory alone.
pub(crate) fn create_private_dir_all(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    unix::set_dir_creation_mode(&mut builder, PRIVATE_DIR_MODE);
    builder.create(path)
}

/// The file's permission bits if group or others have any access to it, else `None`.
pub(crate) fn exposed_mode(metadata: &Metadata) -> Option<u32> {
    unix::exposed_mode(metadata)
}

#[cfg(unix)]
mod unix {
    use std::fs::{DirBuilder, File, Metadata, OpenOptions, Permissions};
    use std::io;
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};

    pub(super) fn set_creation_mode(options: &mut OpenOptions, mode: u32) {
        options.mode(mode);
    }

    pub(super) fn set_dir_creation_mode(builder: &mut DirBuilder, mode: u32) {
        builder.mode(mode);
    }

    pub(super) fn set_exact_mode(file: &File, mode: u32) -> io::Result<()> {
        file.set_permissions(Permissions::from_mode(mode))
    }

    pub(super) fn exposed_mode(metadata: &Metadata) -> Option<u32> {
        let mode = metadata.mode() & 0o7777;
        (mode & 0o077 != 0).then_some(mode)
    }
}

#[cfg(not(unix))]
mod unix {
    use std::fs::{DirBuilder, File, Metadata, OpenOptions};
    use std::io;

    pub(super) fn set_creation_mode(_options: &mut OpenOptions, _mode: u32) {}

    pub(super) fn set_dir_creation_mode(_builder: &mut DirBuilder, _mode: u32) {}

    pub(super) fn set_exact_mode(_file: &File, _mode: u32) -> io::Result<()> {
        Ok(())
    }

    pub(super) fn exposed_mode(_metadata: &Metadata) -> Option<u32> {
        None
    }
}
