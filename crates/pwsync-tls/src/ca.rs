//! The deployment CA: creating it (`ca.pem` + `ca.key`) and loading it to sign certificates.
//!
//! Must never overwrite an existing CA, never write the CA key readable by anyone but its
//! owner, and never sign with a CA key that does not match the CA certificate.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use time::OffsetDateTime;

use crate::error::{CertificateRole, TlsError};
use crate::file_modes::{self, CERTIFICATE_MODE, PRIVATE_KEY_MODE};
use crate::issue::{random_serial, serial_hex, IssuedFiles};
use crate::names;
use crate::own_certificate;
use crate::pem_files::{self, NewFile};
use crate::validity::{Validity, DEFAULT_CA_VALIDITY_DAYS};

const CA_CERTIFICATE_FILE: &str = "ca.pem";
const CA_PRIVATE_KEY_FILE: &str = "ca.key";

/// Where the CA certificate lives in a CA directory.
pub fn ca_certificate_path(ca_dir: &Path) -> PathBuf {
    ca_dir.join(CA_CERTIFICATE_FILE)
}

/// Where the CA private key lives in a CA directory.
pub fn ca_private_key_path(ca_dir: &Path) -> PathBuf {
    ca_dir.join(CA_PRIVATE_KEY_FILE)
}

/// Creates a new deployment CA in `dir` (created 0700 if missing): `ca.pem` (0644) and
/// `ca.key` (0600). Refuses with [`TlsError::AlreadyExists`] if either file exists.
pub fn init_ca(dir: &Path, common_name: &str, validity: Validity) -> Result<IssuedFiles, TlsError> {
    names::validate_ca_common_name(common_name)?;
    let (not_before, not_after) = validity.resolve(DEFAULT_CA_VALIDITY_DAYS, OffsetDateTime::now_utc())?;

    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, common_name);
    subject.push(DnType::OrganizationName, "pwsync");
    params.distinguished_name = subject;
    // Path length 0: this CA signs only end-entity certificates, never another CA.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_before = not_before;
    params.not_after = not_after;
    let serial = random_serial()?;
    params.serial_number = Some(serial.clone());

    let key = KeyPair::generate().map_err(TlsError::Generate)?;
    let certificate = params.self_signed(&key).map_err(TlsError::Generate)?;

    file_modes::create_private_dir_all(dir)
        .map_err(|source| TlsError::CreateDirectory { path: dir.to_owned(), source })?;
    let files = IssuedFiles {
        certificate: ca_certificate_path(dir),
        private_key: ca_private_key_path(dir),
        serial: serial_hex(&serial),
        not_after,
    };
    let key_pem = key.serialize_pem();
    let certificate_pem = certificate.pem();
    pem_files::write_new_files(&[
        NewFile { path: files.private_key.clone(), contents: &key_pem, mode: PRIVATE_KEY_MODE },
        NewFile { path: files.certificate.clone(), contents: &certificate_pem, mode: CERTIFICATE_MODE },
    ])?;
    tracing::info!(
        certificate = %files.certificate.display(),
        serial = %files.serial,
        not_after = %crate::error::utc(&not_after),
        "created deployment CA"
    );
    Ok(files)
}

/// The deployment CA, loaded and checked, ready to sign.
pub(crate) struct LoadedCa {
    pub(crate) issuer: Issuer<'static, KeyPair>,
    pub(crate) not_after: OffsetDateTime,
}

/// Loads the CA of `ca_dir`, refusing an expired CA, an exposed or mismatched key, and a
/// certificate that is not a CA certificate.
pub(crate) fn load_ca(ca_dir: &Path) -> Result<LoadedCa, TlsError> {
    let cert_path = ca_certificate_path(ca_dir);
    let key_path = ca_private_key_path(ca_dir);
    let chain = pem_files::read_certificates(&cert_path)?;
    let ca_certificate = &chain[0];
    own_certificate::check_validity_period(
        ca_certificate,
        &cert_path,
        CertificateRole::Ca,
        OffsetDateTime::now_utc(),
    )?;
    let not_after = ensure_is_ca(ca_certificate, &cert_path)?;

    let key_der = pem_files::read_private_key(&key_path)?;
    own_certificate::ensure_key_matches(&chain[..1], &key_der, &cert_path, &key_path)?;
    let key = KeyPair::try_from(&key_der)
        .map_err(|_| TlsError::UnsupportedPrivateKey { path: key_path.clone() })?;
    let issuer = Issuer::from_ca_cert_der(ca_certificate, key).map_err(|error| {
        TlsError::InvalidCaCertificate { path: cert_path.clone(), reason: error.to_string() }
    })?;
    Ok(LoadedCa { issuer, not_after })
}

/// Returns the CA's end of validity after checking that it is marked as a CA.
fn ensure_is_ca(
    certificate: &rustls_pki_types::CertificateDer<'_>,
    path: &Path,
) -> Result<OffsetDateTime, TlsError> {
    let invalid = |reason: String| TlsError::InvalidCaCertificate { path: path.to_owned(), reason };
    let (_, parsed) =
        x509_parser::parse_x509_certificate(certificate).map_err(|error| invalid(error.to_string()))?;
    let is_ca = parsed
        .basic_constraints()
        .map_err(|error| invalid(error.to_string()))?
        .is_some_and(|constraints| constraints.value.ca);
    if !is_ca {
        return Err(invalid("it is not a CA certificate (basicConstraints CA:TRUE missing)".to_owned()));
    }
    Ok(parsed.validity().not_after.to_datetime())
}
