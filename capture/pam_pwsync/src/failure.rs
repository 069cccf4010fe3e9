//! [`CaptureFailure`]: every reason the module did not capture a change, as one named error.
//!
//! These messages go to syslog. They name accounts, paths and what an operator can do, and
//! must never contain the password or any part of it (the wrapped errors promise the same).

use std::io;
use std::path::PathBuf;

use pwsync_seal::{KeyFileError, PasswordError};
use pwsync_spool::{CaptureError, SpoolError};

use crate::ArgumentError;

/// Why a change was not captured (or, in the preliminary check, could not be).
#[derive(Debug, thiserror::Error)]
pub enum CaptureFailure {
    /// The pam.d arguments are wrong.
    #[error("bad pam.d line: {0}")]
    Arguments(#[from] ArgumentError),
    /// `pam_get_item` itself failed.
    #[error("PAM could not give item {item}: {code}")]
    PamItem {
        /// `PAM_USER` or `PAM_AUTHTOK`.
        item: &'static str,
        /// The PAM result code's name.
        code: String,
    },
    /// `PAM_USER` is not set.
    #[error("PAM_USER is not set: the application gave no user name")]
    NoUser,
    /// `PAM_USER` is not UTF-8, which the record format requires.
    #[error("the user name is not UTF-8 and cannot be recorded")]
    UserNotUtf8,
    /// `PAM_AUTHTOK` is NULL in the update pass.
    #[error(
        "PAM_AUTHTOK is not set: list pam_pwsync after the module that asks for the new password (pam_unix.so)"
    )]
    NoNewPassword,
    /// The new password is not UTF-8 (its bytes were wiped before this error was made).
    #[error("the new password cannot be recorded: {0}")]
    PasswordNotUtf8(#[source] PasswordError),
    /// The public key file cannot be read.
    #[error("cannot read the spool public key {path}: {source}")]
    KeyUnreadable {
        /// The `key=` path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The public key file does not hold a spool public key.
    #[error("{path} is not a pwsync spool public key: {source}; write it with `pwsync keygen`")]
    KeyInvalid {
        /// The `key=` path.
        path: PathBuf,
        /// What is wrong with its text.
        #[source]
        source: KeyFileError,
    },
    /// The spool directory cannot be opened or created.
    #[error("spool unusable: {0}")]
    Spool(#[source] SpoolError),
    /// Sealing or writing the record failed.
    #[error("record not written: {0}")]
    Capture(#[source] CaptureError),
    /// A bug: the module panicked; the panic was caught before it reached PAM.
    #[error("internal error (a panic in pam_pwsync, caught before it reached PAM)")]
    Panicked,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_point_at_the_fix() {
        let error = CaptureFailure::Arguments(ArgumentError::Missing { name: "key" });
        assert!(error.to_string().contains("key= is missing"), "{error}");
        let error = CaptureFailure::NoNewPassword;
        assert!(error.to_string().contains("after the module"), "{error}");
        let error = CaptureFailure::KeyInvalid {
            path: PathBuf::from("/etc/pwsync/spool.pub"),
            source: KeyFileError::BadLength { found: 3 },
        };
        let text = error.to_string();
        assert!(text.contains("/etc/pwsync/spool.pub") && text.contains("pwsync keygen"), "{text}");
    }
}
