//! [`RecordHeader`]: the clear-text, authenticated start of every record (magic, format
//! version, HPKE suite, recipient key id, encapsulated key), and the record size limit.
//!
//! The header is read without any key (to route a record to the right key, or report a
//! foreign file), so it must never hold anything secret; it is the AEAD's associated data,
//! so any change to it makes the record fail to open.

use crate::suite::{AEAD_ID, KDF_ID, KEM_ID, KEY_LEN};
use crate::{KeyId, OpenError};

/// First bytes of every record.
pub const MAGIC: &[u8; 6] = b"PWSYNC";
/// The record format version this crate writes and reads.
pub const RECORD_VERSION: u8 = 1;
/// Header length of a version-1 record: magic, version, three suite ids, key id,
/// encapsulated key.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + 2 + 2 + 2 + 8 + KEY_LEN;
/// Largest record accepted (64 KiB). Larger input is refused before any decryption.
pub const MAX_RECORD_LEN: usize = 64 * 1024;

const VERSION_AT: usize = MAGIC.len();
const KEM_AT: usize = VERSION_AT + 1;
const KDF_AT: usize = KEM_AT + 2;
const AEAD_AT: usize = KDF_AT + 2;
const KEY_ID_AT: usize = AEAD_AT + 2;
const ENC_AT: usize = KEY_ID_AT + 8;

/// The parsed header of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// Record format version (1).
    pub version: u8,
    /// HPKE KEM id (0x0020).
    pub kem_id: u16,
    /// HPKE KDF id (0x0001).
    pub kdf_id: u16,
    /// HPKE AEAD id (0x0003).
    pub aead_id: u16,
    /// Id of the public key the record was sealed to.
    pub key_id: KeyId,
    /// HPKE encapsulated key (the sender's ephemeral X25519 public key).
    pub encapsulated_key: [u8; 32],
}

impl RecordHeader {
    /// The version-1 header for a record sealed to `key_id` with this encapsulated key.
    pub(crate) fn new(key_id: KeyId, encapsulated_key: [u8; 32]) -> RecordHeader {
        RecordHeader {
            version: RECORD_VERSION,
            kem_id: KEM_ID,
            kdf_id: KDF_ID,
            aead_id: AEAD_ID,
            key_id,
            encapsulated_key,
        }
    }

    /// The header's bytes, exactly as they start the record and form the AEAD's
    /// associated data.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0u8; HEADER_LEN];
        bytes[..VERSION_AT].copy_from_slice(MAGIC);
        bytes[VERSION_AT] = self.version;
        bytes[KEM_AT..KDF_AT].copy_from_slice(&self.kem_id.to_be_bytes());
        bytes[KDF_AT..AEAD_AT].copy_from_slice(&self.kdf_id.to_be_bytes());
        bytes[AEAD_AT..KEY_ID_AT].copy_from_slice(&self.aead_id.to_be_bytes());
        bytes[KEY_ID_AT..ENC_AT].copy_from_slice(self.key_id.as_bytes());
        bytes[ENC_AT..].copy_from_slice(&self.encapsulated_key);
        bytes
    }

    /// Parses and checks the header at the start of `record`. Checks run in byte order, so
    /// the error names the first thing wrong: a foreign file is `bad_magic` even when it is
    /// short, a newer record is `unsupported_version` before its suite is looked at.
    pub(crate) fn parse(record: &[u8]) -> Result<RecordHeader, OpenError> {
        if record.len() > MAX_RECORD_LEN {
            return Err(OpenError::TooLarge { len: record.len(), max: MAX_RECORD_LEN });
        }
        let magic_part = &record[..record.len().min(MAGIC.len())];
        if magic_part != &MAGIC[..magic_part.len()] {
            return Err(OpenError::BadMagic);
        }
        if let Some(&version) = record.get(VERSION_AT) {
            if version != RECORD_VERSION {
                return Err(OpenError::UnsupportedVersion { version });
            }
        }
        if record.len() < HEADER_LEN {
            return Err(OpenError::Truncated { len: record.len(), min: HEADER_LEN });
        }
        let read_u16 = |at: usize| u16::from_be_bytes([record[at], record[at + 1]]);
        let (kem_id, kdf_id, aead_id) = (read_u16(KEM_AT), read_u16(KDF_AT), read_u16(AEAD_AT));
        if (kem_id, kdf_id, aead_id) != (KEM_ID, KDF_ID, AEAD_ID) {
            return Err(OpenError::UnsupportedSuite { kem_id, kdf_id, aead_id });
        }
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&record[KEY_ID_AT..ENC_AT]);
        let mut encapsulated_key = [0u8; 32];
        encapsulated_key.copy_from_slice(&record[ENC_AT..HEADER_LEN]);
        Ok(RecordHeader {
            version: RECORD_VERSION,
            kem_id,
            kdf_id,
            aead_id,
            key_id: KeyId::from_bytes(key_id),
            encapsulated_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        let header = RecordHeader::new(KeyId::from_bytes([1, 2, 3, 4, 5, 6, 7, 8]), [9; 32]);
        let bytes = header.to_bytes();
        assert_eq!(HEADER_LEN, 53);
        assert_eq!(&bytes[..7], b"PWSYNC\x01");
        assert_eq!(&bytes[7..13], &[0x00, 0x20, 0x00, 0x01, 0x00, 0x03]);
        assert_eq!(RecordHeader::parse(&bytes), Ok(header));
    }

    #[test]
    fn short_foreign_file_is_bad_magic_not_truncated() {
        assert_eq!(RecordHeader::parse(b"PK"), Err(OpenError::BadMagic));
        assert_eq!(RecordHeader::parse(b"PWS"), Err(OpenError::Truncated { len: 3, min: HEADER_LEN }));
    }
}
