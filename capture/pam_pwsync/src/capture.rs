//! The capture itself, apart from PAM: load the public key, open the spool, copy the new
//! password into a wiping buffer, seal and write it durably with `Spool::capture`.
//!
//! Kept free of PAM types so that it can be tested without a PAM stack. It must never keep
//! the password past the call: the only copy lives in a `Password`, made after everything
//! that can fail without it has been done, and wiped when the record is written or refused.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use pwsync_seal::{Password, PublicKey, SourceKind};
use pwsync_spool::{CaptureInput, Captured, Spool};

use crate::{origin, CaptureFailure, ModuleArguments};

/// A key file is one line of about 80 bytes; reading stops well past that, so that a `key=`
/// pointing at something huge cannot stall the password change.
const KEY_FILE_READ_LIMIT: u64 = 4096;

/// Checks, without a password, that a capture could succeed now: the key loads and the spool
/// opens (it is created if missing). Used by the preliminary pass with `reject_on_failure`,
/// so that a change that could not be captured is refused before any module changes it.
pub fn check_ready(arguments: &ModuleArguments) -> Result<(), CaptureFailure> {
    load_public_key(&arguments.key)?;
    Spool::open(&arguments.spool).map_err(CaptureFailure::Spool)?;
    Ok(())
}

/// Seals `account`'s `new_password` into the spool. When this returns `Ok`, the record is on
/// disk and survives a crash.
pub fn capture_change(
    arguments: &ModuleArguments,
    account: String,
    new_password: &[u8],
) -> Result<Captured, CaptureFailure> {
    let key = load_public_key(&arguments.key)?;
    let spool = Spool::open(&arguments.spool).map_err(CaptureFailure::Spool)?;
    // The one copy of the password: `to_vec` allocates exactly its length, so the buffer moves
    // into the `Password` (or is wiped by `from_utf8`) without a reallocation leaving a copy.
    let password = Password::from_utf8(new_password.to_vec()).map_err(CaptureFailure::PasswordNotUtf8)?;
    let input =
        CaptureInput { account, upn: None, password, origin: origin::this_host(), source: SourceKind::Pam };
    spool.capture(&key, input).map_err(CaptureFailure::Capture)
}

fn load_public_key(path: &Path) -> Result<PublicKey, CaptureFailure> {
    let unreadable = |source| CaptureFailure::KeyUnreadable { path: path.to_owned(), source };
    let mut text = String::new();
    File::open(path)
        .and_then(|file| file.take(KEY_FILE_READ_LIMIT).read_to_string(&mut text))
        .map_err(unreadable)?;
    PublicKey::parse_file_text(&text)
        .map_err(|source| CaptureFailure::KeyInvalid { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use pwsync_seal::{KeyFileError, SecretKey};
    use pwsync_spool::{CaptureError, SpoolError};

    use super::*;

    const NEW_PASSWORD: &str = "Nëw-Pässwörd-密码-42!";

    /// A private scratch directory with a spool key pair, removed when dropped.
    struct Scratch {
        dir: PathBuf,
        secret: SecretKey,
    }

    impl Scratch {
        fn new() -> Scratch {
            let dir = std::env::temp_dir().join(format!(
                "pam_pwsync-unit-{}-{:016x}",
                std::process::id(),
                rand::random::<u64>()
            ));
            std::fs::create_dir(&dir).unwrap();
            let secret = SecretKey::generate();
            std::fs::write(dir.join("spool.pub"), secret.public_key().to_file_text()).unwrap();
            Scratch { dir, secret }
        }

        fn arguments(&self) -> ModuleArguments {
            ModuleArguments {
                spool: self.dir.join("spool"),
                key: self.dir.join("spool.pub"),
                debug: false,
                reject_on_failure: false,
            }
        }

        fn pending(&self) -> usize {
            Spool::open(&self.dir.join("spool")).unwrap().list_pending().unwrap().len()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn captures_a_record_that_opens_to_the_exact_change() {
        let scratch = Scratch::new();
        let captured = capture_change(&scratch.arguments(), "alice".into(), NEW_PASSWORD.as_bytes()).unwrap();

        let record = std::fs::read(&captured.path).unwrap();
        let change = pwsync_seal::open(&record, std::slice::from_ref(&scratch.secret)).unwrap();
        assert_eq!(change.id, captured.id);
        assert_eq!(change.account, "alice");
        assert_eq!(change.upn, None);
        assert_eq!(change.password.expose(), NEW_PASSWORD);
        assert_eq!(change.origin, origin::this_host());
        assert_eq!(change.source, SourceKind::Pam);
        assert_eq!(scratch.pending(), 1);
    }

    #[test]
    fn check_ready_creates_the_spool_and_accepts_the_key() {
        let scratch = Scratch::new();
        check_ready(&scratch.arguments()).unwrap();
        assert!(scratch.dir.join("spool").is_dir());
        assert_eq!(scratch.pending(), 0);
    }

    #[test]
    fn a_missing_key_file_is_named() {
        let scratch = Scratch::new();
        let arguments = ModuleArguments { key: scratch.dir.join("absent.pub"), ..scratch.arguments() };
        let error = capture_change(&arguments, "alice".into(), NEW_PASSWORD.as_bytes()).unwrap_err();
        assert!(matches!(error, CaptureFailure::KeyUnreadable { .. }), "{error:?}");
        assert!(matches!(check_ready(&arguments), Err(CaptureFailure::KeyUnreadable { .. })));
    }

    #[test]
    fn a_secret_key_in_place_of_the_public_key_is_refused() {
        let scratch = Scratch::new();
        std::fs::write(scratch.dir.join("spool.pub"), scratch.secret.to_file_text().as_bytes()).unwrap();
        let error =
            capture_change(&scratch.arguments(), "alice".into(), NEW_PASSWORD.as_bytes()).unwrap_err();
        assert!(
            matches!(error, CaptureFailure::KeyInvalid { source: KeyFileError::WrongKind { .. }, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_spool_under_a_regular_file_fails_without_a_record() {
        let scratch = Scratch::new();
        std::fs::write(scratch.dir.join("file"), b"not a directory").unwrap();
        let arguments = ModuleArguments { spool: scratch.dir.join("file/spool"), ..scratch.arguments() };
        let error = capture_change(&arguments, "alice".into(), NEW_PASSWORD.as_bytes()).unwrap_err();
        assert!(matches!(error, CaptureFailure::Spool(SpoolError::Io { .. })), "{error:?}");
        assert!(matches!(check_ready(&arguments), Err(CaptureFailure::Spool(_))));
    }

    #[test]
    fn a_password_that_is_not_utf8_is_refused_without_echoing_it() {
        let scratch = Scratch::new();
        let error = capture_change(&scratch.arguments(), "alice".into(), b"Zq7\xffQz9").unwrap_err();
        assert!(matches!(error, CaptureFailure::PasswordNotUtf8(_)), "{error:?}");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("Zq7") && !shown.contains("Qz9"), "{shown}");
        assert_eq!(scratch.pending(), 0);
    }

    #[test]
    fn an_empty_or_oversized_password_is_refused_by_the_seal() {
        let scratch = Scratch::new();
        for password in [Vec::new(), vec![b'x'; pwsync_seal::MAX_PASSWORD_LEN + 1]] {
            let error = capture_change(&scratch.arguments(), "alice".into(), &password).unwrap_err();
            assert!(matches!(error, CaptureFailure::Capture(CaptureError::Seal(_))), "{error:?}");
            assert!(!error.to_string().contains("xxxx"), "{error}");
        }
        assert_eq!(scratch.pending(), 0);
    }
}
