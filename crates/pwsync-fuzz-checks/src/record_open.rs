//! `record_open`: spool records, from the bytes of a file to a [`Change`], with real keys.
//!
//! The first input byte picks what the rest is:
//! - `0`: a whole record, opened with two real secret keys (as during key rotation);
//! - `1`: a payload, sealed here with HPKE to a real key so that the fuzzer reaches the payload
//!   decoder behind the AEAD, which raw bytes never pass;
//! - `2`: a file name and its content (split at the first NUL), dropped into a real spool
//!   directory that the spool then lists, reads, opens, fails and purges.
//!
//! Properties: only named errors; a payload that decodes is exactly what sealing its change
//! writes again; a name from outside never makes the spool touch a file outside its directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use pwsync_seal::{
    open, read_header, Change, OpenError, SecretKey, AEAD_ID, HPKE_INFO, KDF_ID, KEM_ID, MAGIC,
};
use pwsync_spool::Spool;

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 3 {
        0 => open_raw_record(rest),
        1 => open_sealed_payload(rest),
        _ => scan_spool(rest),
    }
}

/// Two fixed keys, so that corpus records sealed to them stay openable.
pub fn keys() -> &'static [SecretKey] {
    static KEYS: OnceLock<Vec<SecretKey>> = OnceLock::new();
    KEYS.get_or_init(|| vec![SecretKey::from_bytes([0x51; 32]), SecretKey::from_bytes([0x52; 32])])
}

fn open_raw_record(record: &[u8]) {
    let header = read_header(record);
    let opened = open(record, keys());
    if let Err(header_error) = &header {
        assert_eq!(opened.as_ref().err(), Some(header_error), "open disagrees with read_header");
    }
    if let Ok(change) = opened {
        // A record that opens with a real key was sealed by someone holding the public key:
        // its change must seal again and open to the same change.
        let key =
            keys().iter().find(|key| Ok(key.public_key().key_id()) == header.as_ref().map(|h| h.key_id));
        let key = key.expect("a record opened with a key that its header does not name");
        let again = pwsync_seal::seal(&change, key.public_key()).expect("an opened change must seal again");
        assert_same_change(&open(&again, keys()).expect("a resealed change must open"), &change);
    }
}

fn open_sealed_payload(payload: &[u8]) {
    let key = &keys()[0];
    let record = seal_payload(payload, key);
    match open(&record, keys()) {
        Ok(change) => {
            // Decoding is strict, so the payload is the one canonical encoding of its change.
            let again =
                pwsync_seal::seal(&change, key.public_key()).expect("a decoded change must seal again");
            assert!(
                decrypt_payload(&again, key) == payload,
                "decoded payload is not re-encoded byte for byte"
            );
        }
        Err(OpenError::MalformedPayload { .. }) => {}
        // Shorter than the smallest payload: refused before decryption, by length alone.
        Err(OpenError::Truncated { len, min }) if len == record.len() && len < min => {}
        Err(OpenError::TooLarge { .. }) if record.len() > pwsync_seal::MAX_RECORD_LEN => {}
        Err(other) => panic!("a correctly sealed payload gave {other:?}"),
    }
}

/// The record a sealer holding `key`'s public key writes for these payload bytes.
pub fn seal_payload(payload: &[u8], key: &SecretKey) -> Vec<u8> {
    let public = <Kem as hpke::Kem>::PublicKey::from_bytes(&key.public_key().to_bytes()).expect("a real key");
    let (encapped, mut context) =
        hpke::setup_sender::<Aead, Kdf, Kem, _>(&OpModeS::Base, &public, HPKE_INFO, &mut rand_core::OsRng)
            .expect("HPKE setup to a real key");
    let mut header = Vec::new();
    header.extend_from_slice(MAGIC);
    header.push(pwsync_seal::RECORD_VERSION);
    for id in [KEM_ID, KDF_ID, AEAD_ID] {
        header.extend_from_slice(&id.to_be_bytes());
    }
    header.extend_from_slice(key.public_key().key_id().as_bytes());
    header.extend_from_slice(&encapped.to_bytes());
    let mut sealed = payload.to_vec();
    let tag = context.seal_in_place_detached(&mut sealed, &header).expect("HPKE seal");
    let mut record = header;
    record.extend_from_slice(&sealed);
    record.extend_from_slice(&tag.to_bytes());
    record
}

