//! Revoking client certificates: the deployment CA's certificate revocation list (CRL).
//!
//! `pwsync pki revoke` adds a client certificate's serial to `revoked.crl.pem` in the CA
//! directory, signed by the CA; the server loads a copy of that file at start and on reload,
//! refuses the revoked certificates in the TLS handshake, and refuses their requests on
//! connections opened before the revocation.
//!
//! Must never drop an entry that a previous list held (a revocation is forever), never write a
//! list the CA did not sign, and never accept a list that the CA did not sign.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber};
use rustls_pki_types::CertificateRevocationListDer;
use time::OffsetDateTime;

use crate::ca;
use crate::error::{CertificateRole, TlsError};
use crate::file_modes::CERTIFICATE_MODE;
use crate::issue::hex;
use crate::own_certificate;
use crate::pem_files;

/// The revocation list's file name inside the CA directory.
pub const REVOCATION_LIST_FILE: &str = "revoked.crl.pem";

/// Where `pwsync pki revoke` keeps the revocation list of the CA in `ca_dir`.
pub fn revocation_list_path(ca_dir: &Path) -> PathBuf {
    ca_dir.join(REVOCATION_LIST_FILE)
}

/// What `pwsync pki revoke` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The revoked certificate's serial, lower-case hex (as [`crate::PeerIdentity::serial`]).
    pub serial: String,
    /// The revoked certificate's Common Name: the client's name.
    pub name: String,
    /// The revocation list written.
    pub list: PathBuf,
    /// How many certificates the list revokes now.
    pub revoked_count: usize,
    /// The certificate was revoked before; the list was written again unchanged in content.
    pub already_revoked: bool,
}

/// The serials a verified revocation list names, for the server's per-request check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevokedSerials {
    serials: BTreeSet<String>,
}

impl RevokedSerials {
    /// Whether the certificate with this serial (hex, any case, leading zeros or not) is revoked.
    pub fn contains(&self, serial_hex: &str) -> bool {
        self.serials.contains(&normalized_serial(serial_hex))
    }

    pub fn len(&self) -> usize {
        self.serials.len()
    }

    pub fn is_empty(&self) -> bool {
        self.serials.is_empty()
    }
}

/// A revocation list loaded from a file and verified against the deployment CA.
#[derive(Clone, Debug)]
pub struct RevocationList {
    pub(crate) der: CertificateRevocationListDer<'static>,
    /// The serials it revokes.
    pub serials: RevokedSerials,
}

/// Revokes the client certificate in the PEM file `certificate`, issued by the CA in `ca_dir`:
/// writes the CA's revocation list anew with every earlier entry and this one.
pub fn revoke_client(ca_dir: &Path, certificate: &Path) -> Result<Revocation, TlsError> {
    let loaded = ca::load_ca(ca_dir)?;
    let ca_path = ca::ca_certificate_path(ca_dir);
    let roots = own_certificate::load_ca_roots(&ca_path)?;
    let chain = pem_files::read_certificates(certificate)?;
    own_certificate::check_issued_by_ca(&chain, &roots, certificate, &ca_path, CertificateRole::Client)?;
    let malformed = |reason: String| TlsError::MalformedCertificate { path: certificate.to_owned(), reason };
    let (_, parsed) =
        x509_parser::parse_x509_certificate(&chain[0]).map_err(|error| malformed(error.to_string()))?;
    let name = parsed
        .subject()
        .iter_common_name()
        .next()
        .and_then(|name| name.as_str().ok())
        .unwrap_or("")
        .to_owned();
    let serial_bytes = parsed.raw_serial().to_vec();

    let list_path = revocation_list_path(ca_dir);
    let now = OffsetDateTime::now_utc();
    let (mut entries, previous_number) =
        if list_path.exists() { previous_entries(&list_path, &ca_path)? } else { (Vec::new(), 0) };
    let serial = hex(&serial_bytes);
    let already_revoked = entries.iter().any(|entry| hex(entry.serial_number.as_ref()) == serial);
    if !already_revoked {
        entries.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&serial_bytes),
            revocation_time: now,
            reason_code: None,
            invalidity_date: None,
        });
    }
    let revoked_count = entries.len();
    // RFC 5280 wants the CRL number to grow with every list; the clock makes a new number
    // unique across CA directories restored from a backup, the +1 keeps it growing if the
    // clock went back.
    let now_micros = (now.unix_timestamp_nanos() / 1_000).max(0) as u128;
    let crl_number = now_micros.max(previous_number + 1);
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: loaded.not_after.max(now + time::Duration::days(1)),
        crl_number: SerialNumber::from_slice(&crl_number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs: entries,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let list = params.signed_by(&loaded.issuer).map_err(TlsError::Generate)?;
    let pem = list.pem().map_err(TlsError::Generate)?;
    pem_files::replace_file(&list_path, &pem, CERTIFICATE_MODE)?;
    tracing::info!(serial = %serial, client = %name, list = %list_path.display(), revoked_count, "revoked a client certificate");
    Ok(Revocation { serial, name, list: list_path, revoked_count, already_revoked })
}

/// Loads the revocation list in `path` and checks that a CA of `ca_path` signed it.
pub fn load_revocation_list(path: &Path, ca_path: &Path) -> Result<RevocationList, TlsError> {
    let der = pem_files::read_revocation_list(path)?;
    let serials = parse_verified(&der, path, ca_path)?
        .iter_revoked_certificates()
        .map(|entry| normalized_serial(&hex(entry.raw_serial())))
        .collect();
    Ok(RevocationList { der, serials: RevokedSerials { serials } })
}

