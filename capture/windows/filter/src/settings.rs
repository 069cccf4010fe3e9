//! [`Settings`]: the filter's whole configuration — spool directory, public key file and the
//! two optional values — validated the same way whether it came from the registry or from
//! `pwsync-filter.conf`.
//!
//! It must never accept what it does not understand: an unknown name, a name given twice, a
//! required one missing or empty, or a relative path (lsass's working directory is
//! System32, so a relative path would silently point there) is a named error that says
//! where the setting came from.

use std::fmt;
use std::path::{Path, PathBuf};

use pwsync_seal::MAX_ORIGIN_LEN;

/// Registry key (under HKEY_LOCAL_MACHINE) that holds the configuration.
pub const REGISTRY_KEY: &str = r"SOFTWARE\pwsync\PasswordFilter";

/// The spool directory the client daemon watches (required).
pub const SPOOL_DIRECTORY: &str = "SpoolDirectory";
/// The spool public key file made by `pwsync keygen` (required).
pub const PUBLIC_KEY_FILE: &str = "PublicKeyFile";
/// The name of this domain controller in the ledger (default: its DNS name).
pub const ORIGIN: &str = "Origin";
/// The filter's log file (default: `pwsync-filter.log` next to the spool directory).
pub const LOG_FILE: &str = "LogFile";

const KNOWN: [&str; 4] = [SPOOL_DIRECTORY, PUBLIC_KEY_FILE, ORIGIN, LOG_FILE];

/// Where a configuration was read from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// The registry key [`REGISTRY_KEY`].
    Registry,
    /// A `pwsync-filter.conf` file.
    File(PathBuf),
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigSource::Registry => write!(f, r"registry key HKLM\{}", REGISTRY_KEY),
            ConfigSource::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where records go.
    pub spool_directory: PathBuf,
    /// The recipient public key's file.
    pub public_key_file: PathBuf,
    /// Explicit origin name, if set.
    pub origin: Option<String>,
    /// Explicit log file, if set.
    pub log_file: Option<PathBuf>,
}

/// Why settings were refused. Names the source and the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A name that is not one of the four settings.
    #[error(
        "{from}: unknown setting {name:?} (known settings: SpoolDirectory, PublicKeyFile, Origin, LogFile)"
    )]
    Unknown {
        /// Where it was found.
        from: ConfigSource,
        /// The name as written.
        name: String,
    },
    /// The same setting twice (names compare case-insensitively).
    #[error("{from}: {name} is set more than once")]
    Duplicate {
        /// Where it was found.
        from: ConfigSource,
        /// The setting.
        name: &'static str,
    },
    /// A required setting is absent.
    #[error("{from}: the required setting {name} is missing")]
    Missing {
        /// Where it was looked for.
        from: ConfigSource,
        /// The setting.
        name: &'static str,
    },
    /// A setting with an empty value.
    #[error("{from}: {name} is empty")]
    Empty {
        /// Where it was found.
        from: ConfigSource,
        /// The setting.
        name: &'static str,
    },
    /// A path that does not start with a drive and root or a UNC share.
    #[error(r"{from}: {name} must be an absolute path such as C:\ProgramData\pwsync\spool, not {value:?}")]
    NotAbsolute {
        /// Where it was found.
        from: ConfigSource,
        /// The setting.
        name: &'static str,
        /// The value given.
        value: String,
    },
    /// An origin that the record format cannot hold.
    #[error("{from}: Origin must be 1 to 255 bytes of UTF-8 without NUL characters")]
    BadOrigin {
        /// Where it was found.
        from: ConfigSource,
    },
}

