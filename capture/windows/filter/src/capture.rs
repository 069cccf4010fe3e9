//! What PasswordChangeNotify does: read the account and the new password from LSA's
//! UNICODE_STRINGs, seal them into one record in the spool, and log the outcome.
//!
//! The work is done synchronously, in the call, rather than handed to a worker thread:
//! the pwsync invariant is that a hook returns only once the sealed record is on disk, and
//! a queue in lsass's memory would hold clear-text passwords that a crash or reboot loses.
//! The cost is small — one X25519 key agreement, one ChaCha20-Poly1305 seal, one file
//! written, flushed and renamed: a few milliseconds (the harness prints the slowest call)
//! — and it runs after the password is already stored, once per change. The one wait that
//! can be long is the spool's lock on its sequence file, bounded to 5 s and held only by
//! other capture calls.
//!
//! It must never let a password reach the log, an error or a second unwiped buffer, never
//! write a record whose account or password differs from what LSA passed (anything that
//! cannot be converted exactly is refused and logged instead), and never capture machine
//! or trust accounts (names ending in `$`), whose random passwords are not synchronized.

use std::time::Instant;

use pwsync_seal::{Password, SourceKind};
use pwsync_spool::{CaptureError, CaptureInput, Captured, Spool, SpoolError};

use crate::config::Loaded;
use crate::log;
use crate::lsa_text;
use crate::spool_dir::{self, SpoolDirError};
use crate::state;
use crate::unicode_string::UnicodeString;

