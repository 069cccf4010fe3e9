//! [`ChangeId`]: the random 128-bit identity of one captured change, used for idempotent
//! delivery and as the spool file name.
//!
//! It must never be derived from the account, the password or the time: it has to be
//! unguessable and unrelated to the change's content.

use std::fmt;
use std::str::FromStr;

use rand_core::{OsRng, RngCore};

use crate::hex;

/// A random 16-byte change id. `Display` is 32 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChangeId([u8; 16]);

/// Why text is not a [`ChangeId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeIdParseError {
    /// Not exactly 32 characters.
    #[error("change id must be 32 hex characters, found {found}")]
    BadLength {
        /// Number of characters found.
        found: usize,
    },
    /// A character that is not a hex digit.
    #[error("change id has a non-hex character at position {position}")]
    NotHex {
        /// 0-based position of the offending character.
        position: usize,
    },
}

impl ChangeId {
    /// A fresh id from the operating system's random generator.
    pub fn random() -> ChangeId {
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        ChangeId(bytes)
    }

    /// The id with these exact bytes (for decoding and tests).
    pub fn from_bytes(bytes: [u8; 16]) -> ChangeId {
        ChangeId(bytes)
    }

    /// The 16 bytes of the id.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex::write(&self.0, f)
    }
}

impl fmt::Debug for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChangeId({})", self)
    }
}

impl FromStr for ChangeId {
    type Err = ChangeIdParseError;

    /// Accepts 32 hex digits in either case; `Display` gives the canonical lowercase form.
    fn from_str(text: &str) -> Result<ChangeId, ChangeIdParseError> {
        let mut bytes = [0u8; 16];
        match hex::decode_into(text, &mut bytes) {
            Ok(()) => Ok(ChangeId(bytes)),
            Err(hex::HexError::Length { found, .. }) => Err(ChangeIdParseError::BadLength { found }),
            Err(hex::HexError::NotHex { position }) => Err(ChangeIdParseError::NotHex { position }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let id = ChangeId::from_bytes([
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
        ]);
        assert_eq!(id.to_string(), "00112233445566778899aabbccddeeff");
        assert_eq!("00112233445566778899AABBCCDDEEFF".parse::<ChangeId>(), Ok(id));
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(ChangeId::random(), ChangeId::random());
    }

    #[test]
    fn parse_refuses_bad_input() {
        assert_eq!("abc".parse::<ChangeId>(), Err(ChangeIdParseError::BadLength { found: 3 }));
        assert_eq!(
            "00112233445566778899aabbccddeefz".parse::<ChangeId>(),
            Err(ChangeIdParseError::NotHex { position: 31 })
        );
    }
}
