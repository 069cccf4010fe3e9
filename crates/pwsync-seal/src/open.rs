//! Opening: [`open`] turns record bytes back into a [`Change`] with one of the recipient's
//! secret keys, and [`read_header`] reads the key-independent header.
//!
//! It must never return a `Change` from bytes that fail authentication (any changed byte
//! of header or ciphertext is `tampered` or an earlier header error), never decrypt input
//! over [`crate::MAX_RECORD_LEN`], and never put payload content into an error: each error is a
//! named variant with a stable short [`OpenError::code`].

use hpke::aead::AeadTag;
use hpke::{Deserializable, OpModeR};
use zeroize::Zeroizing;

use crate::header::{RecordHeader, HEADER_LEN};
use crate::payload::{self, FieldProblem, PayloadField, MIN_PAYLOAD_LEN};
use crate::suite::{Aead, Kdf, Kem, HPKE_INFO, TAG_LEN};
use crate::{Change, KeyId, SecretKey};

/// Why a record could not be opened. Never contains payload content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Shorter than a header, or than the smallest possible ciphertext.
    #[error("record is truncated: {len} bytes, at least {min} needed")]
    Truncated {
        /// Length of the record.
        len: usize,
        /// Smallest length that could be valid at the point of failure.
        min: usize,
    },
    /// Does not start with the record magic: not a pwsync record.
    #[error("not a pwsync record (bad magic)")]
    BadMagic,
    /// A record format version this build does not read.
    #[error("unsupported record version {version}")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// An HPKE suite other than DHKEM(X25519)/HKDF-SHA256/ChaCha20-Poly1305.
    #[error("unsupported HPKE suite kem=0x{kem_id:04x} kdf=0x{kdf_id:04x} aead=0x{aead_id:04x}")]
    UnsupportedSuite {
        /// KEM id found.
        kem_id: u16,
        /// KDF id found.
        kdf_id: u16,
        /// AEAD id found.
        aead_id: u16,
    },
    /// None of the given secret keys has the key id the record was sealed to.
    #[error("record was sealed to key {key_id}, which is not among the configured keys")]
    UnknownKey {
        /// The key id from the header.
        key_id: KeyId,
    },
    /// Authentication failed: the header or ciphertext was changed or corrupted.
    #[error("record failed authentication (tampered or corrupted)")]
    Tampered,
    /// Larger than [`crate::MAX_RECORD_LEN`]; refused before decryption.
    #[error("record is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// Length of the record.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Decrypted, but the payload breaks the format (possible only for a record sealed by
    /// a faulty or newer writer holding the public key).
    #[error("record payload is malformed: field {field} {problem}")]
    MalformedPayload {
        /// The offending field.
        field: PayloadField,
        /// What is wrong with it.
        problem: FieldProblem,
    },
}

impl OpenError {
    /// A stable short code for logs, metrics and failure reasons: `truncated`,
    /// `bad_magic`, `unsupported_version`, `unsupported_suite`, `unknown_key`, `tampered`,
    /// `too_large` or `malformed_payload`.
    pub fn code(&self) -> &'static str {
        match self {
            OpenError::Truncated { .. } => "truncated",
            OpenError::BadMagic => "bad_magic",
            OpenError::UnsupportedVersion { .. } => "unsupported_version",
            OpenError::UnsupportedSuite { .. } => "unsupported_suite",
            OpenError::UnknownKey { .. } => "unknown_key",
            OpenError::Tampered => "tampered",
            OpenError::TooLarge { .. } => "too_large",
            OpenError::MalformedPayload { .. } => "malformed_payload",
        }
    }
}

/// Reads and checks the header of `record` without any key: tells which key it needs and
/// refuses foreign, oversized, truncated or unsupported files early.
pub fn read_header(record: &[u8]) -> Result<RecordHeader, OpenError> {
    RecordHeader::parse(record)
}

/// Opens `record` with whichever of `keys` has the record's key id (several keys may be
/// given during key rotation).
pub fn open(record: &[u8], keys: &[SecretKey]) -> Result<Change, OpenError> {
    let header = RecordHeader::parse(record)?;
    let key = keys
        .iter()
        .find(|key| key.public_key().key_id() == header.key_id)
        .ok_or(OpenError::UnknownKey { key_id: header.key_id })?;
    let min = HEADER_LEN + MIN_PAYLOAD_LEN + TAG_LEN;
    if record.len() < min {
        return Err(OpenError::Truncated { len: record.len(), min });
    }
    let (aad, sealed) = record.split_at(HEADER_LEN);
    let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_LEN);

    let encapped_key = <Kem as hpke::Kem>::EncappedKey::from_bytes(&header.encapsulated_key)
        .map_err(|_| OpenError::Tampered)?;
    let tag = AeadTag::<Aead>::from_bytes(tag).map_err(|_| OpenError::Tampered)?;
    // Decrypted in place in a wiping buffer, so the clear payload has no other copy.
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    // Every HPKE failure here (an encapsulated key that is a low-order point, or the AEAD
    // check) means the bytes are not what the sealer wrote.
    hpke::single_shot_open_in_place_detached::<Aead, Kdf, Kem>(
        &OpModeR::Base,
        &key.to_hpke(),
        &encapped_key,
        HPKE_INFO,
        &mut buffer,
        aad,
        &tag,
    )
    .map_err(|_| OpenError::Tampered)?;
    payload::decode(&buffer).map_err(|(field, problem)| OpenError::MalformedPayload { field, problem })
}
