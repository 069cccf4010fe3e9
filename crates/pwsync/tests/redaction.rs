//! Every type that holds a password or a credential prints a redaction when debug-formatted,
//! plainly and with `{:#?}`, alone and nested in the values that carry it (a change inside a
//! batch, a request inside a vector): a stray `?` in a log statement cannot leak one.
//!
//! Types without a `Debug` implementation cannot be formatted at all and need no test; the
//! private ones (the Graph credential, the LDAP target's bind material) have their own unit
//! tests beside them.

use pwsync_proto::{ChangeBatch, Identity, SecretString, WireChange};
use pwsync_seal::{Change, ChangeId, Password, SecretKey, SourceKind};
use pwsync_server::targets::ApplyRequest;
use pwsync_spool::CaptureInput;

/// A password as the tests use them: random part, non-ASCII, JSON-special characters.
fn canary() -> String {
    format!("pwsync-canary-{:016x}-Pä密\"\\!", rand::random::<u64>())
}

/// The canary must not appear in either debug form; "redacted" must.
fn assert_redacted(what: &str, secret: &str, plain: String, pretty: String) {
    for (form, text) in [("{:?}", &plain), ("{:#?}", &pretty)] {
        assert!(!text.contains(secret), "{what} {form} shows the secret: {text}");
        // Nor a recognisable part of it (the random middle) in an escaped form.
        let random_part = &secret["pwsync-canary-".len()..][..16];
        assert!(!text.contains(random_part), "{what} {form} shows part of the secret: {text}");
        assert!(text.contains("redacted"), "{what} {form} does not say it redacted: {text}");
    }
}

macro_rules! check {
    ($what:expr, $secret:expr, $value:expr) => {{
        let value = $value;
        assert_redacted($what, &$secret, format!("{value:?}"), format!("{value:#?}"));
    }};
}

fn wire_change(password: &str) -> WireChange {
    WireChange {
        id: "0123456789abcdef0123456789abcdef".into(),
        domain: "corp.example".into(),
        account: "alice".into(),
        identity: Identity::default(),
        password: SecretString::new(password.into()),
        captured_at_ns: 1,
        origin: "dc1".into(),
        origin_seq: 1,
        source: "generic".into(),
        operator_retry: false,
        directory_version: None,
    }
}

#[test]
fn the_hook_and_spool_types_redact_the_password() {
    let secret = canary();
    check!("Password", secret, Password::new(secret.clone()));
    let change = Change {
        id: ChangeId::random(),
        account: "alice".into(),
        upn: Some("alice@corp.example".into()),
        password: Password::new(secret.clone()),
        captured_at_ns: 1,
        origin: "dc1".into(),
        origin_seq: 7,
        source: SourceKind::Generic,
    };
    check!("seal::Change", secret, change.clone());
    check!("Vec<seal::Change>", secret, vec![change]);
    check!(
        "CaptureInput",
        secret,
        CaptureInput {
            account: "alice".into(),
            upn: None,
            password: Password::new(secret.clone()),
            origin: "dc1".into(),
            source: SourceKind::Samba,
        }
    );
}

#[test]
fn the_wire_and_server_types_redact_the_password() {
    let secret = canary();
    check!("SecretString", secret, SecretString::new(secret.clone()));
    check!("WireChange", secret, wire_change(&secret));
    check!("ChangeBatch", secret, ChangeBatch { changes: vec![wire_change(&secret), wire_change(&secret)] });
    check!(
        "ApplyRequest",
        secret,
        ApplyRequest {
            change_id: "0123456789abcdef0123456789abcdef".into(),
            domain: "corp.example".into(),
            account: "alice".into(),
            identity: Identity::default(),
            password: SecretString::new(secret.clone()),
            captured_at_ns: 1,
            origin: "dc1".into(),
        }
    );
}

#[test]
fn key_and_credential_types_redact_their_secret() {
    // The spool secret key: its bytes as hex must not show.
    let key = SecretKey::generate();
    let hex: String = key.expose_bytes().iter().map(|byte| format!("{byte:02x}")).collect();
    for text in [format!("{key:?}"), format!("{key:#?}")] {
        assert!(!text.contains(&hex[..16]), "SecretKey shows its bytes: {text}");
        assert!(text.contains("redacted"), "SecretKey does not say it redacted: {text}");
    }

    // The LDAP bind password, read from its file as the client and the ldap target do.
    let secret = canary();
    let dir = std::env::temp_dir().join(format!("pwsync-redaction-{}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bind.secret");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let bind = pwsync_ldap::BindSecret::read(&file).unwrap();
    assert_eq!(bind.expose(), secret);
    check!("BindSecret", secret, bind);
    std::fs::remove_dir_all(&dir).unwrap();
}
