//! Who a verified peer certificate names: the client's name and the AD domains it is bound to.
//!
//! Reads only; it does not verify the certificate — call it on a certificate the TLS handshake
//! has already verified against the deployment CA, never on an unverified one.

use x509_parser::extensions::GeneralName;

use crate::error::TlsError;
use crate::issue::hex;
use crate::names::DOMAIN_URI_PREFIX;

/// The identity carried by a client certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The certificate's Common Name: the client's name.
    pub name: String,
    /// The AD domains (lower-case DNS names) the client may submit changes for.
    pub domains: Vec<String>,
    /// Serial number, lower-case hex.
    pub serial: String,
    /// End of validity, Unix seconds.
    pub not_after: i64,
}

/// Reads the identity of a (DER) peer certificate.
pub fn peer_identity(cert_der: &[u8]) -> Result<PeerIdentity, TlsError> {
    let malformed = |reason: String| TlsError::MalformedPeerCertificate { reason };
    let (_, certificate) =
        x509_parser::parse_x509_certificate(cert_der).map_err(|error| malformed(error.to_string()))?;
    let name = certificate
        .subject()
        .iter_common_name()
        .next()
        .ok_or(TlsError::NoCommonName)?
        .as_str()
        .map_err(|error| malformed(format!("Common Name is not a string: {error}")))?
        .to_owned();
    let mut domains = Vec::new();
    if let Some(extension) =
        certificate.subject_alternative_name().map_err(|error| malformed(error.to_string()))?
    {
        for general_name in &extension.value.general_names {
            if let GeneralName::URI(uri) = general_name {
                if let Some(domain) = uri.strip_prefix(DOMAIN_URI_PREFIX) {
                    domains.push(domain.to_ascii_lowercase());
                }
            }
        }
    }
    domains.sort();
    domains.dedup();
    Ok(PeerIdentity {
        name,
        domains,
        serial: hex(certificate.raw_serial()),
        not_after: certificate.validity().not_after.timestamp(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_malformed_certificate() {
        assert!(matches!(
            peer_identity(b"not a certificate"),
            Err(TlsError::MalformedPeerCertificate { .. })
        ));
    }

    #[test]
    fn certificate_without_common_name_is_refused() {
        let mut params = rcgen::CertificateParams::new(vec!["x.example".to_owned()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        let key = rcgen::KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        assert!(matches!(peer_identity(certificate.der()), Err(TlsError::NoCommonName)));
    }
}
