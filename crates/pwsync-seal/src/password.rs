//! [`Password`]: the clear-text new password of a change, held so that it is wiped from
//! memory when dropped.
//!
//! It must never be printed: `Debug` shows a redaction and there is deliberately no
//! `Display`. The only way to the text is [`Password::expose`], so every read is visible in
//! review. Length limits belong to the record format (see `payload`), not to this type.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// A clear-text password, UTF-8, zeroized on drop, redacted in `Debug`.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

/// Why bytes could not become a [`Password`]. Never contains the bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// The bytes are not valid UTF-8 (the rejected bytes have already been wiped).
    #[error("password is not valid UTF-8 (invalid byte sequence at offset {valid_up_to})")]
    NotUtf8 {
        /// Length of the valid UTF-8 prefix.
        valid_up_to: usize,
    },
}

impl Password {
    /// Takes ownership of `text`; it is wiped when the `Password` is dropped.
    pub fn new(text: String) -> Password {
        Password(Zeroizing::new(text))
    }

    /// Takes ownership of `bytes` if they are UTF-8. On error the bytes are wiped before
    /// returning, so a caller that got them from a secure source leaks nothing.
    pub fn from_utf8(bytes: Vec<u8>) -> Result<Password, PasswordError> {
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Password::new(text)),
            Err(error) => {
                let valid_up_to = error.utf8_error().valid_up_to();
                let mut rejected = error.into_bytes();
                rejected.zeroize();
                Err(PasswordError::NotUtf8 { valid_up_to })
            }
        }
    }

    /// The clear text. Keep the borrow short and never log, format or copy it into a type
    /// that does not wipe itself.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// Length of the UTF-8 encoding in bytes (safe to log: it is not the password).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the password is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let password = Password::new("Hunter2-secret".to_owned());
        let shown = format!("{:?} {:#?}", password, password);
        assert!(!shown.contains("Hunter2"), "{}", shown);
        assert!(shown.contains("Password(<redacted>)"));
    }

    #[test]
    fn from_utf8_accepts_non_ascii() {
        let password = Password::from_utf8("Pässwörd-密码-1!".as_bytes().to_vec()).unwrap();
        assert_eq!(password.expose(), "Pässwörd-密码-1!");
        assert_eq!(password.len(), "Pässwörd-密码-1!".len());
    }

    #[test]
    fn from_utf8_refuses_invalid_bytes_without_echoing_them() {
        let error = Password::from_utf8(b"Zq\xffQz".to_vec()).unwrap_err();
        assert_eq!(error, PasswordError::NotUtf8 { valid_up_to: 2 });
        let shown = format!("{} {:?}", error, error);
        assert!(!shown.contains("Zq") && !shown.contains("Qz"), "{}", shown);
    }
}
