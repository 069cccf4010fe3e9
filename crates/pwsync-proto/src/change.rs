//! A password change as the client submits it, and the batch that carries several.
//!
//! Validation lives here so that the server refuses a malformed change with a named error
//! before it touches the ledger or a target; nothing here may echo the password in an error.

use serde::{Deserialize, Serialize};

use crate::objects_only::objects_only;

objects_only!(ChangeBatch, Identity, WireChange);

use crate::limits::{self, ProtoError};
use crate::SecretString;

/// One `POST /v1/changes` body.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
// Objects only (objects_only.rs): the trait impls are below.
#[serde(remote = "Self")]
pub struct ChangeBatch {
    pub changes: Vec<WireChange>,
}

/// Directory attributes the client looked up for the account (all optional: the generic scope
/// does not ask a directory). Targets use them to find the account on their side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
// Objects only (objects_only.rs): the trait impls are below.
#[serde(remote = "Self")]
pub struct Identity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<String>,
    /// objectGUID as the canonical lowercase string form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinguished_name: Option<String>,
}

/// One captured change on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
// Objects only (objects_only.rs): the trait impls are below.
#[serde(remote = "Self")]
pub struct WireChange {
    /// The change id made by the capture hook: 32 lowercase hex characters.
    pub id: String,
    /// DNS name of the directory domain the account belongs to, lowercase. The server accepts
    /// it only if the client's certificate is bound to this domain.
    pub domain: String,
    /// The logon name as the capture point saw it (sAMAccountName, Unix user name, ...).
    pub account: String,
    #[serde(default)]
    pub identity: Identity,
    pub password: SecretString,
    /// Capture time, Unix epoch nanoseconds (UTC). First part of the newest-wins order.
    #[serde(deserialize_with = "crate::json_integer::i64")]
    pub captured_at_ns: i64,
    /// The host or DC that captured the change. Second part of the order.
    pub origin: String,
    /// Per-origin sequence number. Third part of the order.
    #[serde(deserialize_with = "crate::json_integer::u64")]
    pub origin_seq: u64,
    /// Capture point kind: "generic", "samba", "windows-lsa" or "pam".
    pub source: String,
    /// Set when an operator sent a failed record back: targets that rejected it are tried again.
    #[serde(default)]
    pub operator_retry: bool,
    /// The directory's version of this password (`msDS-KeyVersionNumber`), when the client
    /// could attribute it to this change. Orders the account's changes before capture time
    /// when both carry one, as Active Directory does.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::json_integer::option_u32"
    )]
    pub directory_version: Option<u32>,
}

impl WireChange {
    /// Checks every field against the protocol limits. Errors name the field, never its value
    /// when the field is secret.
    pub fn validate(&self) -> Result<(), ProtoError> {
        limits::check_change_id(&self.id)?;
        limits::check_domain(&self.domain)?;
        limits::check_text("account", &self.account, 1, limits::MAX_ACCOUNT_BYTES)?;
        limits::check_text("origin", &self.origin, 1, limits::MAX_ORIGIN_BYTES)?;
        limits::check_text("source", &self.source, 1, 32)?;
        let identity_fields = [
            ("identity.user_principal_name", &self.identity.user_principal_name),
            ("identity.mail", &self.identity.mail),
            ("identity.object_guid", &self.identity.object_guid),
            ("identity.distinguished_name", &self.identity.distinguished_name),
        ];
        for (name, value) in identity_fields {
            if let Some(value) = value {
                limits::check_text(name, value, 1, limits::MAX_IDENTITY_BYTES)?;
            }
        }
        let password = self.password.expose();
        if password.is_empty() {
            return Err(ProtoError::EmptyPassword);
        }
        if password.len() > limits::MAX_PASSWORD_BYTES {
            return Err(ProtoError::PasswordTooLong { max: limits::MAX_PASSWORD_BYTES });
        }
        if password.contains('\0') {
            return Err(ProtoError::PasswordHasNul);
        }
        if self.captured_at_ns <= 0 {
            return Err(ProtoError::BadCaptureTime);
        }
        Ok(())
    }

