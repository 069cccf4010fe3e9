//! Creating the CA and issuing certificates: file modes, no overwriting, what goes into the
//! certificates, and named errors for bad input (with nothing written).

mod common;

use std::path::Path;

use common::{Pki, TempDir};
use pwsync_tls::{TlsError, Validity};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn certificate_der(path: &Path) -> Vec<u8> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    CertificateDer::from_pem_file(path).unwrap().to_vec()
}

/// The subject alternative names as strings: "DNS:…", "IP:…", "URI:…".
fn subject_alt_names(certificate: &X509Certificate<'_>) -> Vec<String> {
    let extension = certificate.subject_alternative_name().unwrap().unwrap();
    extension
        .value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(dns) => format!("DNS:{dns}"),
            GeneralName::URI(uri) => format!("URI:{uri}"),
            GeneralName::IPAddress(bytes) => format!("IP:{bytes:?}"),
            other => format!("other:{other:?}"),
        })
        .collect()
}

#[cfg(unix)]
#[test]
fn files_have_the_documented_modes() {
    let pki = Pki::new("Test Deployment CA");

    assert_eq!(mode(&pki.ca_cert), 0o644);
    assert_eq!(mode(&pwsync_tls::ca_private_key_path(&pki.ca_dir)), 0o600);
    assert_eq!(mode(&pki.ca_dir), 0o700);
    assert_eq!(mode(&pki.client.certificate), 0o644);
    assert_eq!(mode(&pki.client.private_key), 0o600);
    assert_eq!(mode(&pki.server.certificate), 0o644);
    assert_eq!(mode(&pki.server.private_key), 0o600);
    assert_eq!(mode(pki.client.certificate.parent().unwrap()), 0o700);
    assert_eq!(mode(pki.server.certificate.parent().unwrap()), 0o700);
}

#[test]
fn init_ca_refuses_to_overwrite_and_leaves_the_ca_intact() {
    let dir = TempDir::new();
    let first = pwsync_tls::init_ca(dir.path(), "First CA", Validity::default()).unwrap();
    let key_before = std::fs::read(&first.private_key).unwrap();
    let cert_before = std::fs::read(&first.certificate).unwrap();

    let error = pwsync_tls::init_ca(dir.path(), "Second CA", Validity::default()).unwrap_err();

    assert!(matches!(error, TlsError::AlreadyExists { .. }), "{error:?}");
    assert_eq!(std::fs::read(&first.private_key).unwrap(), key_before);
    assert_eq!(std::fs::read(&first.certificate).unwrap(), cert_before);
}

#[test]
fn init_ca_refuses_when_only_the_key_exists() {
    let dir = TempDir::new();
    let key_path = pwsync_tls::ca_private_key_path(dir.path());
    std::fs::write(&key_path, "precious").unwrap();

    let error = pwsync_tls::init_ca(dir.path(), "CA", Validity::default()).unwrap_err();

    assert!(matches!(error, TlsError::AlreadyExists { ref path } if *path == key_path), "{error:?}");
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), "precious");
    assert!(!pwsync_tls::ca_certificate_path(dir.path()).exists());
}

#[test]
fn issuing_refuses_to_overwrite_an_existing_certificate() {
    let pki = Pki::new("Test Deployment CA");
    let key_before = std::fs::read(&pki.client.private_key).unwrap();

    let error = pwsync_tls::issue_client(
        &pki.ca_dir,
        "dc1.corp.example.com",
        &["corp.example.com".to_owned()],
        pki.client.certificate.parent().unwrap(),
        Validity::default(),
    )
    .unwrap_err();

    assert!(matches!(error, TlsError::AlreadyExists { .. }), "{error:?}");
    assert_eq!(std::fs::read(&pki.client.private_key).unwrap(), key_before);
}

#[test]
fn ca_certificate_is_a_ca_limited_to_leaf_certificates() {
    let pki = Pki::new("Test Deployment CA");
    let der = certificate_der(&pki.ca_cert);
    let (_, ca) = X509Certificate::from_der(&der).unwrap();

    let constraints = ca.basic_constraints().unwrap().unwrap().value;
    assert!(constraints.ca);
    assert_eq!(constraints.path_len_constraint, Some(0));
    assert_eq!(ca.subject().iter_common_name().next().unwrap().as_str().unwrap(), "Test Deployment CA");
}

#[test]
fn client_certificate_carries_name_domains_and_client_auth_only() {
    let pki = Pki::new("Test Deployment CA");
    let der = certificate_der(&pki.client.certificate);
    let (_, client) = X509Certificate::from_der(&der).unwrap();

    assert_eq!(client.subject().iter_common_name().next().unwrap().as_str().unwrap(), "dc1.corp.example.com");
    assert_eq!(
        subject_alt_names(&client),
        vec![
            "DNS:dc1.corp.example.com",
            "URI:urn:pwsync:domain:child.corp.example.com",
            "URI:urn:pwsync:domain:corp.example.com",
        ]
    );
    let usage = client.extended_key_usage().unwrap().unwrap().value;
    assert!(usage.client_auth);
    assert!(!usage.server_auth);
    assert!(!client.is_ca());
}

