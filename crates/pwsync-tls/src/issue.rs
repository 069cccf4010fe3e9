//! Issuing server and client certificates from the deployment CA.
//!
//! A client certificate binds a client (its Common Name) to the AD domains it may submit
//! changes for, as `urn:pwsync:domain:<domain>` URI subject alternative names; the server
//! authorises every submission by them. Must never overwrite an existing certificate or key,
//! and never issue a certificate that could act as a CA.

use std::path::{Path, PathBuf};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    SanType, SerialNumber,
};
use time::OffsetDateTime;

use crate::ca;
use crate::error::{utc, CertificateRole, TlsError};
use crate::file_modes::{self, CERTIFICATE_MODE, PRIVATE_KEY_MODE};
use crate::names;
use crate::pem_files::{self, NewFile};
use crate::policy;
use crate::validity::{Validity, DEFAULT_LEAF_VALIDITY_DAYS};

/// The files written for a new certificate, and what an operator wants to see of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedFiles {
    /// The PEM certificate (mode 0644).
    pub certificate: PathBuf,
    /// The PEM private key (mode 0600).
    pub private_key: PathBuf,
    /// Serial number, lower-case hex.
    pub serial: String,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

/// Issues the server certificate `out_dir/<name>.pem` + `out_dir/<name>.key` for the CA in
/// `ca_dir`. `sans` are the DNS names and IP addresses clients connect to.
pub fn issue_server(
    ca_dir: &Path,
    name: &str,
    sans: &[String],
    out_dir: &Path,
    validity: Validity,
) -> Result<IssuedFiles, TlsError> {
    names::validate_certificate_name(name)?;
    if sans.is_empty() {
        return Err(TlsError::NoSubjectAltNames);
    }
    let subject_alt_names = sans.iter().map(|san| names::server_san(san)).collect::<Result<Vec<_>, _>>()?;
    issue_leaf(ca_dir, name, subject_alt_names, CertificateRole::Server, out_dir, validity)
}

/// Issues the client certificate `out_dir/<name>.pem` + `out_dir/<name>.key` for the CA in
/// `ca_dir`, bound to `domains` (AD DNS domains, stored lower-cased).
pub fn issue_client(
    ca_dir: &Path,
    name: &str,
    domains: &[String],
    out_dir: &Path,
    validity: Validity,
) -> Result<IssuedFiles, TlsError> {
    names::validate_certificate_name(name)?;
    if domains.is_empty() {
        return Err(TlsError::NoDomains);
    }
    let mut normalized =
        domains.iter().map(|domain| names::normalize_domain(domain)).collect::<Result<Vec<_>, _>>()?;
    normalized.sort();
    normalized.dedup();
    let mut subject_alt_names: Vec<SanType> = names::optional_dns_san(name).into_iter().collect();
    for domain in &normalized {
        subject_alt_names.push(names::domain_san(domain)?);
    }
    issue_leaf(ca_dir, name, subject_alt_names, CertificateRole::Client, out_dir, validity)
}

fn issue_leaf(
    ca_dir: &Path,
    name: &str,
    subject_alt_names: Vec<SanType>,
    role: CertificateRole,
    out_dir: &Path,
    validity: Validity,
) -> Result<IssuedFiles, TlsError> {
    let (not_before, not_after) = validity.resolve(DEFAULT_LEAF_VALIDITY_DAYS, OffsetDateTime::now_utc())?;
    let certificate = out_dir.join(format!("{name}.pem"));
    let private_key = out_dir.join(format!("{name}.key"));
    // Checked before the CA key is even read, so that a typo costs nothing.
    for path in [&certificate, &private_key] {
        if path.exists() {
            return Err(TlsError::AlreadyExists { path: path.clone() });
        }
    }
    let ca = ca::load_ca(ca_dir)?;
    if not_after > ca.not_after {
        tracing::warn!(
            name,
            not_after = %utc(&not_after),
            ca_not_after = %utc(&ca.not_after),
            "certificate outlives the CA; it stops working when the CA expires"
        );
    }

    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, name);
    params.distinguished_name = subject;
    params.subject_alt_names = subject_alt_names;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![match role {
        CertificateRole::Client => ExtendedKeyUsagePurpose::ClientAuth,
        CertificateRole::Server | CertificateRole::Ca => ExtendedKeyUsagePurpose::ServerAuth,
    }];
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    let serial = random_serial()?;
    params.serial_number = Some(serial.clone());

    let key = KeyPair::generate().map_err(TlsError::Generate)?;
    let signed = params.signed_by(&key, &ca.issuer).map_err(TlsError::Generate)?;

    file_modes::create_private_dir_all(out_dir)
        .map_err(|source| TlsError::CreateDirectory { path: out_dir.to_owned(), source })?;
    let files = IssuedFiles { certificate, private_key, serial: serial_hex(&serial), not_after };
    let key_pem = key.serialize_pem();
    let certificate_pem = signed.pem();
    pem_files::write_new_files(&[
        NewFile { path: files.private_key.clone(), contents: &key_pem, mode: PRIVATE_KEY_MODE },
        NewFile { path: files.certificate.clone(), contents: &certificate_pem, mode: CERTIFICATE_MODE },
    ])?;
    tracing::info!(
        role = %role,
        name,
        serial = %files.serial,
        not_after = %utc(&not_after),
        "issued certificate"
    );
    Ok(files)
}

/// A fresh 128-bit serial number; positive, as RFC 5280 requires.
pub(crate) fn random_serial() -> Result<SerialNumber, TlsError> {
    let mut bytes = [0u8; 16];
    policy::provider().secure_random.fill(&mut bytes).map_err(|_| TlsError::RandomUnavailable)?;
    bytes[0] &= 0x7f;
    // A non-zero first byte keeps every serial exactly 16 bytes long in DER.
    bytes[0] |= 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

/// A serial number as the lower-case hex that [`crate::PeerIdentity::serial`] also uses.
pub(crate) fn serial_hex(serial: &SerialNumber) -> String {
    hex(&serial.to_bytes())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
