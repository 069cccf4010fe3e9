//! The whole hook: capture writes a record that the client's secret key opens to the
//! same change.

mod common;

use common::TempDir;
use pwsync_seal::{open, Password, SecretKey, SourceKind};
use pwsync_spool::{CaptureError, CaptureInput, Spool};

fn input(account: &str) -> CaptureInput {
    CaptureInput {
        account: account.to_owned(),
        upn: Some(format!("{}@example.test", account)),
        password: Password::new("Pässwörd-密码-1!".to_owned()),
        origin: "dc1.example.test".to_owned(),
        source: SourceKind::Samba,
    }
}

#[test]
fn capture_then_open_round_trips() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    let key = SecretKey::generate();
    let before =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    let first = spool.capture(key.public_key(), input("alice")).unwrap();
    let second = spool.capture(key.public_key(), input("bob")).unwrap();
    assert!(first.captured_at_ns >= before);
    assert!(second.captured_at_ns > first.captured_at_ns);
    assert_eq!((first.origin_seq, second.origin_seq), (1, 2));

    let pending = spool.list_pending().unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].path, first.path);
    assert_eq!(pending[0].id, first.id);
    let name = pending[0].name.clone();
    assert!(!name.contains("alice"), "file names never carry the account");

    let change = open(&spool.read(&pending[0]).unwrap(), std::slice::from_ref(&key)).unwrap();
    assert_eq!(change.id, first.id);
    assert_eq!(change.account, "alice");
    assert_eq!(change.upn.as_deref(), Some("alice@example.test"));
    assert_eq!(change.password.expose(), "Pässwörd-密码-1!");
    assert_eq!(change.captured_at_ns, first.captured_at_ns);
    assert_eq!(change.origin, "dc1.example.test");
    assert_eq!(change.origin_seq, 1);
    assert_eq!(change.source, SourceKind::Samba);

    let raw = std::fs::read(&first.path).unwrap();
    assert!(!raw.windows(5).any(|w| w == b"alice"), "content is sealed");
}

#[test]
fn an_invalid_change_is_refused_and_nothing_is_written() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    let key = SecretKey::generate();
    let mut bad = input("alice");
    bad.account = String::new();
    let error = spool.capture(key.public_key(), bad).unwrap_err();
    assert!(matches!(error, CaptureError::Seal(_)), "{:?}", error);
    assert!(error.to_string().contains("account"), "{}", error);
    assert!(spool.list_pending().unwrap().is_empty());
    assert!(spool.list_strays().unwrap().is_empty());
}
