//! The bind account's password, read once at start from its file.
//!
//! Held in a zeroize-on-drop string; its Debug output is a redaction. Must never be logged,
//! put into an error message, or read from anywhere but the configured file.

use std::path::Path;

use zeroize::Zeroizing;

use crate::settings::DirectoryConfigError;

pub struct BindSecret(Zeroizing<String>);

impl BindSecret {
    /// Reads `path`: the first line, without its line ending. Refuses an empty password (a
    /// simple bind with one is anonymous and would "succeed") and a file any user can read.
    pub fn read(path: &Path) -> Result<BindSecret, DirectoryConfigError> {
        let unreadable = |message: String| DirectoryConfigError::UnreadableBindPassword {
            path: path.to_path_buf(),
            message,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                std::fs::metadata(path).map_err(|error| unreadable(error.to_string()))?.permissions().mode();
            if mode & 0o004 != 0 {
                return Err(DirectoryConfigError::BindPasswordReadableByOthers {
                    path: path.to_path_buf(),
                    mode: mode & 0o777,
                });
            }
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|error| unreadable(error.to_string()))?);
        let text = std::str::from_utf8(&bytes).map_err(|_| unreadable("it is not UTF-8".into()))?;
        let line = text.split(['\n', '\r']).next().unwrap_or_default();
        if line.is_empty() {
            return Err(DirectoryConfigError::EmptyBindPassword { path: path.to_path_buf() });
        }
        Ok(BindSecret(Zeroizing::new(line.to_string())))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for BindSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("BindSecret(<redacted>)")
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file(content: &str, mode: u32) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("pwsync-bind-secret-{}", rand::random::<u64>()));
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn the_first_line_is_the_password_and_debug_hides_it() {
        let path = file("bind-Secret-1\r\n", 0o600);
        let secret = BindSecret::read(&path).unwrap();
        assert_eq!(secret.expose(), "bind-Secret-1");
        assert_eq!(format!("{secret:?}"), "BindSecret(<redacted>)");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn empty_missing_and_world_readable_files_are_refused_by_name() {
        let path = file("\n", 0o600);
        assert_eq!(
            BindSecret::read(&path).unwrap_err(),
            DirectoryConfigError::EmptyBindPassword { path: path.clone() }
        );
        std::fs::remove_file(path).unwrap();
        let path = file("bind-Secret-1", 0o644);
        let error = BindSecret::read(&path).unwrap_err();
        std::fs::remove_file(path).unwrap();
        assert!(matches!(error, DirectoryConfigError::BindPasswordReadableByOthers { mode: 0o644, .. }));
        assert!(!error.to_string().contains("bind-Secret-1"));
        let missing = std::env::temp_dir().join("pwsync-bind-secret-missing");
        assert!(matches!(
            BindSecret::read(&missing),
            Err(DirectoryConfigError::UnreadableBindPassword { .. })
        ));
    }
}
