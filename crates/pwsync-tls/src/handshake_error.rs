//! One-line, operator-friendly reasons for a TLS handshake that the server refused or lost,
//! written into the server's audit log.
//!
//! Must never include anything the client sent beyond what rustls already condensed into its
//! error (no certificate contents, no application data).

use rustls::{AlertDescription, CertificateError, Error, PeerIncompatible};

use crate::error::utc;

/// Why a handshake seen by the server failed, in words an operator can act on.
pub fn describe_handshake_error(error: &Error) -> String {
    match error {
        Error::NoCertificatesPresented => "client presented no certificate".to_owned(),
        Error::InvalidCertificate(certificate_error) => describe_certificate_error(certificate_error),
        Error::PeerIncompatible(incompatibility) => describe_incompatibility(incompatibility),
        Error::NoApplicationProtocol => {
            "no common application protocol (ALPN h2 or http/1.1 required)".to_owned()
        }
        Error::AlertReceived(alert) => describe_alert(*alert),
        Error::InvalidMessage(_) => {
            "client sent a malformed TLS message (is it speaking TLS at all?)".to_owned()
        }
        Error::InappropriateMessage { .. } | Error::InappropriateHandshakeMessage { .. } => {
            "client sent an unexpected TLS message".to_owned()
        }
        Error::PeerMisbehaved(misbehaviour) => {
            format!("client violated the TLS protocol ({misbehaviour:?})")
        }
        Error::DecryptError => "client's records failed to decrypt".to_owned(),
        other => format!("TLS handshake failed: {other}"),
    }
}

fn describe_certificate_error(error: &CertificateError) -> String {
    match error {
        CertificateError::Expired => "client certificate expired".to_owned(),
        CertificateError::ExpiredContext { not_after, .. } => match unix_time(not_after) {
            Some(date) => format!("client certificate expired on {date}"),
            None => "client certificate expired".to_owned(),
        },
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "client certificate not yet valid (check the clocks of client and server)".to_owned()
        }
        CertificateError::UnknownIssuer | CertificateError::BadSignature => {
            "client certificate not issued by the deployment CA".to_owned()
        }
        CertificateError::Revoked => "client certificate revoked".to_owned(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "client certificate not valid for client authentication (a server certificate?)".to_owned()
        }
        CertificateError::BadEncoding => "client certificate malformed".to_owned(),
        other => format!("client certificate rejected: {other:?}"),
    }
}

fn describe_incompatibility(incompatibility: &PeerIncompatible) -> String {
    match incompatibility {
        PeerIncompatible::Tls12NotOffered
        | PeerIncompatible::Tls12NotOfferedOrEnabled
        | PeerIncompatible::SupportedVersionsExtensionRequired => {
            "protocol version not supported (TLS 1.3 required)".to_owned()
        }
        PeerIncompatible::NoCipherSuitesInCommon => "no cipher suite in common".to_owned(),
        PeerIncompatible::NoKxGroupsInCommon => "no key exchange group in common".to_owned(),
        PeerIncompatible::NoSignatureSchemesInCommon => "no signature scheme in common".to_owned(),
        other => format!("client is incompatible: {other:?}"),
    }
}

fn describe_alert(alert: AlertDescription) -> String {
    let rejects_our_certificate = matches!(
        alert,
        AlertDescription::UnknownCA
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateRevoked
            | AlertDescription::UnsupportedCertificate
    );
    if rejects_our_certificate {
        format!(
            "client aborted the handshake ({alert:?}): it does not accept the server certificate \
             (check that the client trusts this deployment's CA and the server name)"
        )
    } else {
        format!("client aborted the handshake ({alert:?})")
    }
}

fn unix_time(moment: &rustls_pki_types::UnixTime) -> Option<String> {
    let seconds = i64::try_from(moment.as_secs()).ok()?;
    time::OffsetDateTime::from_unix_timestamp(seconds).ok().map(|date| utc(&date))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::UnixTime;
    use std::time::Duration;

    #[test]
    fn expiry_with_context_names_the_date() {
        let error = Error::InvalidCertificate(CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(Duration::from_secs(1_800_000_000)),
            not_after: UnixTime::since_unix_epoch(Duration::from_secs(1_767_225_600)),
        });
        assert_eq!(describe_handshake_error(&error), "client certificate expired on 2026-01-01 00:00:00 UTC");
    }

    #[test]
    fn an_old_protocol_version_asks_for_tls13() {
        let error = Error::PeerIncompatible(PeerIncompatible::Tls12NotOfferedOrEnabled);
        assert_eq!(describe_handshake_error(&error), "protocol version not supported (TLS 1.3 required)");
    }

    #[test]
    fn an_unknown_ca_alert_points_at_the_server_certificate() {
        let description = describe_handshake_error(&Error::AlertReceived(AlertDescription::UnknownCA));
        assert!(description.contains("does not accept the server certificate"), "{description}");
    }

    #[test]
    fn other_errors_keep_rustls_wording() {
        let description = describe_handshake_error(&Error::General("boom".to_owned()));
        assert!(description.starts_with("TLS handshake failed:"), "{description}");
        assert!(description.contains("boom"), "{description}");
    }
}
