//! Validation of the names that go into certificates and file names: certificate names, AD
//! domains (and their `urn:pwsync:domain:` URI form) and server subject alternative names.
//!
//! Must never let a name escape its output directory (no `/`, no `..`) and never accept a
//! domain that is not a plain DNS name, because the server authorises submissions by it.

use std::net::IpAddr;

use rcgen::{string::Ia5String, SanType};
use rustls_pki_types::DnsName;

use crate::error::TlsError;

/// Prefix of the URI subject alternative names that bind a client certificate to an AD domain.
pub const DOMAIN_URI_PREFIX: &str = "urn:pwsync:domain:";

/// Longest certificate name accepted; it is also a file name and a Common Name (max 64).
const MAX_NAME_LEN: usize = 64;

/// The URI subject alternative name for `domain` (which must already be normalised).
pub fn domain_uri(domain: &str) -> String {
    format!("{DOMAIN_URI_PREFIX}{domain}")
}

/// Checks a certificate name, which becomes the Common Name and the output file names.
pub(crate) fn validate_certificate_name(name: &str) -> Result<(), TlsError> {
    let invalid = |reason| Err(TlsError::InvalidName { name: name.to_owned(), reason });
    if name.is_empty() {
        return invalid("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return invalid("it is longer than 64 characters");
    }
    if name.starts_with(['.', '-']) {
        return invalid("it must not start with '.' or '-'");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
        return invalid("only letters, digits, '.', '-' and '_' are allowed");
    }
    Ok(())
}

/// Checks the Common Name of the CA, which appears only inside certificates.
pub(crate) fn validate_ca_common_name(name: &str) -> Result<(), TlsError> {
    if name.trim().is_empty() {
        return Err(TlsError::InvalidName { name: name.to_owned(), reason: "it is empty" });
    }
    if name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(TlsError::InvalidName {
            name: name.to_owned(),
            reason: "it must be at most 64 characters without control characters",
        });
    }
    Ok(())
}

/// Lower-cases an AD DNS domain and drops a trailing dot, refusing anything that is not a
/// DNS name (wildcards, spaces, IP addresses, URIs).
pub(crate) fn normalize_domain(domain: &str) -> Result<String, TlsError> {
    let normalized = domain.trim_end_matches('.').to_ascii_lowercase();
    let is_dns_name =
        !normalized.is_empty() && !normalized.contains('_') && DnsName::try_from(normalized.as_str()).is_ok();
    if !is_dns_name {
        return Err(TlsError::InvalidDomain { domain: domain.to_owned() });
    }
    Ok(normalized)
}

/// Parses one server subject alternative name: an IP address, else a DNS name.
pub(crate) fn server_san(san: &str) -> Result<SanType, TlsError> {
    if let Ok(ip) = san.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let invalid = || TlsError::InvalidSubjectAltName { san: san.to_owned() };
    DnsName::try_from(san).map_err(|_| invalid())?;
    let ia5 = Ia5String::try_from(san.to_ascii_lowercase()).map_err(|_| invalid())?;
    Ok(SanType::DnsName(ia5))
}

/// The DNS subject alternative name for a client's name, if the name is a DNS name at all.
pub(crate) fn optional_dns_san(name: &str) -> Option<SanType> {
    if name.parse::<IpAddr>().is_ok() || DnsName::try_from(name).is_err() {
        return None;
    }
    Ia5String::try_from(name.to_ascii_lowercase()).ok().map(SanType::DnsName)
}

/// The URI subject alternative name binding a certificate to `domain` (already normalised).
pub(crate) fn domain_san(domain: &str) -> Result<SanType, TlsError> {
    Ia5String::try_from(domain_uri(domain))
        .map(SanType::URI)
        .map_err(|_| TlsError::InvalidDomain { domain: domain.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_names_cannot_escape_the_directory() {
        for bad in ["", "../evil", "a/b", ".hidden", "-rf", "dc 1", "dc1\n", &"x".repeat(65)] {
            assert!(
                matches!(validate_certificate_name(bad), Err(TlsError::InvalidName { .. })),
                "{bad:?} was accepted"
            );
        }
        for good in ["dc1", "dc1.corp.example.com", "DC_01-a"] {
            validate_certificate_name(good).unwrap();
        }
    }

    #[test]
    fn domains_are_lowercased_and_lose_a_trailing_dot() {
        assert_eq!(normalize_domain("Corp.Example.COM.").unwrap(), "corp.example.com");
    }

    #[test]
    fn non_dns_domains_are_refused() {
        for bad in ["", ".", "*.corp.example.com", "corp example", "10.0.0.1", "urn:x", "a_b.example"] {
            assert!(
                matches!(normalize_domain(bad), Err(TlsError::InvalidDomain { .. })),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn server_sans_are_ip_addresses_or_dns_names() {
        assert_eq!(server_san("127.0.0.1").unwrap(), SanType::IpAddress("127.0.0.1".parse().unwrap()));
        assert_eq!(server_san("::1").unwrap(), SanType::IpAddress("::1".parse().unwrap()));
        assert!(
            matches!(server_san("Sync.Example.com").unwrap(), SanType::DnsName(name) if name.as_str() == "sync.example.com")
        );
        assert!(matches!(server_san("not a name"), Err(TlsError::InvalidSubjectAltName { .. })));
    }

    #[test]
    fn client_names_get_a_dns_san_only_when_they_are_dns_names() {
        assert!(optional_dns_san("dc1.corp.example.com").is_some());
        assert!(optional_dns_san("10.1.2.3").is_none());
        assert!(optional_dns_san("dc 1").is_none());
    }

    #[test]
    fn domain_uri_has_the_documented_form() {
        assert_eq!(domain_uri("corp.example.com"), "urn:pwsync:domain:corp.example.com");
    }
}