#[test]
fn client_name_that_is_no_dns_name_gets_no_dns_san() {
    let pki = Pki::new("Test Deployment CA");
    // An IP address is a valid file and Common Name, but not a DNS name.
    let files = pki.issue_client("10.1.2.3", Validity::default());
    let der = certificate_der(&files.certificate);
    let (_, client) = X509Certificate::from_der(&der).unwrap();

    assert_eq!(subject_alt_names(&client), vec!["URI:urn:pwsync:domain:corp.example.com"]);
}

#[test]
fn server_certificate_carries_dns_and_ip_names_and_server_auth_only() {
    let pki = Pki::new("Test Deployment CA");
    let der = certificate_der(&pki.server.certificate);
    let (_, server) = X509Certificate::from_der(&der).unwrap();

    assert_eq!(
        subject_alt_names(&server),
        vec!["DNS:localhost".to_owned(), format!("IP:{:?}", [127u8, 0, 0, 1])]
    );
    let usage = server.extended_key_usage().unwrap().unwrap().value;
    assert!(usage.server_auth);
    assert!(!usage.client_auth);
    assert!(!server.is_ca());
}

#[test]
fn serial_numbers_are_random_and_reported() {
    let pki = Pki::new("Test Deployment CA");
    let second = pki.issue_client("dc2", Validity::default());

    assert_eq!(pki.client.serial.len(), 32);
    assert_ne!(pki.client.serial, second.serial);
    let der = certificate_der(&second.certificate);
    let (_, certificate) = X509Certificate::from_der(&der).unwrap();
    let hex: String = certificate.raw_serial().iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(hex, second.serial);
}

#[test]
fn bad_issuing_input_gets_named_errors_and_writes_nothing() {
    let pki = Pki::new("Test Deployment CA");
    let out = pki.dir.path().join("rejected");
    let domains = ["corp.example.com".to_owned()];

    let cases: Vec<(TlsError, &str)> = vec![
        (
            pwsync_tls::issue_client(&pki.ca_dir, "../escape", &domains, &out, Validity::default())
                .unwrap_err(),
            "InvalidName",
        ),
        (
            pwsync_tls::issue_client(&pki.ca_dir, "dc9", &[], &out, Validity::default()).unwrap_err(),
            "NoDomains",
        ),
        (
            pwsync_tls::issue_client(
                &pki.ca_dir,
                "dc9",
                &["*.corp.example.com".to_owned()],
                &out,
                Validity::default(),
            )
            .unwrap_err(),
            "InvalidDomain",
        ),
        (
            pwsync_tls::issue_server(&pki.ca_dir, "sync2", &[], &out, Validity::default()).unwrap_err(),
            "NoSubjectAltNames",
        ),
        (
            pwsync_tls::issue_server(
                &pki.ca_dir,
                "sync2",
                &["bad name".to_owned()],
                &out,
                Validity::default(),
            )
            .unwrap_err(),
            "InvalidSubjectAltName",
        ),
        (
            pwsync_tls::issue_client(&pki.ca_dir, "dc9", &domains, &out, Validity::days(0)).unwrap_err(),
            "InvalidValidity",
        ),
    ];

    for (error, expected) in cases {
        assert!(format!("{error:?}").starts_with(expected), "expected {expected}, got {error:?}");
    }
    assert!(!out.exists(), "a refused request created {}", out.display());
}

#[test]
fn issuing_from_a_missing_ca_is_a_read_error() {
    let dir = TempDir::new();
    let missing_ca = dir.path().join("no-ca");

    let error = pwsync_tls::issue_client(
        &missing_ca,
        "dc1",
        &["corp.example.com".to_owned()],
        &dir.path().join("out"),
        Validity::default(),
    )
    .unwrap_err();

    assert!(
        matches!(error, TlsError::Read { ref path, .. } if *path == pwsync_tls::ca_certificate_path(&missing_ca)),
        "{error:?}"
    );
}

#[cfg(unix)]
#[test]
fn issuing_refuses_an_exposed_ca_key() {
    use std::os::unix::fs::PermissionsExt;
    let pki = Pki::new("Test Deployment CA");
    let ca_key = pwsync_tls::ca_private_key_path(&pki.ca_dir);
    std::fs::set_permissions(&ca_key, std::fs::Permissions::from_mode(0o640)).unwrap();

    let error = pki_issue(&pki).unwrap_err();

    assert!(matches!(error, TlsError::InsecureKeyPermissions { mode: 0o640, .. }), "{error:?}");
}

#[test]
fn issuing_from_an_expired_ca_is_refused() {
    let dir = TempDir::new();
    let now = time::OffsetDateTime::now_utc();
    pwsync_tls::init_ca(
        dir.path(),
        "Old CA",
        Validity::between(now - time::Duration::days(20), now - time::Duration::days(1)),
    )
    .unwrap();

    let error = pwsync_tls::issue_client(
        dir.path(),
        "dc1",
        &["corp.example.com".to_owned()],
        &dir.path().join("out"),
        Validity::default(),
    )
    .unwrap_err();

    assert!(
        matches!(error, TlsError::CertificateExpired { role: pwsync_tls::CertificateRole::Ca, .. }),
        "{error:?}"
    );
}

fn pki_issue(pki: &Pki) -> Result<pwsync_tls::IssuedFiles, TlsError> {
    pwsync_tls::issue_client(
        &pki.ca_dir,
        "dc-new",
        &["corp.example.com".to_owned()],
        &pki.dir.path().join("clients"),
        Validity::default(),
    )
}
