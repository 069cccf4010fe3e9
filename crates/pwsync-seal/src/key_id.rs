//! [`KeyId`]: the short name of a recipient public key written into each record header, so
//! that the opener can pick the right secret key while keys are being rotated.
//!
//! It is an identifier, not an authenticator: it must never be trusted to prove which key
//! sealed a record (the AEAD does that).

use std::fmt;

use sha2::{Digest, Sha256};

use crate::hex;

/// First 8 bytes of SHA-256 of the recipient's 32-byte public key. `Display` is hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 8]);

impl KeyId {
    /// The key id of the public key with these bytes.
    pub(crate) fn of_public_key(public_key: &[u8; 32]) -> KeyId {
        let digest = Sha256::digest(public_key);
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId(id)
    }

    /// The key id with these exact bytes (as read from a header).
    pub fn from_bytes(bytes: [u8; 8]) -> KeyId {
        KeyId(bytes)
    }

    /// The 8 bytes.
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex::write(&self.0, f)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_sha256_prefix() {
        // SHA-256 of 32 zero bytes starts with 66687aadf862bd77.
        assert_eq!(KeyId::of_public_key(&[0; 32]).to_string(), "66687aadf862bd77");
    }
}
