//! Turns Graph's answer to a password reset into a target outcome, one row of the documented
//! error table at a time: the complexity and synced-object refusals are permanent with a
//! reason an operator can act on; 403 is a permanent configuration error to be logged loudly;
//! 404 may be directory-sync lag (the caller retries it for a bounded window); 409, 412, 5xx
//! and the network are transient; 429 waits exactly `Retry-After`.
//!
//! Every text returned here is scrubbed of the password; this module must never let Graph's
//! text through unscrubbed.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;

use crate::redact::scrub;
use crate::targets::TargetOutcome;

/// Retry soon, but not in a tight loop, when Graph is busy and did not say how long to wait.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(5);

/// What one answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Outcome {
        outcome: TargetOutcome,
        /// An operator must fix the application's permissions or roles: log it loudly.
        configuration_error: bool,
    },
    /// 401: the token was refused; obtain a new one and try once more.
    Unauthorized { reason: String },
    /// 404: no such user (yet); the caller decides by the change's age.
    NotFound { reason: String },
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// `code: message` of a Graph error body, or the start of whatever the body is.
pub fn error_text(body: &str) -> String {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => format!("{}: {}", error.code, error.message),
        Err(_) => body.chars().take(200).collect(),
    }
}

/// The `Retry-After` header in seconds (Graph sends whole seconds).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

pub fn classify(status: StatusCode, headers: &HeaderMap, body: &str, password: &str) -> Verdict {
    let text = scrub(&error_text(body), password);
    let outcome = |outcome| Verdict::Outcome { outcome, configuration_error: false };
    let transient = |reason: String, wait: Option<Duration>| {
        outcome(TargetOutcome::Transient { reason, retry_after: Some(wait.unwrap_or(DEFAULT_RETRY)) })
    };
    match status.as_u16() {
        200..=299 => outcome(TargetOutcome::Applied),
        400 if text.contains("password complexity") => outcome(TargetOutcome::Rejected {
            reason: format!(
                "Entra ID refused the password: it does not meet the tenant's password complexity \
                 requirements (Graph: {text})"
            ),
        }),
        400 if text.contains("on-premises mastered Directory Sync objects") => {
            outcome(TargetOutcome::Rejected {
                reason: format!(
                "the account is synchronized from on-premises Active Directory, so Entra ID does not let \
                 Graph set its password; password hash sync carries it instead (or exclude synced accounts \
                 from this target) (Graph: {text})"
            ),
            })
        }
        401 => Verdict::Unauthorized { reason: format!("Graph refused the access token: {text}") },
        403 => Verdict::Outcome {
            outcome: TargetOutcome::Rejected {
                reason: format!(
                    "Graph refused for lack of privileges (configuration error): the application needs the \
                     permission User-PasswordProfile.ReadWrite.All with admin consent and the User \
                     Administrator directory role; an administrator's password needs Privileged \
                     Authentication Administrator (Graph: {text})"
                ),
            },
            configuration_error: true,
        },
        404 => Verdict::NotFound { reason: format!("no such user in Entra ID (Graph: {text})") },
        409 | 412 => transient(
            format!("Graph reported a concurrent change (Graph {status}: {text})"),
            retry_after(headers),
        ),
        // 429 waits exactly Retry-After; without one, the pacer backs off exponentially.
        429 => outcome(TargetOutcome::Transient {
            reason: format!("Graph throttled the target (429: {text})"),
            retry_after: Some(retry_after(headers).unwrap_or(Duration::ZERO)),
        }),
        500..=599 => transient(format!("Graph is unavailable ({status}: {text})"), retry_after(headers)),
        _ => outcome(TargetOutcome::Rejected {
            reason: format!("Graph refused the change ({status}: {text})"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str, message: &str) -> String {
        serde_json::json!({"error": {"code": code, "message": message, "innerError": {}}}).to_string()
    }

    fn headers(retry_after: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn an_echoed_password_is_scrubbed_from_the_reason() {
        let text = body(
            "Request_BadRequest",
            "The specified password does not comply with password complexity requirements. Got \"Sh0rt\\\"x\"",
        );
        let verdict = classify(StatusCode::BAD_REQUEST, &headers(None), &text, "Sh0rt\"x");
        let Verdict::Outcome { outcome: TargetOutcome::Rejected { reason }, .. } = verdict else { panic!() };
        assert!(reason.contains("complexity") && !reason.contains("Sh0rt"), "{reason}");
    }

    #[test]
    fn throttling_waits_exactly_retry_after_and_busy_answers_are_transient() {
        let verdict = classify(StatusCode::TOO_MANY_REQUESTS, &headers(Some("7")), "", "x");
        assert!(matches!(verdict, Verdict::Outcome {
            outcome: TargetOutcome::Transient { retry_after: Some(wait), .. }, .. } if wait == Duration::from_secs(7)));
        for status in [409, 412, 500, 503, 504] {
            let verdict = classify(StatusCode::from_u16(status).unwrap(), &headers(None), "{}", "x");
            assert!(
                matches!(
                    verdict,
                    Verdict::Outcome { outcome: TargetOutcome::Transient { .. }, configuration_error: false }
                ),
                "{status}"
            );
        }
    }

    #[test]
    fn forbidden_is_a_permanent_configuration_error() {
        let text = body("Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
        let verdict = classify(StatusCode::FORBIDDEN, &headers(None), &text, "x");
        let Verdict::Outcome { outcome: TargetOutcome::Rejected { reason }, configuration_error: true } =
            verdict
        else {
            panic!("{verdict:?}")
        };
        assert!(reason.contains("User-PasswordProfile.ReadWrite.All"), "{reason}");
    }
}
