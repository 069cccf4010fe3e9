//! Sealing then opening gives back the same change, for every source kind, with and without
//! UPN, at the field limits, and with several keys during rotation.

mod common;

use common::{assert_same_change, sample_change};
use pwsync_seal::{
    open, read_header, seal, OpenError, Password, SecretKey, SourceKind, HEADER_LEN, RECORD_VERSION,
};

#[test]
fn non_ascii_change_round_trips() {
    let key = SecretKey::generate();
    let change = sample_change();
    let record = seal(&change, key.public_key()).unwrap();
    let opened = open(&record, std::slice::from_ref(&key)).unwrap();
    assert_same_change(&opened, &change);
    assert_eq!(opened.password.expose(), "Pässwörd-密码-1!");
}

#[test]
fn every_source_kind_and_missing_upn_round_trip() {
    let key = SecretKey::generate();
    for source in SourceKind::ALL {
        let mut change = sample_change();
        change.source = source;
        change.upn = None;
        change.captured_at_ns = -5; // the format itself allows any i64
        change.origin_seq = u64::MAX;
        let record = seal(&change, key.public_key()).unwrap();
        assert_same_change(&open(&record, std::slice::from_ref(&key)).unwrap(), &change);
    }
}

#[test]
fn largest_fields_round_trip() {
    let key = SecretKey::generate();
    let mut change = sample_change();
    change.account = "a".repeat(256);
    change.upn = Some("u".repeat(1024));
    change.password = Password::new("密".repeat(341)); // 1023 bytes
    change.origin = "o".repeat(255);
    let record = seal(&change, key.public_key()).unwrap();
    assert_same_change(&open(&record, std::slice::from_ref(&key)).unwrap(), &change);
}

#[test]
fn record_is_header_then_ciphertext_and_hides_the_payload() {
    let key = SecretKey::generate();
    let change = sample_change();
    let record = seal(&change, key.public_key()).unwrap();
    let header = read_header(&record).unwrap();
    assert_eq!(header.version, RECORD_VERSION);
    assert_eq!(header.key_id, key.public_key().key_id());
    assert_eq!(&record[..HEADER_LEN], &header.to_bytes()[..]);
    let contains = |needle: &[u8]| record.windows(needle.len()).any(|window| window == needle);
    assert!(!contains("Pässwörd".as_bytes()));
    assert!(!contains(b"dc1.example.test"));
    assert!(!contains(change.id.as_bytes()));
}

#[test]
fn sealing_twice_gives_different_records() {
    let key = SecretKey::generate();
    let change = sample_change();
    assert_ne!(seal(&change, key.public_key()).unwrap(), seal(&change, key.public_key()).unwrap());
}

#[test]
fn rotation_picks_the_key_named_in_the_header() {
    let old_key = SecretKey::generate();
    let new_key = SecretKey::generate();
    let to_old = sample_change();
    let mut to_new = sample_change();
    to_new.account = "bob".to_owned();
    let old_record = seal(&to_old, old_key.public_key()).unwrap();
    let new_record = seal(&to_new, new_key.public_key()).unwrap();
    let both = [new_key, old_key];
    assert_same_change(&open(&old_record, &both).unwrap(), &to_old);
    assert_same_change(&open(&new_record, &both).unwrap(), &to_new);
}

#[test]
fn wrong_key_is_unknown_key() {
    let sealer = SecretKey::generate();
    let other = SecretKey::generate();
    let record = seal(&sample_change(), sealer.public_key()).unwrap();
    let error = open(&record, &[other]).unwrap_err();
    assert_eq!(error, OpenError::UnknownKey { key_id: sealer.public_key().key_id() });
    assert_eq!(error.code(), "unknown_key");
    assert_eq!(open(&record, &[]).unwrap_err().code(), "unknown_key");
}
