//! The ledger's vocabulary: what goes in (a change's metadata, target results, audit events)
//! and what comes out (an admission decision, a change state).
//!
//! None of these types may ever hold a password: the ledger is a record of facts about
//! changes, not of their content.

use crate::ordering::OrderKey;

/// Everything the ledger keeps about a change: its identity and order, never its password.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    pub id: String,
    pub account_key: String,
    pub domain: String,
    pub account: String,
    pub captured_at_ns: i64,
    pub origin: String,
    pub origin_seq: u64,
    pub source: String,
    /// Certificate name of the submitting client.
    pub client: String,
    /// The directory's version of the password (`msDS-KeyVersionNumber`), when the client knew it.
    pub directory_version: Option<u32>,
}

impl ChangeRecord {
    pub fn order_key(&self) -> OrderKey {
        OrderKey {
            directory_version: self.directory_version,
            captured_at_ns: self.captured_at_ns,
            origin: self.origin.clone(),
            origin_seq: self.origin_seq,
            change_id: self.id.clone(),
        }
    }
}

/// The ledger's decision about a submitted change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Apply it to these targets (those that have not applied or refused it yet).
    /// `superseded_pending`: older changes of the account, left pending, now settled superseded.
    Apply { remaining: Vec<String>, superseded_pending: usize },
    /// Settled before: answer from the ledger, apply nothing.
    Settled(ChangeState, Option<String>),
    /// A newer change of the account exists.
    Superseded { by: Option<String> },
    /// The id is known for a different account or capture time: a client bug or forgery.
    IdConflict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeState {
    Pending,
    Applied,
    Superseded,
    Rejected,
}

impl ChangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Pending => "pending",
            ChangeState::Applied => "applied",
            ChangeState::Superseded => "superseded",
            ChangeState::Rejected => "rejected",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, LedgerError> {
        match text {
            "pending" => Ok(ChangeState::Pending),
            "applied" => Ok(ChangeState::Applied),
            "superseded" => Ok(ChangeState::Superseded),
            "rejected" => Ok(ChangeState::Rejected),
            other => Err(LedgerError::Corrupt(format!("unknown change state {other:?}"))),
        }
    }
}

/// A target's outcome for one change in one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Applied,
    Rejected,
    Retry,
}

#[derive(Debug, Clone)]
pub struct TargetResult {
    pub target: String,
    pub state: TargetState,
    /// Already redacted by the dispatcher.
    pub reason: Option<String>,
    pub latency_us: u64,
}

/// A security or operations event worth keeping: refused handshakes, refused changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEvent {
    pub event: String,
    pub client: Option<String>,
    pub peer: Option<String>,
    pub change_id: Option<String>,
    pub account_key: Option<String>,
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the ledger was written by a newer pwsync (schema {found}, this build knows {supported})")]
    NewerSchema { found: i64, supported: i64 },
    #[error("the ledger holds unexpected data: {0}")]
    Corrupt(String),
    #[error("cannot open the ledger {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("the ledger transaction did not commit: {0}")]
    CommitFailed(String),
    #[error("the ledger writer has stopped")]
    Stopped,
}
