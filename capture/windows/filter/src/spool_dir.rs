//! Creating a missing spool directory — with an access list of its own, never an inherited
//! one.
//!
//! The spool's safety on Windows rests on its ACL: whoever can write into it can plant a
//! record sealed to the public key, and the server would set that password. So a
//! directory the filter creates gets a protected DACL for SYSTEM and Administrators only
//! (`D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)`), which `failed\` and the records then inherit.
//! This module must never create missing parents (a missing parent is far more likely a
//! typo in the configuration than a wish) and never change the ACL of an existing directory.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use crate::win32;

/// The security descriptor of a spool directory the filter creates.
pub const SPOOL_DIRECTORY_SDDL: &str = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

/// Why a missing spool directory could not be created.
#[derive(Debug, thiserror::Error)]
pub enum SpoolDirError {
    /// The directory's parent does not exist either.
    #[error("spool directory {path} does not exist and neither does its parent {parent}; check SpoolDirectory (the filter creates only the last component)")]
    ParentMissing {
        /// The configured spool directory.
        path: PathBuf,
        /// Its missing parent.
        parent: PathBuf,
    },
    /// The path has no parent (a bare drive or share root that does not exist).
    #[error("spool directory {path} does not exist and cannot be created")]
    NoParent {
        /// The configured spool directory.
        path: PathBuf,
    },
    /// The security descriptor could not be built (should not happen: it is a constant).
    #[error("cannot build the spool directory's access list: {source}")]
    SecurityDescriptor {
        /// The Windows error.
        #[source]
        source: io::Error,
    },
    /// CreateDirectoryW failed.
    #[error("cannot create spool directory {path}: {source}")]
    Create {
        /// The configured spool directory.
        path: PathBuf,
        /// The Windows error.
        #[source]
        source: io::Error,
    },
}

/// Makes sure `path` exists: `Ok(true)` if it was created now, `Ok(false)` if it was there.
pub fn ensure(path: &Path) -> Result<bool, SpoolDirError> {
    if path.exists() {
        return Ok(false);
    }
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => return Err(SpoolDirError::NoParent { path: path.to_owned() }),
    };
    if !parent.is_dir() {
        return Err(SpoolDirError::ParentMissing { path: path.to_owned(), parent: parent.to_owned() });
    }
    let descriptor = SecurityDescriptor::from_sddl(SPOOL_DIRECTORY_SDDL)
        .map_err(|source| SpoolDirError::SecurityDescriptor { source })?;
    let attributes = win32::SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<win32::SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: descriptor.0,
        bInheritHandle: 0,
    };
    let wide_path = win32::wide(path.as_os_str());
    // SAFETY: `wide_path` is NUL-terminated; `attributes` points to a live descriptor.
    if unsafe { win32::CreateDirectoryW(wide_path.as_ptr(), &attributes) } != 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.kind() == io::ErrorKind::AlreadyExists {
        // Another thread created it meanwhile.
        return Ok(false);
    }
    Err(SpoolDirError::Create { path: path.to_owned(), source: error })
}

/// A self-relative security descriptor allocated by Windows, freed with LocalFree.
struct SecurityDescriptor(*mut std::ffi::c_void);

impl SecurityDescriptor {
    fn from_sddl(sddl: &str) -> io::Result<SecurityDescriptor> {
        let wide_sddl = win32::wide(OsStr::new(sddl));
        let mut descriptor = std::ptr::null_mut();
        // SAFETY: `wide_sddl` is NUL-terminated; `descriptor` is a valid out pointer; the
        // size out pointer may be NULL.
        let ok = unsafe {
            win32::ConvertStringSecurityDescriptorToSecurityDescriptorW(
                wide_sddl.as_ptr(),
                win32::SDDL_REVISION_1,
                &mut descriptor,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 || descriptor.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(SecurityDescriptor(descriptor))
    }
}

impl Drop for SecurityDescriptor {
    fn drop(&mut self) {
        // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW, freed once.
        unsafe { win32::LocalFree(self.0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    #[test]
    fn creates_a_missing_last_component_once() {
        let dir = TestDir::new("spool-dir-create");
        let spool = dir.path().join("spool");
        assert!(ensure(&spool).unwrap());
        assert!(spool.is_dir());
        assert!(!ensure(&spool).unwrap());
    }

    #[test]
    fn refuses_to_create_missing_parents() {
        let dir = TestDir::new("spool-dir-parent");
        let spool = dir.path().join("missing").join("spool");
        match ensure(&spool) {
            Err(SpoolDirError::ParentMissing { parent, .. }) => {
                assert_eq!(parent, dir.path().join("missing"))
            }
            other => panic!("{:?}", other),
        }
        assert!(!dir.path().join("missing").exists());
    }

    #[test]
    fn the_access_list_parses() {
        SecurityDescriptor::from_sddl(SPOOL_DIRECTORY_SDDL).unwrap();
        assert!(SecurityDescriptor::from_sddl("D:(nonsense").is_err());
    }
}
