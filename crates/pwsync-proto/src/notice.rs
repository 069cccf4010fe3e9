//! Notices: what a client tells the server about a captured change it will not forward, so that
//! the decision is in the server's audit log, the one place operators look, and not only in a
//! DC's local log.
//!
//! A notice describes a change (id, account, capture time, origin) and why it is not forwarded.
//! It must never carry a password: the type has no field that could hold one.

use serde::{Deserialize, Serialize};

use crate::objects_only::objects_only;

objects_only!(Notice, NoticeBatch);

use crate::limits::{self, ProtoError};

/// Path of the notice endpoint.
pub const NOTICES_PATH: &str = "/v1/notices";

/// Longest reason text a notice may carry.
pub const MAX_NOTICE_REASON_BYTES: usize = 1024;

/// Why a captured change is not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The account is outside the client's scope filter.
    OutOfScope,
    /// A pre-commit hook captured it, but the directory never showed the change committed
    /// (Samba refused it after the hook, e.g. for password history).
    NotCommitted,
}

impl NoticeKind {
    /// The audit event name.
    pub fn event(self) -> &'static str {
        match self {
            NoticeKind::OutOfScope => "out_of_scope",
            NoticeKind::NotCommitted => "not_committed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
// Objects only (objects_only.rs): the trait impls are below.
#[serde(remote = "Self")]
pub struct Notice {
    /// The change id made by the capture hook.
    pub id: String,
    pub domain: String,
    pub account: String,
    #[serde(deserialize_with = "crate::json_integer::i64")]
    pub captured_at_ns: i64,
    pub origin: String,
    pub kind: NoticeKind,
    /// What decided it (the query and its answer), for the operator.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
// Objects only (objects_only.rs): the trait impls are below.
#[serde(remote = "Self")]
pub struct NoticeBatch {
    pub notices: Vec<Notice>,
}

/// The server's answer: the ids it recorded. A client deletes a record only once its notice
/// is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeReceipt {
    pub recorded: Vec<String>,
}

impl Notice {
    /// Checks every field against the protocol limits.
    pub fn validate(&self) -> Result<(), ProtoError> {
        limits::check_change_id(&self.id)?;
        limits::check_domain(&self.domain)?;
        limits::check_text("account", &self.account, 1, limits::MAX_ACCOUNT_BYTES)?;
        limits::check_text("origin", &self.origin, 1, limits::MAX_ORIGIN_BYTES)?;
        limits::check_text("reason", &self.reason, 1, MAX_NOTICE_REASON_BYTES)?;
        if self.captured_at_ns <= 0 {
            return Err(ProtoError::BadCaptureTime);
        }
        Ok(())
    }

    /// The ledger's account key, as for a change.
    pub fn account_key(&self) -> String {
        format!("{}\\{}", self.domain.to_lowercase(), self.account.to_lowercase())
    }
}

impl NoticeBatch {
    pub fn validate(&self) -> Result<(), ProtoError> {
        self.validate_within(limits::MAX_BATCH_CHANGES)
    }

    /// As [`NoticeBatch::validate`], with a server's own batch limit.
    pub fn validate_within(&self, max_notices: usize) -> Result<(), ProtoError> {
        if self.notices.is_empty() {
            return Err(ProtoError::EmptyBatch);
        }
        if self.notices.len() > max_notices {
            return Err(ProtoError::BatchTooLarge { max: max_notices });
        }
        self.notices.iter().try_for_each(Notice::validate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Notice {
        Notice {
            id: "0123456789abcdef0123456789abcdef".into(),
            domain: "corp.example".into(),
            account: "WS01$".into(),
            captured_at_ns: 1_700_000_000_000_000_000,
            origin: "dc1".into(),
            kind: NoticeKind::OutOfScope,
            reason: "not matched by (&(objectCategory=person)(objectClass=user))".into(),
        }
    }

    #[test]
    fn a_good_notice_validates_and_round_trips() {
        let batch = NoticeBatch { notices: vec![sample()] };
        batch.validate().unwrap();
        let json = serde_json::to_string(&batch).unwrap();
        assert!(json.contains("\"kind\":\"out_of_scope\""), "{json}");
        assert_eq!(serde_json::from_str::<NoticeBatch>(&json).unwrap(), batch);
    }

    #[test]
    fn bad_notices_are_refused_by_name() {
        let notice = Notice { id: "x".into(), ..sample() };
        assert_eq!(notice.validate(), Err(ProtoError::BadChangeId));
        let notice = Notice { reason: String::new(), ..sample() };
        assert!(matches!(notice.validate(), Err(ProtoError::FieldLength { field: "reason", .. })));
        assert_eq!(NoticeBatch { notices: vec![] }.validate(), Err(ProtoError::EmptyBatch));
        let mut json = serde_json::to_value(sample()).unwrap();
        json["password"] = serde_json::json!("pwsync-canary-1!");
        assert!(serde_json::from_value::<Notice>(json).is_err(), "a notice has no password field");
    }
}