impl Settings {
    /// Validates `(name, value)` pairs read from `from`.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(
        from: &ConfigSource,
        pairs: &[(N, V)],
    ) -> Result<Settings, SettingsError> {
        let mut values: [Option<&str>; 4] = [None; 4];
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            let slot = KNOWN
                .iter()
                .position(|known| known.eq_ignore_ascii_case(name))
                .ok_or_else(|| SettingsError::Unknown { from: from.clone(), name: name.to_owned() })?;
            if values[slot].is_some() {
                return Err(SettingsError::Duplicate { from: from.clone(), name: KNOWN[slot] });
            }
            if value.is_empty() {
                return Err(SettingsError::Empty { from: from.clone(), name: KNOWN[slot] });
            }
            values[slot] = Some(value);
        }
        let [spool_directory, public_key_file, origin, log_file] = values;
        let missing = |name: &'static str| SettingsError::Missing { from: from.clone(), name };
        let spool_directory =
            absolute(from, SPOOL_DIRECTORY, spool_directory.ok_or_else(|| missing(SPOOL_DIRECTORY))?)?;
        let public_key_file =
            absolute(from, PUBLIC_KEY_FILE, public_key_file.ok_or_else(|| missing(PUBLIC_KEY_FILE))?)?;
        let log_file = log_file.map(|value| absolute(from, LOG_FILE, value)).transpose()?;
        if let Some(origin) = origin {
            if origin.len() > MAX_ORIGIN_LEN || origin.contains('\0') {
                return Err(SettingsError::BadOrigin { from: from.clone() });
            }
        }
        Ok(Settings { spool_directory, public_key_file, origin: origin.map(str::to_owned), log_file })
    }
}

fn absolute(from: &ConfigSource, name: &'static str, value: &str) -> Result<PathBuf, SettingsError> {
    if Path::new(value).is_absolute() {
        Ok(PathBuf::from(value))
    } else {
        Err(SettingsError::NotAbsolute { from: from.clone(), name, value: value.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> ConfigSource {
        ConfigSource::File(PathBuf::from(r"C:\Windows\System32\pwsync-filter.conf"))
    }

    #[test]
    fn accepts_required_and_optional_settings_in_any_case() {
        let pairs = [
            ("spooldirectory", r"C:\ProgramData\pwsync\spool"),
            ("PUBLICKEYFILE", r"\\files\keys\spool.pub"),
            ("Origin", "dc1.example.com"),
        ];
        assert_eq!(
            Settings::from_pairs(&ConfigSource::Registry, &pairs).unwrap(),
            Settings {
                spool_directory: PathBuf::from(r"C:\ProgramData\pwsync\spool"),
                public_key_file: PathBuf::from(r"\\files\keys\spool.pub"),
                origin: Some("dc1.example.com".to_owned()),
                log_file: None,
            }
        );
    }

    #[test]
    fn refuses_unknown_duplicate_missing_and_empty_settings() {
        let spool = ("SpoolDirectory", r"C:\spool");
        let key = ("PublicKeyFile", r"C:\spool.pub");
        assert_eq!(
            Settings::from_pairs(&file(), &[spool, key, ("SpoolDir", r"C:\x")]),
            Err(SettingsError::Unknown { from: file(), name: "SpoolDir".to_owned() })
        );
        assert_eq!(
            Settings::from_pairs(&file(), &[spool, key, ("spooldirectory", r"C:\y")]),
            Err(SettingsError::Duplicate { from: file(), name: SPOOL_DIRECTORY })
        );
        assert_eq!(
            Settings::from_pairs(&file(), &[spool]),
            Err(SettingsError::Missing { from: file(), name: PUBLIC_KEY_FILE })
        );
        assert_eq!(
            Settings::from_pairs(&file(), &[spool, key, ("Origin", "")]),
            Err(SettingsError::Empty { from: file(), name: ORIGIN })
        );
    }

    #[test]
    fn refuses_relative_paths_and_bad_origins() {
        assert_eq!(
            Settings::from_pairs(&file(), &[("SpoolDirectory", r"pwsync\spool"), ("PublicKeyFile", r"C:\k")]),
            Err(SettingsError::NotAbsolute {
                from: file(),
                name: SPOOL_DIRECTORY,
                value: r"pwsync\spool".to_owned()
            })
        );
        let long_origin = "o".repeat(256);
        for origin in [long_origin.as_str(), "dc\u{0}1"] {
            assert_eq!(
                Settings::from_pairs(
                    &file(),
                    &[("SpoolDirectory", r"C:\s"), ("PublicKeyFile", r"C:\k"), ("Origin", origin)]
                ),
                Err(SettingsError::BadOrigin { from: file() })
            );
        }
    }

    #[test]
    fn messages_name_the_source() {
        let message =
            SettingsError::Missing { from: ConfigSource::Registry, name: SPOOL_DIRECTORY }.to_string();
        assert_eq!(
            message,
            r"registry key HKLM\SOFTWARE\pwsync\PasswordFilter: the required setting SpoolDirectory is missing"
        );
    }
}
