//! [`Change`]: one captured password change, the clear-text content of a record.
//!
//! It must never print the password: its derived `Debug` relies on [`Password`]'s
//! redaction. Field limits are checked when sealing and opening (see `payload`), not here,
//! so that a caller can build a `Change` field by field.

use crate::{ChangeId, Password, SourceKind};

/// One password change as captured on a domain controller or host.
#[derive(Debug, Clone)]
pub struct Change {
    /// Random, unique id of this change (idempotent delivery, spool file name).
    pub id: ChangeId,
    /// Account (sAMAccountName or user name), UTF-8, 1..=256 bytes, no NUL.
    pub account: String,
    /// User principal name if the hook knows it, UTF-8, 1..=1024 bytes, no NUL.
    pub upn: Option<String>,
    /// The new password, UTF-8, 1..=1024 bytes.
    pub password: Password,
    /// When the hook captured the change: Unix epoch nanoseconds, UTC.
    pub captured_at_ns: i64,
    /// The host or domain controller that captured it, UTF-8, 1..=255 bytes, no NUL.
    pub origin: String,
    /// Per-origin sequence number, breaks ties between equal capture times.
    pub origin_seq: u64,
    /// Which hook captured it.
    pub source: SourceKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_show_the_password() {
        let change = Change {
            id: ChangeId::from_bytes([7; 16]),
            account: "alice".to_owned(),
            upn: None,
            password: Password::new("Sup3r-Secret!".to_owned()),
            captured_at_ns: 1,
            origin: "dc1".to_owned(),
            origin_seq: 1,
            source: SourceKind::Samba,
        };
        let shown = format!("{:?} {:#?}", change, change);
        assert!(!shown.contains("Sup3r"), "{}", shown);
        assert!(shown.contains("alice"));
    }
}
