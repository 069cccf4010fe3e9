//! Finding and loading the configuration: the registry key if it exists, else
//! `pwsync-filter.conf` next to the DLL; then the public key and the origin name.
//!
//! The registry wins outright when its key exists (the two are never merged, so what is in
//! effect is always one place an administrator can read). Loading must never panic or
//! guess: every problem is a [`ConfigError`] that says what to fix, and the DLL keeps
//! running without capturing until it is fixed.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use pwsync_seal::{KeyFileError, PublicKey};

use crate::config_file::{self, ConfigFileError};
use crate::log::LOG_FILE_NAME;
use crate::module_path;
use crate::origin;
use crate::registry::{self, RegistryError};
use crate::settings::{ConfigSource, Settings, SettingsError, REGISTRY_KEY};

/// A key file is one line of under 100 bytes; anything much larger is not one.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// The configuration in effect, with the public key read and the origin decided.
#[derive(Debug)]
pub struct Loaded {
    /// Where it came from.
    pub source: ConfigSource,
    /// The settings as given.
    pub settings: Settings,
    /// The recipient key records are sealed to.
    pub key: PublicKey,
    /// The origin name records carry.
    pub origin: String,
    /// Where the log goes from now on.
    pub log_file: Option<PathBuf>,
}

/// Why the filter has no usable configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither the registry key nor the file exists.
    #[error(r"not configured: neither the registry key HKLM\{} nor the file {file} exists", REGISTRY_KEY)]
    NotConfigured {
        /// Where the file was looked for.
        file: PathBuf,
    },
    /// No registry key, and the DLL's own directory is unknown.
    #[error(r"not configured: the registry key HKLM\{} does not exist, and this DLL's own path cannot be found to look for {}", REGISTRY_KEY, config_file::FILE_NAME)]
    NoModulePath,
    /// The registry key exists but could not be read.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    FileUnreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file's text is not understood.
    #[error(transparent)]
    File(#[from] ConfigFileError),
    /// A setting is missing, unknown or invalid.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The public key file cannot be read.
    #[error("cannot read the spool public key file {path} (PublicKeyFile): {source}")]
    KeyUnreadable {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The public key file does not hold a spool public key.
    #[error("the spool public key file {path} (PublicKeyFile) is not usable: {source}; copy the spool.pub made by `pwsync keygen`")]
    KeyInvalid {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: KeyFileError,
    },
    /// No Origin setting and no computer name.
    #[error("no Origin setting, and the computer name cannot be read; set Origin")]
    NoOrigin,
}

/// Loads the configuration from wherever it is.
pub fn load() -> Result<Loaded, ConfigError> {
    let (source, pairs) = match registry::read_values()? {
        Some(values) => (ConfigSource::Registry, values),
        None => {
            let dir = module_path::this_module_dir().ok_or(ConfigError::NoModulePath)?;
            let path = dir.join(config_file::FILE_NAME);
            let pairs = read_file(&path)?;
            (ConfigSource::File(path), pairs)
        }
    };
    let settings = Settings::from_pairs(&source, &pairs)?;
    let key = read_key(&settings.public_key_file)?;
    let origin = match &settings.origin {
        Some(origin) => origin.clone(),
        None => origin::computer_name().ok_or(ConfigError::NoOrigin)?,
    };
    let log_file = settings.log_file.clone().or_else(|| default_log_file(&settings.spool_directory));
    Ok(Loaded { source, settings, key, origin, log_file })
}

fn read_file(path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(ConfigError::NotConfigured { file: path.to_owned() })
        }
        Err(source) => return Err(ConfigError::FileUnreadable { path: path.to_owned(), source }),
    };
    let text = config_file::decode(path, &bytes)?;
    Ok(config_file::parse(path, &text)?.into_iter().map(|setting| (setting.name, setting.value)).collect())
}

/// Reads a public key file (a UTF-8 byte order mark, as Notepad may add, is tolerated).
pub fn read_key(path: &Path) -> Result<PublicKey, ConfigError> {
    let unreadable = |source| ConfigError::KeyUnreadable { path: path.to_owned(), source };
    let mut text = String::new();
    fs::File::open(path)
        .and_then(|file| file.take(MAX_KEY_FILE_BYTES).read_to_string(&mut text))
        .map_err(unreadable)?;
    PublicKey::parse_file_text(text.trim_start_matches('\u{FEFF}'))
        .map_err(|source| ConfigError::KeyInvalid { path: path.to_owned(), source })
}

/// `pwsync-filter.log` in the spool directory's parent ("next to the spool"), so that the
/// client never sees it as a stray file in the spool itself.
fn default_log_file(spool_directory: &Path) -> Option<PathBuf> {
    spool_directory
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .map(|parent| parent.join(LOG_FILE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;
    use pwsync_seal::SecretKey;

    #[test]
    fn reads_a_key_file_with_or_without_bom() {
        let dir = TestDir::new("config-key");
        let secret = SecretKey::generate();
        let path = dir.path().join("spool.pub");
        fs::write(&path, format!("\u{FEFF}{}", secret.public_key().to_file_text())).unwrap();
        assert_eq!(read_key(&path).unwrap(), *secret.public_key());
    }

    #[test]
    fn key_problems_are_named() {
        let dir = TestDir::new("config-key-bad");
        let missing = dir.path().join("missing.pub");
        assert!(matches!(read_key(&missing), Err(ConfigError::KeyUnreadable { .. })));
        let secret_instead = dir.path().join("spool.key");
        fs::write(&secret_instead, SecretKey::generate().to_file_text().as_bytes()).unwrap();
        match read_key(&secret_instead) {
            Err(error @ ConfigError::KeyInvalid { source: KeyFileError::WrongKind { .. }, .. }) => {
                assert!(error.to_string().contains("expected a public key file"), "{}", error)
            }
            other => panic!("{:?}", other),
        }
        // A directory where the file should be: unreadable, not a panic.
        assert!(matches!(read_key(dir.path()), Err(ConfigError::KeyUnreadable { .. })));
    }

    #[test]
    fn the_log_goes_next_to_the_spool() {
        assert_eq!(
            default_log_file(Path::new(r"C:\ProgramData\pwsync\spool")),
            Some(PathBuf::from(r"C:\ProgramData\pwsync\pwsync-filter.log"))
        );
        assert_eq!(default_log_file(Path::new(r"C:\")), None);
    }
}