    /// The key under which the ledger orders changes of one account: the domain and the account
    /// name, case-folded because directory logon names are case-insensitive.
    pub fn account_key(&self) -> String {
        format!("{}\\{}", self.domain.to_lowercase(), self.account.to_lowercase())
    }
}

impl ChangeBatch {
    /// Checks the batch as a whole. Each change is validated on its own (see
    /// [`WireChange::validate`]) so that one bad change is refused alone.
    pub fn validate(&self) -> Result<(), ProtoError> {
        self.validate_within(limits::MAX_BATCH_CHANGES)
    }

    /// As [`ChangeBatch::validate`], with a server's own batch limit.
    pub fn validate_within(&self, max_changes: usize) -> Result<(), ProtoError> {
        if self.changes.is_empty() {
            return Err(ProtoError::EmptyBatch);
        }
        if self.changes.len() > max_changes {
            return Err(ProtoError::BatchTooLarge { max: max_changes });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> WireChange {
        WireChange {
            id: "0123456789abcdef0123456789abcdef".into(),
            domain: "corp.example".into(),
            account: "alice".into(),
            identity: Identity::default(),
            password: SecretString::new("pwsync-canary-Secret1!".into()),
            captured_at_ns: 1_700_000_000_000_000_000,
            origin: "dc1".into(),
            origin_seq: 7,
            source: "generic".into(),
            operator_retry: false,
            directory_version: None,
        }
    }

    #[test]
    fn a_good_change_validates() {
        sample().validate().unwrap();
    }

    #[test]
    fn bad_fields_get_named_errors_without_the_password() {
        let mut c = sample();
        c.id = "XYZ".into();
        assert_eq!(c.validate().unwrap_err(), ProtoError::BadChangeId);

        let mut c = sample();
        c.account = String::new();
        assert!(matches!(c.validate().unwrap_err(), ProtoError::FieldLength { field: "account", .. }));

        let mut c = sample();
        c.account = "a\0b".into();
        assert!(matches!(c.validate().unwrap_err(), ProtoError::ControlCharacter { field: "account" }));

        let mut c = sample();
        c.domain = "Corp.Example".into();
        assert!(matches!(c.validate().unwrap_err(), ProtoError::BadDomain));

        let mut c = sample();
        c.password = SecretString::new("x".repeat(limits::MAX_PASSWORD_BYTES + 1));
        let error = c.validate().unwrap_err();
        assert!(matches!(error, ProtoError::PasswordTooLong { .. }));
        assert!(!error.to_string().contains("xxx"));

        let mut c = sample();
        c.captured_at_ns = 0;
        assert_eq!(c.validate().unwrap_err(), ProtoError::BadCaptureTime);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut json = serde_json::to_value(sample()).unwrap();
        json["surprise"] = serde_json::json!(1);
        assert!(serde_json::from_value::<WireChange>(json).is_err());
    }

    #[test]
    fn batch_limits() {
        assert_eq!(ChangeBatch { changes: vec![] }.validate().unwrap_err(), ProtoError::EmptyBatch);
        let big = ChangeBatch { changes: (0..=MAX).map(|_| sample()).collect() };
        assert!(matches!(big.validate().unwrap_err(), ProtoError::BatchTooLarge { .. }));
        let three = ChangeBatch { changes: (0..3).map(|_| sample()).collect() };
        assert_eq!(three.validate_within(2).unwrap_err(), ProtoError::BatchTooLarge { max: 2 });
        three.validate_within(3).unwrap();
    }
    const MAX: usize = limits::MAX_BATCH_CHANGES;

    #[test]
    fn account_key_folds_case() {
        let mut c = sample();
        c.account = "Alice".into();
        assert_eq!(c.account_key(), "corp.example\\alice");
    }
}
