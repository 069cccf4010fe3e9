//! The errors of the PKI and TLS layer, each worded for the operator who has to fix it.
//!
//! Every message says what is wrong and what to do about it. No message may contain key
//! material or file contents; paths, names, dates and modes only.

use std::fmt;
use std::io;
use std::path::PathBuf;

use time::OffsetDateTime;

/// Which kind of certificate a check was about; it decides the advice an error gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateRole {
    /// The deployment CA itself.
    Ca,
    /// The sync server's certificate.
    Server,
    /// A client daemon's certificate.
    Client,
}

impl CertificateRole {
    /// The command an operator runs to replace a certificate of this role.
    pub fn reissue_command(self) -> &'static str {
        match self {
            CertificateRole::Ca => "pwsync pki init-ca",
            CertificateRole::Server => "pwsync pki issue-server",
            CertificateRole::Client => "pwsync pki issue-client",
        }
    }
}

impl fmt::Display for CertificateRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CertificateRole::Ca => "CA",
            CertificateRole::Server => "server",
            CertificateRole::Client => "client",
        })
    }
}

/// Everything that can go wrong while creating, issuing or loading certificates and keys.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot create directory {}: {source}", path.display())]
    CreateDirectory {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "{} already exists; refusing to overwrite it (move it away first if you really mean to replace it)",
        path.display()
    )]
    AlreadyExists { path: PathBuf },

    #[error("no PEM certificate (-----BEGIN CERTIFICATE-----) found in {}", path.display())]
    NoCertificateInFile { path: PathBuf },

    #[error("no PEM private key (-----BEGIN PRIVATE KEY-----) found in {}", path.display())]
    NoPrivateKeyInFile { path: PathBuf },

    #[error("{} is not valid PEM: {reason}", path.display())]
    MalformedPem { path: PathBuf, reason: &'static str },

    #[error("{} holds a certificate that cannot be parsed: {reason}", path.display())]
    MalformedCertificate { path: PathBuf, reason: String },

    #[error("the peer's certificate cannot be parsed: {reason}")]
    MalformedPeerCertificate { reason: String },

    #[error("the peer's certificate has no Common Name, so it names no pwsync client")]
    NoCommonName,

    #[error(
        "the private key in {} is of an unsupported type (use ECDSA P-256/P-384, Ed25519 or RSA)",
        path.display()
    )]
    UnsupportedPrivateKey { path: PathBuf },

    #[error(
        "private key {} has mode {mode:o} and is accessible by group or others; run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    InsecureKeyPermissions { path: PathBuf, mode: u32 },

    #[error(
        "{role} certificate {} expired on {}; issue a new one with `{}`",
        path.display(),
        utc(not_after),
        role.reissue_command()
    )]
    CertificateExpired { path: PathBuf, not_after: OffsetDateTime, role: CertificateRole },

    #[error(
        "{role} certificate {} is not valid before {}; check this machine's clock, or wait",
        path.display(),
        utc(not_before)
    )]
    CertificateNotYetValid { path: PathBuf, not_before: OffsetDateTime, role: CertificateRole },

    #[error(
        "certificate {} was not issued by the deployment CA in {}; point to the right CA file, or issue a certificate from this CA with `pwsync pki`",
        path.display(),
        ca_path.display()
    )]
    NotIssuedByCa { path: PathBuf, ca_path: PathBuf },

    #[error(
        "certificate {} is not a {role} certificate (its extended key usage does not allow it); issue one with `{}`",
        path.display(),
        role.reissue_command()
    )]
    WrongCertificatePurpose { path: PathBuf, role: CertificateRole },

    #[error("certificate {} was rejected by the verifier: {reason}", path.display())]
    CertificateRejected { path: PathBuf, reason: String },

    #[error(
        "the private key {} does not belong to the certificate {}; use the key file issued together with it",
        key_path.display(),
        cert_path.display()
    )]
    KeyMismatch { cert_path: PathBuf, key_path: PathBuf },

    #[error("invalid name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },

    #[error("invalid AD domain {domain:?}: expected a DNS domain such as corp.example.com")]
    InvalidDomain { domain: String },

    #[error("a client certificate must be bound to at least one AD domain")]
    NoDomains,

    #[error("invalid subject alternative name {san:?}: expected a DNS name or an IP address")]
    InvalidSubjectAltName { san: String },

    #[error("a server certificate needs at least one subject alternative name (DNS name or IP address) that clients connect to")]
    NoSubjectAltNames,

    #[error("invalid validity period: {reason}")]
    InvalidValidity { reason: &'static str },

    #[error("{} is not a usable CA certificate: {reason}", path.display())]
    InvalidCaCertificate { path: PathBuf, reason: String },

    #[error("no PEM revocation list (-----BEGIN X509 CRL-----) found in {}", path.display())]
    NoRevocationListInFile { path: PathBuf },

    #[error(
        "revocation list {} cannot be used: {reason}; write a new one with `pwsync pki revoke`",
        path.display()
    )]
    InvalidRevocationList { path: PathBuf, reason: String },

    #[error(
        "revocation list {} is not signed by the deployment CA in {}; copy the list from that CA's directory",
        path.display(),
        ca_path.display()
    )]
    RevocationListNotFromCa { path: PathBuf, ca_path: PathBuf },

    #[error("the system random number generator failed; cannot create a serial number")]
    RandomUnavailable,

    #[error("certificate generation failed: {0}")]
    Generate(#[source] rcgen::Error),

    #[error("building the TLS configuration failed: {0}")]
    Config(#[source] rustls::Error),
}

/// A certificate date as operators read it, e.g. `2026-03-01 12:00:00 UTC`.
pub(crate) fn utc(moment: &OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    moment
        .to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| moment.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_message_names_the_date_and_the_fix() {
        let error = TlsError::CertificateExpired {
            path: PathBuf::from("/etc/pwsync/dc1.pem"),
            not_after: time::macros::datetime!(2026-03-01 12:00:00 UTC),
            role: CertificateRole::Client,
        };
        assert_eq!(
            error.to_string(),
            "client certificate /etc/pwsync/dc1.pem expired on 2026-03-01 12:00:00 UTC; \
             issue a new one with `pwsync pki issue-client`"
        );
    }

    #[test]
    fn insecure_key_message_says_chmod_600() {
        let error = TlsError::InsecureKeyPermissions { path: PathBuf::from("/k.key"), mode: 0o644 };
        assert_eq!(
            error.to_string(),
            "private key /k.key has mode 644 and is accessible by group or others; run `chmod 600 /k.key`"
        );
    }
}
