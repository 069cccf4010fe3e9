//! Loading our own certificate and key: every misconfiguration is a named error that says what
//! to do, before any connection is attempted.

mod common;

use common::{Pki, TempDir};
use pwsync_tls::{CertificateRole, TlsError, Validity};
use time::{Duration, OffsetDateTime};

#[test]
fn expired_own_client_certificate_is_refused_with_the_fix() {
    let pki = Pki::new("Test Deployment CA");
    let now = OffsetDateTime::now_utc();
    let expired =
        pki.issue_client("dc-expired", Validity::between(now - Duration::days(30), now - Duration::days(2)));

    let error =
        pwsync_tls::client_config(&pki.ca_cert, &expired.certificate, &expired.private_key).unwrap_err();

    match &error {
        TlsError::CertificateExpired { path, not_after, role } => {
            assert_eq!(path, &expired.certificate);
            assert_eq!(not_after.unix_timestamp(), expired.not_after.unix_timestamp());
            assert_eq!(*role, CertificateRole::Client);
        }
        other => panic!("expected CertificateExpired, got {other:?}"),
    }
    assert!(error.to_string().contains("issue a new one with `pwsync pki issue-client`"), "{error}");
}

#[test]
fn expired_own_server_certificate_is_refused() {
    let pki = Pki::new("Test Deployment CA");
    let now = OffsetDateTime::now_utc();
    let expired = pwsync_tls::issue_server(
        &pki.ca_dir,
        "old-sync",
        &["127.0.0.1".to_owned()],
        &pki.dir.path().join("server"),
        Validity::between(now - Duration::days(30), now - Duration::days(2)),
    )
    .unwrap();

    let error =
        pwsync_tls::server_config(&expired.certificate, &expired.private_key, &pki.ca_cert).unwrap_err();

    assert!(matches!(error, TlsError::CertificateExpired { role: CertificateRole::Server, .. }), "{error:?}");
    assert!(error.to_string().contains("pwsync pki issue-server"), "{error}");
}

#[test]
fn not_yet_valid_own_certificate_is_refused() {
    let pki = Pki::new("Test Deployment CA");
    let now = OffsetDateTime::now_utc();
    let future =
        pki.issue_client("dc-future", Validity::between(now + Duration::days(2), now + Duration::days(30)));

    let error =
        pwsync_tls::client_config(&pki.ca_cert, &future.certificate, &future.private_key).unwrap_err();

    assert!(matches!(error, TlsError::CertificateNotYetValid { .. }), "{error:?}");
}

#[test]
fn own_certificate_from_another_ca_is_refused() {
    let pki = Pki::new("Test Deployment CA");
    let other = Pki::new("Some Other CA");

    let client_error =
        pwsync_tls::client_config(&pki.ca_cert, &other.client.certificate, &other.client.private_key)
            .unwrap_err();
    let server_error =
        pwsync_tls::server_config(&other.server.certificate, &other.server.private_key, &pki.ca_cert)
            .unwrap_err();

    match client_error {
        TlsError::NotIssuedByCa { path, ca_path } => {
            assert_eq!(path, other.client.certificate);
            assert_eq!(ca_path, pki.ca_cert);
        }
        other => panic!("expected NotIssuedByCa, got {other:?}"),
    }
    assert!(matches!(server_error, TlsError::NotIssuedByCa { .. }), "{server_error:?}");
}

#[test]
fn a_server_certificate_cannot_serve_as_a_client_certificate() {
    let pki = Pki::new("Test Deployment CA");

    let error = pwsync_tls::client_config(&pki.ca_cert, &pki.server.certificate, &pki.server.private_key)
        .unwrap_err();

    assert!(
        matches!(error, TlsError::WrongCertificatePurpose { role: CertificateRole::Client, .. }),
        "{error:?}"
    );
}

#[test]
fn mismatched_private_key_is_refused() {
    let pki = Pki::new("Test Deployment CA");
    let second = pki.issue_client("dc2", Validity::default());

    let error =
        pwsync_tls::client_config(&pki.ca_cert, &pki.client.certificate, &second.private_key).unwrap_err();

    match error {
        TlsError::KeyMismatch { cert_path, key_path } => {
            assert_eq!(cert_path, pki.client.certificate);
            assert_eq!(key_path, second.private_key);
        }
        other => panic!("expected KeyMismatch, got {other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn private_key_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let pki = Pki::new("Test Deployment CA");
    std::fs::set_permissions(&pki.client.private_key, std::fs::Permissions::from_mode(0o644)).unwrap();

    let error = pwsync_tls::client_config(&pki.ca_cert, &pki.client.certificate, &pki.client.private_key)
        .unwrap_err();

    match &error {
        TlsError::InsecureKeyPermissions { path, mode } => {
            assert_eq!(path, &pki.client.private_key);
            assert_eq!(*mode, 0o644);
        }
        other => panic!("expected InsecureKeyPermissions, got {other:?}"),
    }
    assert!(error.to_string().contains("chmod 600"), "{error}");
}

#[test]
fn missing_files_are_read_errors_naming_the_path() {
    let pki = Pki::new("Test Deployment CA");
    let missing = pki.dir.path().join("nope.pem");

    let error = pwsync_tls::client_config(&pki.ca_cert, &missing, &pki.client.private_key).unwrap_err();

    match error {
        TlsError::Read { path, .. } => assert_eq!(path, missing),
        other => panic!("expected Read, got {other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn files_without_pem_items_are_named_errors() {
    use std::os::unix::fs::PermissionsExt;
    let pki = Pki::new("Test Deployment CA");
    let dir = TempDir::new();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "nothing to see here\n").unwrap();
    // A certificate where the key should be: no private key in the file.
    let key_is_a_certificate = dir.path().join("cert-as.key");
    std::fs::copy(&pki.client.certificate, &key_is_a_certificate).unwrap();
    std::fs::set_permissions(&key_is_a_certificate, std::fs::Permissions::from_mode(0o600)).unwrap();

    let no_certificate =
        pwsync_tls::client_config(&pki.ca_cert, &empty, &pki.client.private_key).unwrap_err();
    let no_ca = pwsync_tls::client_config_without_identity(&empty).unwrap_err();
    let no_key =
        pwsync_tls::client_config(&pki.ca_cert, &pki.client.certificate, &key_is_a_certificate).unwrap_err();

    assert!(
        matches!(no_certificate, TlsError::NoCertificateInFile { ref path } if *path == empty),
        "{no_certificate:?}"
    );
    assert!(matches!(no_ca, TlsError::NoCertificateInFile { .. }), "{no_ca:?}");
    assert!(
        matches!(no_key, TlsError::NoPrivateKeyInFile { ref path } if *path == key_is_a_certificate),
        "{no_key:?}"
    );
}

#[test]
fn broken_pem_is_a_named_error_that_does_not_quote_the_file() {
    let pki = Pki::new("Test Deployment CA");
    let dir = TempDir::new();
    let broken = dir.path().join("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nSECRETSECRET!!!\n-----END CERTIFICATE-----\n")
        .unwrap();

    let error = pwsync_tls::client_config(&pki.ca_cert, &broken, &pki.client.private_key).unwrap_err();

    assert!(matches!(error, TlsError::MalformedPem { .. }), "{error:?}");
    assert!(!error.to_string().contains("SECRET"), "{error}");
}
