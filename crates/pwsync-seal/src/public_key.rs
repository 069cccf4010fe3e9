//! [`PublicKey`]: the recipient key that capture hooks seal records to.
//!
//! Public by design; holding it must never be enough to read a record (only the matching
//! [`crate::SecretKey`] opens one).

use std::fmt;

use hpke::Deserializable;

use crate::key_file::{self, KeyKind};
use crate::suite::Kem;
use crate::{KeyFileError, KeyId};

/// An X25519 recipient public key and its [`KeyId`].
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    bytes: [u8; 32],
    key_id: KeyId,
}

impl PublicKey {
    /// The public key with these 32 bytes (X25519 u-coordinate, RFC 7748 encoding).
    pub fn from_bytes(bytes: [u8; 32]) -> PublicKey {
        PublicKey { bytes, key_id: KeyId::of_public_key(&bytes) }
    }

    /// The 32 bytes of the key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The id that records sealed to this key carry in their header.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The key file line: `pwsync-spool-public-key-v1 <64 hex chars>\n`.
    pub fn to_file_text(&self) -> String {
        key_file::format(KeyKind::Public, &self.bytes).to_string()
    }

    /// Parses a key file line (trailing whitespace and line break allowed).
    pub fn parse_file_text(text: &str) -> Result<PublicKey, KeyFileError> {
        let mut bytes = [0u8; 32];
        key_file::parse(KeyKind::Public, text, &mut bytes)?;
        Ok(PublicKey::from_bytes(bytes))
    }

    /// The key as `hpke` wants it.
    pub(crate) fn to_hpke(&self) -> <Kem as hpke::Kem>::PublicKey {
        <Kem as hpke::Kem>::PublicKey::from_bytes(&self.bytes)
            .expect("hpke accepts every 32-byte X25519 public key")
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(key_id={})", self.key_id)
    }
}
