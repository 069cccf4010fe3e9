//! The server's answer: one verdict per submitted change, or an error for the whole request.
//!
//! A verdict is what lets the client delete a spool record, so its meaning is strict: only
//! `applied`, `superseded`, `out_of_scope` and `rejected` are final; `retry` keeps the record.

use serde::{Deserialize, Serialize};

/// The answer to a valid `POST /v1/changes`, in the order of the submitted changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchVerdicts {
    pub verdicts: Vec<VerdictEntry>,
}

// No deny_unknown_fields here: serde does not support it together with `flatten`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictEntry {
    pub id: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// What became of one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every target has the password.
    Applied,
    /// A newer change of the same account exists; this one will never be applied.
    Superseded {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// The account is outside the configured scope.
    OutOfScope { reason: String },
    /// Permanently refused (policy, unknown account, authorization). Retrying will not help.
    Rejected { reason: String },
    /// Not settled yet (a target is busy or down): submit again after `after_ms`.
    Retry { after_ms: u64, reason: String },
}

impl Verdict {
    /// True when the client may remove the record from its pending spool.
    pub fn is_final(&self) -> bool {
        !matches!(self, Verdict::Retry { .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Applied => "applied",
            Verdict::Superseded { .. } => "superseded",
            Verdict::OutOfScope { .. } => "out_of_scope",
            Verdict::Rejected { .. } => "rejected",
            Verdict::Retry { .. } => "retry",
        }
    }
}

/// Body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: ApiErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError { error: ApiErrorBody { code: code.into(), message: message.into() } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_have_a_flat_tagged_json_shape() {
        let entry = VerdictEntry {
            id: "ab".into(),
            verdict: Verdict::Retry { after_ms: 500, reason: "target busy".into() },
        };
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id":"ab","verdict":"retry","after_ms":500,"reason":"target busy"})
        );
        let back: VerdictEntry = serde_json::from_value(json).unwrap();
        assert_eq!(back, entry);
        assert!(!back.verdict.is_final());
        assert!(Verdict::Applied.is_final());
    }
}
