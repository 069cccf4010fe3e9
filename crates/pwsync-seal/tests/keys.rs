//! Key file text: round trips, tolerated whitespace, named errors, and no secret in any
//! `Debug` or error output.

mod common;

use pwsync_seal::{KeyFileError, Password, PublicKey, SecretKey};

const SECRET_HEX: &str = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
const PUBLIC_HEX: &str = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";

#[test]
fn secret_key_derives_the_rfc_9180_public_key() {
    // RFC 9180 A.2.1 skRm / pkRm.
    let secret = SecretKey::parse_file_text(&format!("pwsync-spool-secret-key-v1 {}\n", SECRET_HEX)).unwrap();
    assert_eq!(secret.public_key().to_file_text(), format!("pwsync-spool-public-key-v1 {}\n", PUBLIC_HEX));
}

#[test]
fn file_texts_round_trip() {
    let secret = SecretKey::generate();
    let text = secret.to_file_text();
    assert!(text.starts_with("pwsync-spool-secret-key-v1 ") && text.ends_with('\n'));
    assert_eq!(text.len(), 27 + 64 + 1);
    let again = SecretKey::parse_file_text(&text).unwrap();
    assert_eq!(again.expose_bytes(), secret.expose_bytes());
    let public = PublicKey::parse_file_text(&secret.public_key().to_file_text()).unwrap();
    assert_eq!(&public, secret.public_key());
    assert_eq!(public.key_id(), secret.public_key().key_id());
}

#[test]
fn trailing_whitespace_and_uppercase_hex_are_accepted() {
    let text = format!("pwsync-spool-public-key-v1 {}  \r\n\n", PUBLIC_HEX.to_uppercase());
    assert_eq!(PublicKey::parse_file_text(&text).unwrap().to_bytes()[..2], [0x43, 0x10]);
}

#[test]
fn named_errors() {
    let public_line = format!("pwsync-spool-public-key-v1 {}", PUBLIC_HEX);
    let secret_line = format!("pwsync-spool-secret-key-v1 {}", SECRET_HEX);
    assert_eq!(
        PublicKey::parse_file_text(&secret_line).unwrap_err(),
        KeyFileError::WrongKind { expected: "a public key", found: "a secret key" }
    );
    assert_eq!(
        SecretKey::parse_file_text(&public_line).unwrap_err(),
        KeyFileError::WrongKind { expected: "a secret key", found: "a public key" }
    );
    assert!(matches!(
        PublicKey::parse_file_text("ssh-ed25519 AAAA").unwrap_err(),
        KeyFileError::UnknownFormat { .. }
    ));
    assert!(matches!(PublicKey::parse_file_text("").unwrap_err(), KeyFileError::UnknownFormat { .. }));
    assert_eq!(
        PublicKey::parse_file_text("pwsync-spool-public-key-v1 abcd").unwrap_err(),
        KeyFileError::BadLength { found: 4 }
    );
    assert_eq!(
        PublicKey::parse_file_text("pwsync-spool-public-key-v1").unwrap_err(),
        KeyFileError::BadLength { found: 0 }
    );
    let mut bad_hex = public_line.clone();
    bad_hex.replace_range(27 + 10..27 + 11, "x");
    assert_eq!(PublicKey::parse_file_text(&bad_hex).unwrap_err(), KeyFileError::BadHex { position: 10 });
    for extra in [
        format!(" {}", public_line),
        format!("{}\nsecond line", public_line),
        format!("{} comment", public_line),
        format!("pwsync-spool-public-key-v1  {}", PUBLIC_HEX),
    ] {
        assert_eq!(
            PublicKey::parse_file_text(&extra).unwrap_err(),
            KeyFileError::ExtraContent,
            "{:?}",
            extra
        );
    }
}

#[test]
fn secret_key_errors_never_echo_the_key() {
    let mut almost = format!("pwsync-spool-secret-key-v1 {}", SECRET_HEX);
    almost.push('z');
    let error = SecretKey::parse_file_text(&almost).unwrap_err();
    let shown = format!("{} {:?}", error, error);
    assert!(!shown.contains(&SECRET_HEX[..16]), "{}", shown);
}

#[test]
fn debug_output_never_contains_secrets() {
    let secret = SecretKey::generate();
    let secret_hex: String = secret.expose_bytes().iter().map(|byte| format!("{:02x}", byte)).collect();
    let shown = format!("{:?} {:#?}", secret, secret);
    assert!(!shown.contains(&secret_hex[..16]), "{}", shown);
    assert!(shown.contains("redacted"));
    assert!(shown.contains(&secret.public_key().key_id().to_string()));

    let mut change = common::sample_change();
    change.password = Password::new("Zq-very-secret-Qz".to_owned());
    let shown = format!("{:?} {:#?}", change, change);
    assert!(!shown.contains("Zq-very"), "{}", shown);
    assert!(shown.contains("Password(<redacted>)"));
}
