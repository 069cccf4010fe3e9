//! Shared fixtures for the pwsync-seal integration tests. Must never hold a real secret.

#![allow(dead_code)]

use pwsync_seal::{Change, ChangeId, Password, SourceKind};

/// The non-ASCII password the brief asks every round trip to survive.
pub const NON_ASCII_PASSWORD: &str = "Pässwörd-密码-1!";

pub fn sample_change() -> Change {
    Change {
        id: ChangeId::random(),
        account: "jürgen.o'brien".to_owned(),
        upn: Some("juergen@example.test".to_owned()),
        password: Password::new(NON_ASCII_PASSWORD.to_owned()),
        captured_at_ns: 1_790_000_000_123_456_789,
        origin: "dc1.example.test".to_owned(),
        origin_seq: 7,
        source: SourceKind::Samba,
    }
}

/// Field-by-field equality (`Change` has no `PartialEq`, to keep password comparison out
/// of production code).
pub fn assert_same_change(actual: &Change, expected: &Change) {
    assert_eq!(actual.id, expected.id);
    assert_eq!(actual.account, expected.account);
    assert_eq!(actual.upn, expected.upn);
    assert!(actual.password.expose() == expected.password.expose(), "passwords differ");
    assert_eq!(actual.captured_at_ns, expected.captured_at_ns);
    assert_eq!(actual.origin, expected.origin);
    assert_eq!(actual.origin_seq, expected.origin_seq);
    assert_eq!(actual.source, expected.source);
}
