//! [`SecretKey`]: the recipient key that opens records (held by the client daemon).
//!
//! It must never be printed or left in memory after use: it is wiped on drop, `Debug`
//! shows only its key id, and its text form comes back in a wiping `Zeroizing<String>`.

use std::fmt;

use hpke::{Deserializable, Kem as _, Serializable};
use rand_core::OsRng;
use zeroize::Zeroizing;

use crate::key_file::{self, KeyKind};
use crate::suite::Kem;
use crate::{KeyFileError, PublicKey};

/// An X25519 recipient secret key, zeroized on drop.
pub struct SecretKey {
    bytes: Zeroizing<[u8; 32]>,
    public: PublicKey,
}

impl SecretKey {
    /// A new random key pair from the operating system's random generator.
    pub fn generate() -> SecretKey {
        let (private, _) = Kem::gen_keypair(&mut OsRng);
        let mut bytes = Zeroizing::new([0u8; 32]);
        // Written straight into the wiping buffer, not through a temporary array.
        private.write_exact(&mut bytes[..]);
        SecretKey::from_zeroizing(bytes)
    }

    /// The secret key with these 32 bytes (RFC 7748 X25519 scalar, as serialized by
    /// RFC 9180 `SerializePrivateKey`). Wipe the caller's copy after this call.
    pub fn from_bytes(bytes: [u8; 32]) -> SecretKey {
        SecretKey::from_zeroizing(Zeroizing::new(bytes))
    }

    fn from_zeroizing(bytes: Zeroizing<[u8; 32]>) -> SecretKey {
        let public_hpke = Kem::sk_to_pk(&private_from(&bytes));
        let mut public_bytes = [0u8; 32];
        public_hpke.write_exact(&mut public_bytes);
        SecretKey { bytes, public: PublicKey::from_bytes(public_bytes) }
    }

    /// The matching public key (to give to capture hooks).
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The 32 secret bytes, for storing the key elsewhere. Handle with care.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The key file line: `pwsync-spool-secret-key-v1 <64 hex chars>\n`, wiped on drop.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        key_file::format(KeyKind::Secret, &self.bytes)
    }

    /// Parses a key file line (trailing whitespace and line break allowed). Errors never
    /// contain the text.
    pub fn parse_file_text(text: &str) -> Result<SecretKey, KeyFileError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        key_file::parse(KeyKind::Secret, text, &mut bytes)?;
        Ok(SecretKey::from_zeroizing(bytes))
    }

    /// The key as `hpke` wants it (wiped on drop thanks to x25519-dalek's `zeroize`).
    pub(crate) fn to_hpke(&self) -> <Kem as hpke::Kem>::PrivateKey {
        private_from(&self.bytes)
    }
}

fn private_from(bytes: &[u8; 32]) -> <Kem as hpke::Kem>::PrivateKey {
    <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes).expect("hpke accepts every 32-byte X25519 secret key")
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(<redacted>, key_id={})", self.public.key_id())
    }
}