fn decrypt_payload(record: &[u8], key: &SecretKey) -> Vec<u8> {
    let header_len = pwsync_seal::HEADER_LEN;
    let private = <Kem as hpke::Kem>::PrivateKey::from_bytes(key.expose_bytes()).expect("a real key");
    let encapped =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(&record[header_len - 32..header_len]).expect("enc");
    let (ciphertext, tag) = record[header_len..].split_at(record.len() - header_len - 16);
    let tag = hpke::aead::AeadTag::<Aead>::from_bytes(tag).expect("tag");
    let mut buffer = ciphertext.to_vec();
    hpke::single_shot_open_in_place_detached::<Aead, Kdf, Kem>(
        &OpModeR::Base,
        &private,
        &encapped,
        HPKE_INFO,
        &mut buffer,
        &record[..header_len],
        &tag,
    )
    .expect("our own record opens");
    buffer
}

fn assert_same_change(actual: &Change, expected: &Change) {
    assert_eq!(actual.id, expected.id);
    assert_eq!(actual.account, expected.account);
    assert_eq!(actual.upn, expected.upn);
    assert!(actual.password.expose() == expected.password.expose(), "passwords differ");
    assert_eq!(actual.captured_at_ns, expected.captured_at_ns);
    assert_eq!(actual.origin, expected.origin);
    assert_eq!(actual.origin_seq, expected.origin_seq);
    assert_eq!(actual.source, expected.source);
}

/// A scratch directory of this process: a spool inside, and a file beside the spool that no
/// spool call may touch.
fn scratch() -> &'static Path {
    static SCRATCH: OnceLock<PathBuf> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("pwsync-fuzz-spool-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

fn scan_spool(input: &[u8]) {
    let (name, content) = match input.iter().position(|&byte| byte == 0) {
        Some(at) => (&input[..at], &input[at + 1..]),
        None => (input, &[][..]),
    };
    let Ok(name) = std::str::from_utf8(name) else { return };
    let root = scratch().join("spool");
    let outside = scratch().join("outside");
    let _ = fs::remove_dir_all(&root);
    fs::write(&outside, b"must survive").expect("sentinel file");
    let spool = Spool::open(&root).expect("a fresh spool opens");

    // A plain file name as a capture hook or a stray process might leave it.
    let plain = !name.is_empty() && name != "." && name != ".." && !name.contains('/') && name.len() < 200;
    if plain {
        let _ = fs::write(root.join(name), content);
        let failed = root.join(pwsync_spool::FAILED_DIR);
        let _ = fs::write(failed.join(name), content);
        let _ = fs::write(failed.join(format!("{name}.reason")), content);
    }
    for record in spool.list_pending().expect("list pending") {
        match spool.read(&record) {
            Ok(bytes) => {
                assert!(bytes == content, "the spool read other bytes than the file holds");
                let _ = open(&bytes, keys());
            }
            Err(pwsync_spool::SpoolError::RecordTooLarge { .. }) => {}
            Err(other) => panic!("reading a listed record: {other}"),
        }
    }
    let _ = spool.list_strays().expect("list strays");
    let _ = spool.list_failed().expect("list failed");
    let _ = spool.stats().expect("stats");
    // Names typed by an operator: refused unless canonical, and never a path out of the spool.
    let _ = spool.retry_failed(name);
    let _ = spool.purge_failed(name);
    assert!(
        fs::read(&outside).is_ok_and(|bytes| bytes == b"must survive"),
        "a spool call touched a file outside"
    );
}
