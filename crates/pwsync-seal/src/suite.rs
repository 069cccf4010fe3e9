//! The one HPKE suite and `info` string of record format version 1, in one place.
//!
//! Must never become negotiable: a record names its suite in the header so that a future
//! version can add one, but version 1 accepts exactly this suite and nothing else.

use hpke::aead::Aead as _;
use hpke::kdf::Kdf as _;
use hpke::Kem as _;

/// HPKE KEM: DHKEM(X25519, HKDF-SHA256).
pub(crate) type Kem = hpke::kem::X25519HkdfSha256;
/// HPKE KDF: HKDF-SHA256.
pub(crate) type Kdf = hpke::kdf::HkdfSha256;
/// HPKE AEAD: ChaCha20-Poly1305.
pub(crate) type Aead = hpke::aead::ChaCha20Poly1305;

/// RFC 9180 KEM id of DHKEM(X25519, HKDF-SHA256): 0x0020.
pub const KEM_ID: u16 = Kem::KEM_ID;
/// RFC 9180 KDF id of HKDF-SHA256: 0x0001.
pub const KDF_ID: u16 = Kdf::KDF_ID;
/// RFC 9180 AEAD id of ChaCha20-Poly1305: 0x0003.
pub const AEAD_ID: u16 = Aead::AEAD_ID;

/// The HPKE `info` of every version-1 record. Binds the key schedule to this purpose, so
/// that a ciphertext made for another protocol with the same key never opens as a record.
pub const HPKE_INFO: &[u8] = b"pwsync spool record v1";

/// Length of the AEAD tag that ends every ciphertext.
pub(crate) const TAG_LEN: usize = 16;

/// Length of an X25519 key or encapsulated key.
pub(crate) const KEY_LEN: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_rfc_9180_ones() {
        assert_eq!((KEM_ID, KDF_ID, AEAD_ID), (0x0020, 0x0001, 0x0003));
    }
}