/// Why a readable change was not written to the spool.
#[derive(Debug, thiserror::Error)]
pub enum CaptureFailure {
    /// The spool directory is missing and could not be created.
    #[error(transparent)]
    SpoolDirectory(#[from] SpoolDirError),
    /// The spool directory could not be opened.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// Sealing or writing the record failed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

/// Handles one PasswordChangeNotify call; every outcome is logged.
///
/// # Safety
/// `user_name` and `new_password` must be NULL or valid UNICODE_STRINGs for the duration
/// of the call, as LSA passes them.
pub unsafe fn password_change(user_name: *const UnicodeString, rid: u32, new_password: *const UnicodeString) {
    let started = Instant::now();
    // SAFETY: passed on to the caller.
    let account = match unsafe { lsa_text::read(user_name) } {
        Ok(text) => text.as_str().to_owned(),
        Err(error) => {
            log::error(&format!("password change of RID {} NOT captured: account name: {}", rid, error));
            return;
        }
    };
    if account.ends_with('$') {
        log::info(&format!(
            "password change of RID {} skipped: {:?} is a machine or trust account (such passwords are not synchronized)",
            rid, account
        ));
        return;
    }
    // SAFETY: passed on to the caller.
    let password = match unsafe { lsa_text::read(new_password) } {
        // Moves the wiping buffer's string into the Password (which wipes it in turn)
        // without copying it.
        Ok(mut text) => Password::new(std::mem::take(&mut *text)),
        Err(error) => {
            log::error(&format!(
                "password change of account {:?} (RID {}) NOT captured: new password: {}",
                account, rid, error
            ));
            return;
        }
    };
    let loaded = match state::current() {
        Ok(loaded) => loaded,
        Err(error) => {
            log::error(&format!(
                "password change of account {:?} (RID {}) NOT captured: the filter has no usable configuration: {}",
                account, rid, error
            ));
            return;
        }
    };
    match capture(&loaded, account.clone(), password) {
        Ok(captured) => log::info(&format!(
            "captured the password change of account {:?} (RID {}) as {} (origin sequence {}) in {} ms",
            account,
            rid,
            captured.path.file_name().map_or_else(
                || captured.path.display().to_string(),
                |name| name.to_string_lossy().into_owned()
            ),
            captured.origin_seq,
            started.elapsed().as_millis()
        )),
        Err(error) => log::error(&format!(
            "password change of account {:?} (RID {}) NOT captured: {}",
            account, rid, error
        )),
    }
}

/// Seals `account` and `password` into the configured spool, creating a missing spool
/// directory first (with its own ACL; see `spool_dir`).
pub fn capture(loaded: &Loaded, account: String, password: Password) -> Result<Captured, CaptureFailure> {
    let directory = &loaded.settings.spool_directory;
    if spool_dir::ensure(directory)? {
        log::warning(&format!(
            "created the missing spool directory {} with access for SYSTEM and Administrators only; make sure the pwsync client daemon watches this directory",
            directory.display()
        ));
    }
    let spool = Spool::open(directory)?;
    let input = CaptureInput {
        account,
        upn: None,
        password,
        origin: loaded.origin.clone(),
        source: SourceKind::WindowsLsa,
    };
    Ok(spool.capture(&loaded.key, input)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{ConfigSource, Settings};
    use crate::test_dir::TestDir;
    use pwsync_seal::SecretKey;
    use std::path::PathBuf;

    fn loaded(spool_directory: PathBuf, secret: &SecretKey) -> Loaded {
        Loaded {
            source: ConfigSource::Registry,
            settings: Settings {
                spool_directory,
                public_key_file: PathBuf::from(r"C:\unused.pub"),
                origin: None,
                log_file: None,
            },
            key: secret.public_key().clone(),
            origin: "dc1.test".to_owned(),
            log_file: None,
        }
    }

    #[test]
    fn writes_a_record_the_secret_key_opens_with_the_exact_change() {
        let dir = TestDir::new("capture-round-trip");
        let secret = SecretKey::generate();
        let config = loaded(dir.path().join("spool"), &secret);
        let password = "Pässwörd-\u{1F511}-\u{0}-1".to_owned();
        let captured = capture(&config, "jürgen".to_owned(), Password::new(password.clone())).unwrap();
        let change = pwsync_seal::open(&std::fs::read(&captured.path).unwrap(), &[secret]).unwrap();
        assert_eq!(change.account, "jürgen");
        assert_eq!(change.password.expose(), password);
        assert_eq!(change.source, SourceKind::WindowsLsa);
        assert_eq!(change.origin, "dc1.test");
        assert_eq!(change.upn, None);
        assert_eq!(change.origin_seq, captured.origin_seq);
    }

    #[test]
    fn a_field_over_the_record_limits_is_a_named_error_and_writes_nothing() {
        let dir = TestDir::new("capture-too-long");
        let secret = SecretKey::generate();
        let spool_directory = dir.path().join("spool");
        let config = loaded(spool_directory.clone(), &secret);
        let error = capture(&config, "alice".to_owned(), Password::new("x".repeat(1025))).unwrap_err();
        assert!(matches!(error, CaptureFailure::Capture(CaptureError::Seal(_))), "{:?}", error);
        assert_eq!(
            error.to_string(),
            "cannot seal change: field password is 1025 bytes, more than the limit of 1024"
        );
        assert!(Spool::open(&spool_directory).unwrap().list_pending().unwrap().is_empty());
    }

    #[test]
    fn a_spool_under_a_missing_parent_is_refused_without_creating_anything() {
        let dir = TestDir::new("capture-no-parent");
        let secret = SecretKey::generate();
        let config = loaded(dir.path().join("typo").join("spool"), &secret);
        let error = capture(&config, "alice".to_owned(), Password::new("Secret-1".to_owned())).unwrap_err();
        assert!(
            matches!(error, CaptureFailure::SpoolDirectory(SpoolDirError::ParentMissing { .. })),
            "{:?}",
            error
        );
        assert!(!dir.path().join("typo").exists());
    }

    #[test]
    fn a_file_where_the_spool_should_be_is_a_named_error() {
        let dir = TestDir::new("capture-not-dir");
        let secret = SecretKey::generate();
        let spool_directory = dir.path().join("spool");
        std::fs::write(&spool_directory, b"not a directory").unwrap();
        let error =
            capture(&loaded(spool_directory, &secret), "alice".to_owned(), Password::new("S-1".to_owned()))
                .unwrap_err();
        assert!(matches!(error, CaptureFailure::Spool(SpoolError::NotADirectory { .. })), "{:?}", error);
    }
}
