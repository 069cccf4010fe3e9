//! Real TLS handshakes over 127.0.0.1: what the server accepts, what it refuses, and how the
//! refusal is described for the audit log.

mod common;

use common::{handshake, raw_client_config, Pki, ServerSaw};
use pwsync_tls::{describe_handshake_error, peer_identity, Validity};
use rustls::{CertificateError, PeerIncompatible};
use time::{Duration, OffsetDateTime};

fn refusal(saw: ServerSaw) -> rustls::Error {
    match saw {
        ServerSaw::Refused(error) => error,
        other => panic!("the server did not refuse the handshake: {other:?}"),
    }
}

#[test]
fn mutual_tls_handshake_succeeds_and_identifies_the_client() {
    let pki = Pki::new("Test Deployment CA");
    let client =
        pwsync_tls::client_config(&pki.ca_cert, &pki.client.certificate, &pki.client.private_key).unwrap();

    let (saw, client_got_pong) = handshake(pki.server_config(), client);

    let ServerSaw::Accepted { peer_certificate, alpn } = saw else {
        panic!("handshake failed: {saw:?}");
    };
    assert!(client_got_pong);
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    let identity = peer_identity(&peer_certificate.expect("client certificate")).unwrap();
    assert_eq!(identity.name, "dc1.corp.example.com");
    assert_eq!(identity.domains, vec!["child.corp.example.com".to_owned(), "corp.example.com".to_owned()]);
    assert_eq!(identity.serial, pki.client.serial);
    assert_eq!(identity.not_after, pki.client.not_after.unix_timestamp());
}

#[test]
fn server_refuses_a_client_without_a_certificate() {
    let pki = Pki::new("Test Deployment CA");
    let anonymous = pwsync_tls::client_config_without_identity(&pki.ca_cert).unwrap();

    let (saw, client_got_pong) = handshake(pki.server_config(), anonymous);

    let error = refusal(saw);
    assert_eq!(error, rustls::Error::NoCertificatesPresented);
    assert!(!client_got_pong);
    assert_eq!(describe_handshake_error(&error), "client presented no certificate");
}

#[test]
fn server_refuses_a_client_certificate_from_another_ca() {
    let pki = Pki::new("Test Deployment CA");
    let other = Pki::new("Some Other CA");
    // Trusts our server, but presents a certificate of the other CA.
    let client = raw_client_config(&pki.ca_cert, Some(&other.client), &[&rustls::version::TLS13]);

    let (saw, client_got_pong) = handshake(pki.server_config(), client);

    let error = refusal(saw);
    assert!(matches!(error, rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)), "{error:?}");
    assert!(!client_got_pong);
    assert_eq!(describe_handshake_error(&error), "client certificate not issued by the deployment CA");
}

#[test]
fn server_refuses_an_expired_client_certificate() {
    let pki = Pki::new("Test Deployment CA");
    let now = OffsetDateTime::now_utc();
    let expired =
        pki.issue_client("dc-expired", Validity::between(now - Duration::days(30), now - Duration::days(1)));
    let client = raw_client_config(&pki.ca_cert, Some(&expired), &[&rustls::version::TLS13]);

    let (saw, client_got_pong) = handshake(pki.server_config(), client);

    let error = refusal(saw);
    assert!(
        matches!(
            error,
            rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            )
        ),
        "{error:?}"
    );
    assert!(!client_got_pong);
    let description = describe_handshake_error(&error);
    assert!(description.starts_with("client certificate expired"), "{description}");
}

#[test]
fn server_refuses_a_tls12_only_client() {
    let pki = Pki::new("Test Deployment CA");
    let client = raw_client_config(&pki.ca_cert, Some(&pki.client), &[&rustls::version::TLS12]);

    let (saw, client_got_pong) = handshake(pki.server_config(), client);

    let error = refusal(saw);
    assert!(
        matches!(
            error,
            rustls::Error::PeerIncompatible(
                PeerIncompatible::SupportedVersionsExtensionRequired
                    | PeerIncompatible::Tls12NotOfferedOrEnabled
            )
        ),
        "{error:?}"
    );
    assert!(!client_got_pong);
    assert_eq!(describe_handshake_error(&error), "protocol version not supported (TLS 1.3 required)");
}

#[test]
fn client_refuses_a_server_from_another_ca_and_the_server_says_why() {
    let pki = Pki::new("Test Deployment CA");
    let other = Pki::new("Some Other CA");
    // A correctly configured client of the *other* deployment dials our server.
    let client =
        pwsync_tls::client_config(&other.ca_cert, &other.client.certificate, &other.client.private_key)
            .unwrap();

    let (saw, client_got_pong) = handshake(pki.server_config(), client);

    let error = refusal(saw);
    assert!(matches!(error, rustls::Error::AlertReceived(_)), "{error:?}");
    assert!(!client_got_pong);
    let description = describe_handshake_error(&error);
    assert!(description.contains("does not accept the server certificate"), "{description}");
}
