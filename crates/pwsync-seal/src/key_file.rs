//! The one-line text form of spool keys (`pwsync-spool-public-key-v1 <hex>` and
//! `pwsync-spool-secret-key-v1 <hex>`) and its named parse errors.
//!
//! Parsing must never echo the input in an error (it may be a secret key), and must
//! refuse anything but one label, one space and 64 hex digits (trailing whitespace and
//! line breaks excepted), so that a key file is either exactly right or clearly wrong.

use zeroize::Zeroizing;

use crate::hex;

/// First word of a public key file.
pub(crate) const PUBLIC_LABEL: &str = "pwsync-spool-public-key-v1";
/// First word of a secret key file.
pub(crate) const SECRET_LABEL: &str = "pwsync-spool-secret-key-v1";

/// The two kinds of key file, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Public,
    Secret,
}

impl KeyKind {
    fn label(self) -> &'static str {
        match self {
            KeyKind::Public => PUBLIC_LABEL,
            KeyKind::Secret => SECRET_LABEL,
        }
    }

    fn description(self) -> &'static str {
        match self {
            KeyKind::Public => "a public key",
            KeyKind::Secret => "a secret key",
        }
    }
}

/// Why a key file's text was refused. Never contains the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// The file holds the other kind of key (e.g. a secret key where a public one belongs).
    #[error("expected {expected} file but this is {found} file")]
    WrongKind {
        /// What was asked for: "a public key" or "a secret key".
        expected: &'static str,
        /// What the file holds.
        found: &'static str,
    },
    /// The first word is not a known key file label.
    #[error("not a pwsync spool key file (expected the first word to be {expected_label})")]
    UnknownFormat {
        /// The label that was expected.
        expected_label: &'static str,
    },
    /// The key is not 64 hex characters.
    #[error("key must be 64 hex characters, found {found}")]
    BadLength {
        /// Number of characters found after the label.
        found: usize,
    },
    /// A character of the key is not a hex digit.
    #[error("key has a non-hex character at position {position}")]
    BadHex {
        /// 0-based position within the key text.
        position: usize,
    },
    /// Something other than trailing whitespace follows the key (a second line or word),
    /// or whitespace precedes the label.
    #[error(
        "unexpected content around the key: a key file is exactly one line `<label> <64 hex characters>`"
    )]
    ExtraContent,
}

/// Formats `key` as a key file line of the given kind. The result is wiped on drop.
pub(crate) fn format(kind: KeyKind, key: &[u8; 32]) -> Zeroizing<String> {
    // Sized up front so that no reallocation leaves a partial copy of a secret behind.
    let mut text = Zeroizing::new(String::with_capacity(kind.label().len() + 1 + 64 + 1));
    text.push_str(kind.label());
    text.push(' ');
    hex::encode_into(key, &mut text);
    text.push('\n');
    text
}

/// Parses a key file line of the given kind into `out`.
pub(crate) fn parse(kind: KeyKind, text: &str, out: &mut [u8; 32]) -> Result<(), KeyFileError> {
    let line = text.trim_end();
    if line.starts_with(char::is_whitespace) {
        return Err(KeyFileError::ExtraContent);
    }
    let (label, key_text) = match line.split_once(' ') {
        Some(parts) => parts,
        None => (line, ""),
    };
    if label != kind.label() {
        let other = match kind {
            KeyKind::Public => KeyKind::Secret,
            KeyKind::Secret => KeyKind::Public,
        };
        if label == other.label() {
            return Err(KeyFileError::WrongKind { expected: kind.description(), found: other.description() });
        }
        return Err(KeyFileError::UnknownFormat { expected_label: kind.label() });
    }
    if key_text.contains(char::is_whitespace) {
        return Err(KeyFileError::ExtraContent);
    }
    hex::decode_into(key_text, out).map_err(|error| match error {
        hex::HexError::Length { found, .. } => KeyFileError::BadLength { found },
        hex::HexError::NotHex { position } => KeyFileError::BadHex { position },
    })
}
