//! Every `OpenError` variant, and the guarantee that no changed byte anywhere in a record
//! yields a `Change`.

mod common;

use common::sample_change;
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeS, Serializable};
use pwsync_seal::{
    open, read_header, seal, FieldProblem, KeyId, OpenError, PayloadField, RecordHeader, SecretKey, AEAD_ID,
    HEADER_LEN, HPKE_INFO, KDF_ID, KEM_ID, MAX_RECORD_LEN,
};

fn sealed() -> (SecretKey, Vec<u8>) {
    let key = SecretKey::generate();
    let record = seal(&sample_change(), key.public_key()).unwrap();
    (key, record)
}

#[test]
fn truncated() {
    let (key, record) = sealed();
    let keys = [key];
    for cut in [7, HEADER_LEN - 1, HEADER_LEN, HEADER_LEN + 20] {
        let error = open(&record[..cut], &keys).unwrap_err();
        assert!(matches!(error, OpenError::Truncated { len, .. } if len == cut), "{:?}", error);
        assert_eq!(error.code(), "truncated");
    }
    assert_eq!(read_header(&record[..20]).unwrap_err().code(), "truncated");
}

#[test]
fn cut_ciphertext_above_the_minimum_is_tampered() {
    let (key, record) = sealed();
    assert_eq!(open(&record[..record.len() - 1], &[key]).unwrap_err(), OpenError::Tampered);
}

#[test]
fn bad_magic() {
    let (key, mut record) = sealed();
    record[0] = b'X';
    assert_eq!(open(&record, &[key]).unwrap_err(), OpenError::BadMagic);
    assert_eq!(read_header(b"%PDF-1.7").unwrap_err().code(), "bad_magic");
    assert_eq!(read_header(b"").unwrap_err().code(), "truncated");
}

#[test]
fn unsupported_version() {
    let (key, mut record) = sealed();
    record[6] = 2;
    let error = open(&record, &[key]).unwrap_err();
    assert_eq!(error, OpenError::UnsupportedVersion { version: 2 });
    assert_eq!(error.code(), "unsupported_version");
}

#[test]
fn unsupported_suite() {
    let (key, mut record) = sealed();
    record[12] = 0x01; // AES-128-GCM instead of ChaCha20-Poly1305
    let error = open(&record, &[key]).unwrap_err();
    assert_eq!(error, OpenError::UnsupportedSuite { kem_id: 0x0020, kdf_id: 0x0001, aead_id: 0x0001 });
    assert_eq!(error.code(), "unsupported_suite");
}

#[test]
fn too_large_is_refused_before_anything_else() {
    let key = SecretKey::generate();
    let garbage = vec![0u8; MAX_RECORD_LEN + 1];
    let error = open(&garbage, &[key]).unwrap_err();
    assert_eq!(error, OpenError::TooLarge { len: MAX_RECORD_LEN + 1, max: MAX_RECORD_LEN });
    assert_eq!(error.code(), "too_large");
    assert_eq!(read_header(&garbage).unwrap_err().code(), "too_large");
}

/// A record whose payload is authentic but breaks the format can only come from another
/// writer; build one with hpke directly.
fn seal_raw_payload(key: &SecretKey, payload: &[u8]) -> Vec<u8> {
    let recipient =
        <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(&key.public_key().to_bytes()).unwrap();
    let (enc, mut context) = hpke::setup_sender::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
        &OpModeS::Base,
        &recipient,
        HPKE_INFO,
        &mut rand_core::OsRng,
    )
    .unwrap();
    let mut encapsulated_key = [0u8; 32];
    encapsulated_key.copy_from_slice(&enc.to_bytes());
    let header = RecordHeader {
        version: 1,
        kem_id: KEM_ID,
        kdf_id: KDF_ID,
        aead_id: AEAD_ID,
        key_id: key.public_key().key_id(),
        encapsulated_key,
    }
    .to_bytes();
    let mut record = header.to_vec();
    record.extend_from_slice(&context.seal(payload, &header).unwrap());
    record
}

#[test]
fn malformed_payload_names_the_field_without_content() {
    let key = SecretKey::generate();
    // A valid payload for account "a", password "Zq-secret", origin "o", then a stray byte.
    let mut payload = vec![1u8];
    payload.extend_from_slice(&[0x11; 16]);
    payload.extend_from_slice(&[0, 1, b'a', 0]);
    payload.extend_from_slice(&[0, 9]);
    payload.extend_from_slice(b"Zq-secret");
    payload.extend_from_slice(&5i64.to_be_bytes());
    payload.extend_from_slice(&[0, 1, b'o']);
    payload.extend_from_slice(&1u64.to_be_bytes());
    payload.push(1);
    let good = seal_raw_payload(&key, &payload);
    let keys = [key];
    assert_eq!(open(&good, &keys).unwrap().password.expose(), "Zq-secret");

    payload.push(0xee);
    let error = open(&seal_raw_payload(&keys[0], &payload), &keys).unwrap_err();
    assert_eq!(
        error,
        OpenError::MalformedPayload {
            field: PayloadField::End,
            problem: FieldProblem::TrailingBytes { count: 1 }
        }
    );
    assert_eq!(error.code(), "malformed_payload");
    let shown = format!("{} {:?}", error, error);
    assert!(!shown.contains("Zq"), "{}", shown);
    assert!(shown.contains("end"), "{}", shown);

    let mut bad_password = payload.clone();
    bad_password.pop();
    bad_password[1 + 16 + 4 + 2] = 0xff; // first password byte: invalid UTF-8
    let error = open(&seal_raw_payload(&keys[0], &bad_password), &keys).unwrap_err();
    assert_eq!(
        error,
        OpenError::MalformedPayload { field: PayloadField::Password, problem: FieldProblem::NotUtf8 }
    );
    assert!(!error.to_string().contains("secret"));
}

/// Which error a changed byte at `position` must give: the header is checked in byte order,
/// everything after the key id is only caught by authentication.
fn expected_code(position: usize) -> &'static str {
    match position {
        0..=5 => "bad_magic",
        6 => "unsupported_version",
        7..=12 => "unsupported_suite",
        13..=20 => "unknown_key",
        _ => "tampered",
    }
}

#[test]
fn a_changed_byte_at_every_position_is_an_error_never_a_change() {
    let (key, record) = sealed();
    let keys = [key];
    assert!(open(&record, &keys).is_ok());
    for position in 0..record.len() {
        for mask in [0x01u8, 0x80] {
            let mut changed = record.clone();
            changed[position] ^= mask;
            match open(&changed, &keys) {
                Ok(_) => panic!("byte {} ^ {:#04x} still opened", position, mask),
                Err(error) => assert_eq!(
                    error.code(),
                    expected_code(position),
                    "byte {} ^ {:#04x}: {:?}",
                    position,
                    mask,
                    error
                ),
            }
        }
    }
}

#[test]
fn a_changed_key_id_that_names_another_configured_key_is_tampered() {
    let sealer = SecretKey::generate();
    let other = SecretKey::generate();
    let mut record = seal(&sample_change(), sealer.public_key()).unwrap();
    record[13..21].copy_from_slice(other.public_key().key_id().as_bytes());
    assert_eq!(
        read_header(&record).unwrap().key_id,
        KeyId::from_bytes(*other.public_key().key_id().as_bytes())
    );
    assert_eq!(open(&record, &[sealer, other]).unwrap_err(), OpenError::Tampered);
}
