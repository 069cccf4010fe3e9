//! Turns what the directory (or the network) answered into a target outcome.
//!
//! Policy refusals of the password are permanent and carry the server's text; a busy or
//! unreachable directory is transient. A failed bind of pwsync's own account is a configuration
//! error: transient (so that no change is pushed to the failed area for an operator's mistake)
//! and flagged so that the caller logs it loudly. Every text returned here is scrubbed of the
//! password; this module must never let the server's text through unscrubbed.

use std::time::Duration;

use ldap3::{LdapError, LdapResult};

use crate::redact::scrub;
use crate::targets::TargetOutcome;

/// Which step of an apply an answer belongs to: the same code means different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Connect,
    Bind,
    Search,
    SetPassword,
}

impl From<pwsync_ldap::ConnectPhase> for Step {
    fn from(phase: pwsync_ldap::ConnectPhase) -> Step {
        match phase {
            pwsync_ldap::ConnectPhase::Connect => Step::Connect,
            pwsync_ldap::ConnectPhase::Bind => Step::Bind,
        }
    }
}

impl Step {
    fn describe(self) -> &'static str {
        match self {
            Step::Connect => "connecting to the directory",
            Step::Bind => "binding as the configured bind_dn",
            Step::Search => "searching for the account",
            Step::SetPassword => "setting the password",
        }
    }
}

/// An outcome and what else the caller must do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub outcome: TargetOutcome,
    /// An operator must fix the configuration: log it as an error, loudly.
    pub configuration_error: bool,
    /// The connection still works and may serve the next change.
    pub connection_reusable: bool,
    /// The connection failed (not the directory's answer): no operation result came back.
    pub connection_lost: bool,
}

/// Retry soon, but not in a tight loop, when the directory is busy or away.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Result codes of RFC 4511 that mean "try again later".
const BUSY_CODES: [u32; 6] = [
    3,  // timeLimitExceeded
    11, // adminLimitExceeded
    51, // busy
    52, // unavailable
    80, // other (OpenLDAP and AD use it for internal errors)
    1,  // operationsError
];

pub fn classify(step: Step, error: &LdapError, password: &str) -> Classified {
    match error {
        LdapError::LdapResult { result } => classify_result(step, result, password),
        _ if is_tls_failure(error) => Classified {
            outcome: transient(format!(
                "{}: TLS failed ({}); check url and ca_file",
                step.describe(),
                scrub(&error.to_string(), password)
            )),
            configuration_error: true,
            connection_reusable: false,
            connection_lost: true,
        },
        // I/O, timeouts, a closed connection: the network or the directory is away.
        _ => Classified {
            outcome: transient(format!("{}: {}", step.describe(), scrub(&error.to_string(), password))),
            configuration_error: false,
            connection_reusable: false,
            connection_lost: true,
        },
    }
}

/// A failed TLS handshake (an unknown issuer, a name mismatch): retrying will not fix it. The
/// TLS stream reports it as an I/O error wrapping the rustls error.
fn is_tls_failure(error: &LdapError) -> bool {
    match error {
        LdapError::Rustls { .. } | LdapError::DNSName { .. } => true,
        LdapError::Io { source } => {
            source.get_ref().is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        }
        _ => false,
    }
}

pub fn classify_result(step: Step, result: &LdapResult, password: &str) -> Classified {
    let mut text = scrub(&result.text, password);
    if let Some(cause) = super::ppolicy::error_name(result) {
        text =
            if text.is_empty() { format!("ppolicy: {cause}") } else { format!("{text} (ppolicy: {cause})") };
    }
    let detail = if text.is_empty() {
        format!("{} ({})", code_name(result.rc), result.rc)
    } else {
        format!("{} ({}): {text}", code_name(result.rc), result.rc)
    };
    let reason = format!("{}: {detail}", step.describe());
    let busy = BUSY_CODES.contains(&result.rc);
    let configuration_error = match step {
        Step::Connect | Step::Bind => true,
        // The base DN does not exist: nothing can be found until the configuration is fixed.
        Step::Search => result.rc == 32,
        Step::SetPassword => false,
    };
    let outcome =
        if busy || configuration_error { transient(reason) } else { TargetOutcome::Rejected { reason } };
    Classified {
        outcome,
        configuration_error,
        connection_reusable: !busy && !matches!(step, Step::Connect | Step::Bind),
        connection_lost: false,
    }
}

fn transient(reason: String) -> TargetOutcome {
    TargetOutcome::Transient { reason, retry_after: Some(RETRY_AFTER) }
}

/// The RFC 4511 name of a result code, for reasons an operator reads.
fn code_name(rc: u32) -> &'static str {
    match rc {
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        13 => "confidentialityRequired",
        16 => "noSuchAttribute",
        19 => "constraintViolation",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        80 => "other",
        _ => "LDAP error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(rc: u32, text: &str) -> LdapResult {
        LdapResult { rc, matched: String::new(), text: text.into(), refs: vec![], ctrls: vec![] }
    }

    #[test]
    fn a_policy_refusal_is_permanent_with_the_servers_text_scrubbed() {
        let classified =
            classify_result(Step::SetPassword, &result(19, "Password is too short: Sh0rt"), "Sh0rt");
        assert_eq!(
            classified.outcome,
            TargetOutcome::Rejected {
                reason: "setting the password: constraintViolation (19): Password is too short: <redacted>"
                    .into()
            }
        );
        assert!(!classified.configuration_error);
        assert!(classified.connection_reusable);
    }

    #[test]
    fn busy_and_unavailable_are_transient_and_drop_the_connection() {
        for rc in [51, 52] {
            let classified = classify_result(Step::SetPassword, &result(rc, ""), "x");
            assert!(matches!(classified.outcome, TargetOutcome::Transient { .. }), "{rc}");
            assert!(!classified.connection_reusable);
        }
    }

    #[test]
    fn bad_bind_credentials_are_a_transient_configuration_error() {
        let classified = classify_result(Step::Bind, &result(49, ""), "x");
        let TargetOutcome::Transient { reason, .. } = &classified.outcome else { panic!("{classified:?}") };
        assert!(reason.contains("invalidCredentials (49)"), "{reason}");
        assert!(classified.configuration_error);
        // The same code for the user's entry is not about pwsync's configuration.
        let classified = classify_result(Step::SetPassword, &result(50, "no write access"), "x");
        assert!(matches!(classified.outcome, TargetOutcome::Rejected { .. }));
        assert!(!classified.configuration_error);
    }

    #[test]
    fn a_missing_base_dn_is_a_configuration_error() {
        let classified = classify_result(Step::Search, &result(32, ""), "x");
        assert!(classified.configuration_error);
        assert!(matches!(classified.outcome, TargetOutcome::Transient { .. }));
    }

    #[test]
    fn network_errors_are_transient() {
        let error = LdapError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let classified = classify(Step::Connect, &error, "x");
        assert!(matches!(classified.outcome, TargetOutcome::Transient { .. }));
        assert!(!classified.configuration_error);
        assert!(!classified.connection_reusable);
        assert!(classified.connection_lost);
    }

    #[test]
    fn a_failed_certificate_check_is_a_configuration_error() {
        let rustls_error = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let error = LdapError::from(std::io::Error::new(std::io::ErrorKind::InvalidData, rustls_error));
        let classified = classify(Step::Connect, &error, "x");
        assert!(classified.configuration_error);
        let TargetOutcome::Transient { reason, .. } = classified.outcome else { panic!("transient") };
        assert!(reason.contains("TLS failed"), "{reason}");
    }
}
