//! Load-time checks of our own certificate and key: within its validity period, issued by the
//! deployment CA for the right purpose, and matching the private key.
//!
//! These checks turn a misconfiguration into a clear start-up error instead of a handshake
//! failure that only the other side logs. They must never relax what the handshake itself
//! verifies; they run in addition to it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, InconsistentKeys, RootCertStore};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use time::OffsetDateTime;

use crate::error::{CertificateRole, TlsError};
use crate::pem_files;
use crate::policy;

/// Our certificate chain and private key, checked and ready for a rustls configuration.
pub(crate) struct OwnIdentity {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
}

/// Loads and checks our certificate (`role`) and key against the deployment CA in `ca_path`.
///
/// pwsync has a single deployment CA that issues the server and the client certificates, so the
/// CA a side trusts for its peer is also the CA its own certificate must come from.
pub(crate) fn load_own_identity(
    cert_path: &Path,
    key_path: &Path,
    ca_path: &Path,
    roots: &Arc<RootCertStore>,
    role: CertificateRole,
) -> Result<OwnIdentity, TlsError> {
    let chain = pem_files::read_certificates(cert_path)?;
    let now = OffsetDateTime::now_utc();
    check_validity_period(&chain[0], cert_path, role, now)?;
    check_issued_by_ca(&chain, roots, cert_path, ca_path, role)?;
    let key = pem_files::read_private_key(key_path)?;
    ensure_key_matches(&chain, &key, cert_path, key_path)?;
    Ok(OwnIdentity { chain, key })
}

/// Loads the deployment CA certificate(s) of `ca_path` as the only trust anchors.
pub(crate) fn load_ca_roots(ca_path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let certificates = pem_files::read_certificates(ca_path)?;
    let now = OffsetDateTime::now_utc();
    let mut roots = RootCertStore::empty();
    for certificate in certificates {
        check_validity_period(&certificate, ca_path, CertificateRole::Ca, now)?;
        roots.add(certificate).map_err(|error| TlsError::InvalidCaCertificate {
            path: ca_path.to_owned(),
            reason: error.to_string(),
        })?;
    }
    Ok(Arc::new(roots))
}

/// Refuses a certificate outside its validity period at `now`.
pub(crate) fn check_validity_period(
    certificate: &CertificateDer<'_>,
    path: &Path,
    role: CertificateRole,
    now: OffsetDateTime,
) -> Result<(), TlsError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(certificate).map_err(|error| {
        TlsError::MalformedCertificate { path: path.to_owned(), reason: error.to_string() }
    })?;
    let validity = parsed.validity();
    let not_before = validity.not_before.to_datetime();
    let not_after = validity.not_after.to_datetime();
    if now < not_before {
        return Err(TlsError::CertificateNotYetValid { path: path.to_owned(), not_before, role });
    }
    if now > not_after {
        return Err(TlsError::CertificateExpired { path: path.to_owned(), not_after, role });
    }
    Ok(())
}

/// Verifies the chain against the CA with webpki, exactly as the peer will, including the
/// extended key usage for `role` (server rules for anything but a client certificate).
pub(crate) fn check_issued_by_ca(
    chain: &[CertificateDer<'static>],
    roots: &Arc<RootCertStore>,
    cert_path: &Path,
    ca_path: &Path,
    role: CertificateRole,
) -> Result<(), TlsError> {
    let provider = policy::provider();
    let (end_entity, intermediates) = (&chain[0], &chain[1..]);
    let now = UnixTime::now();
    let verified = match role {
        CertificateRole::Client => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                .build()
                .map_err(|error| TlsError::InvalidCaCertificate {
                    path: ca_path.to_owned(),
                    reason: error.to_string(),
                })?;
            verifier.verify_client_cert(end_entity, intermediates, now).map(|_| ())
        }
        CertificateRole::Server | CertificateRole::Ca => {
            ParsedCertificate::try_from(end_entity).and_then(|parsed| {
                verify_server_cert_signed_by_trust_anchor(
                    &parsed,
                    roots,
                    intermediates,
                    now,
                    provider.signature_verification_algorithms.all,
                )
            })
        }
    };
    verified.map_err(|error| verification_error(error, cert_path, ca_path, role))
}

fn verification_error(
    error: rustls::Error,
    cert_path: &Path,
    ca_path: &Path,
    role: CertificateRole,
) -> TlsError {
    let path: PathBuf = cert_path.to_owned();
    match error {
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => TlsError::NotIssuedByCa { path, ca_path: ca_path.to_owned() },
        rustls::Error::InvalidCertificate(
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. },
        ) => TlsError::WrongCertificatePurpose { path, role },
        other => TlsError::CertificateRejected { path, reason: other.to_string() },
    }
}

/// Refuses a private key whose public half is not the one in the certificate.
pub(crate) fn ensure_key_matches(
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
    cert_path: &Path,
    key_path: &Path,
) -> Result<(), TlsError> {
    let provider = policy::provider();
    let mismatch =
        || TlsError::KeyMismatch { cert_path: cert_path.to_owned(), key_path: key_path.to_owned() };
    match CertifiedKey::from_der(chain.to_vec(), key.clone_key(), &provider) {
        Ok(_) => Ok(()),
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Err(mismatch()),
        Err(rustls::Error::InvalidCertificate(_)) => Err(TlsError::MalformedCertificate {
            path: cert_path.to_owned(),
            reason: "the certificate cannot be parsed".to_owned(),
        }),
        Err(_) => Err(TlsError::UnsupportedPrivateKey { path: key_path.to_owned() }),
    }
}