/// Parses the list `der`, read from `path`, and checks that a CA of `ca_path` signed it.
fn parse_verified<'a>(
    der: &'a [u8],
    path: &Path,
    ca_path: &Path,
) -> Result<x509_parser::revocation_list::CertificateRevocationList<'a>, TlsError> {
    let invalid = |reason: String| TlsError::InvalidRevocationList { path: path.to_owned(), reason };
    let (_, parsed) = x509_parser::parse_x509_crl(der).map_err(|error| invalid(error.to_string()))?;
    verify_signed_by_ca(&parsed, path, ca_path)?;
    Ok(parsed)
}

/// The entries and the CRL number of the CA's current list, verified.
fn previous_entries(path: &Path, ca_path: &Path) -> Result<(Vec<RevokedCertParams>, u128), TlsError> {
    let der = pem_files::read_revocation_list(path)?;
    let parsed = parse_verified(&der, path, ca_path)?;
    let invalid = |reason: String| TlsError::InvalidRevocationList { path: path.to_owned(), reason };
    let entries = parsed
        .iter_revoked_certificates()
        .map(|entry| {
            let revocation_time = OffsetDateTime::from_unix_timestamp(entry.revocation_date.timestamp())
                .map_err(|error| invalid(format!("an entry's revocation date is out of range: {error}")))?;
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(entry.raw_serial()),
                revocation_time,
                reason_code: None,
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>, TlsError>>()?;
    let number = parsed
        .crl_number()
        .map(|number| number.to_bytes_be())
        .filter(|bytes| bytes.len() <= 16)
        .map(|bytes| bytes.iter().fold(0u128, |value, byte| (value << 8) | u128::from(*byte)))
        .unwrap_or(0);
    Ok((entries, number))
}

fn verify_signed_by_ca(
    list: &x509_parser::revocation_list::CertificateRevocationList<'_>,
    path: &Path,
    ca_path: &Path,
) -> Result<(), TlsError> {
    let authorities = pem_files::read_certificates(ca_path)?;
    let signed = authorities.iter().any(|authority| {
        x509_parser::parse_x509_certificate(authority)
            .map(|(_, certificate)| list.verify_signature(certificate.public_key()).is_ok())
            .unwrap_or(false)
    });
    if signed {
        Ok(())
    } else {
        Err(TlsError::RevocationListNotFromCa { path: path.to_owned(), ca_path: ca_path.to_owned() })
    }
}

/// Serials compare as numbers: lower case, without leading zero bytes.
fn normalized_serial(serial_hex: &str) -> String {
    let lower = serial_hex.to_ascii_lowercase();
    let trimmed = lower.trim_start_matches("00");
    if trimmed.is_empty() {
        "00".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{init_ca, issue_client, Validity};

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pwsync-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn revoking_keeps_every_earlier_entry_and_is_idempotent() {
        crate::install_crypto_provider();
        let dir = temp_dir("revoke");
        let ca_dir = dir.join("ca");
        init_ca(&ca_dir, "test CA", Validity::days(30)).unwrap();
        let first = issue_client(&ca_dir, "dc1", &["corp.example".into()], &dir, Validity::days(5)).unwrap();
        let second = issue_client(&ca_dir, "dc2", &["corp.example".into()], &dir, Validity::days(5)).unwrap();

        let revoked = revoke_client(&ca_dir, &first.certificate).unwrap();
        assert_eq!(
            (revoked.name.as_str(), revoked.revoked_count, revoked.already_revoked),
            ("dc1", 1, false)
        );
        let again = revoke_client(&ca_dir, &first.certificate).unwrap();
        assert_eq!((again.revoked_count, again.already_revoked), (1, true));
        let both = revoke_client(&ca_dir, &second.certificate).unwrap();
        assert_eq!(both.revoked_count, 2);

        let list = load_revocation_list(&both.list, &ca::ca_certificate_path(&ca_dir)).unwrap();
        assert!(list.serials.contains(&first.serial));
        assert!(list.serials.contains(&second.serial.to_ascii_uppercase()));
        assert!(!list.serials.contains("0123"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_list_from_another_ca_or_a_foreign_certificate_is_refused_by_name() {
        crate::install_crypto_provider();
        let dir = temp_dir("foreign");
        let ca_dir = dir.join("ca");
        let other_dir = dir.join("other");
        init_ca(&ca_dir, "test CA", Validity::days(30)).unwrap();
        init_ca(&other_dir, "other CA", Validity::days(30)).unwrap();
        let ours = issue_client(&ca_dir, "dc1", &["corp.example".into()], &dir, Validity::days(5)).unwrap();
        let foreign_out = dir.join("foreign");
        let foreign =
            issue_client(&other_dir, "dc9", &["corp.example".into()], &foreign_out, Validity::days(5))
                .unwrap();

        let error = revoke_client(&ca_dir, &foreign.certificate).unwrap_err();
        assert!(matches!(error, TlsError::NotIssuedByCa { .. }), "{error}");

        let list = revoke_client(&other_dir, &foreign.certificate).unwrap().list;
        let error = load_revocation_list(&list, &ca::ca_certificate_path(&ca_dir)).unwrap_err();
        assert!(matches!(error, TlsError::RevocationListNotFromCa { .. }), "{error}");

        // A list that is not one at all.
        let error = load_revocation_list(&ours.certificate, &ca::ca_certificate_path(&ca_dir)).unwrap_err();
        assert!(matches!(error, TlsError::NoRevocationListInFile { .. }), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn serials_compare_as_numbers() {
        assert_eq!(normalized_serial("00AB01"), "ab01");
        assert_eq!(normalized_serial("0000"), "00");
    }
}
