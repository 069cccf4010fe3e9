//! Scope: decides whether a captured account is forwarded, and gathers the identity attributes
//! targets use to find it.
//!
//! Two kinds: every account ([`AllAccounts`]), or the accounts an LDAP filter selects in the
//! directory ([`DirectoryScope`], asking the DC itself). A scope that cannot decide (directory
//! unreachable) must answer `Unavailable`, which keeps the record: a scope never drops a change
//! because it could not look.

mod attributes;
mod confirm;
mod directory;

use std::future::Future;
use std::pin::Pin;

use pwsync_proto::Identity;
use pwsync_seal::Change;

pub use confirm::{CommitConfirmer, Confirmation};
pub use directory::{DirectoryScope, ScopeTest};

/// What the directory says about when the account's password last changed: what confirms
/// that a change captured before its commit (Samba's check password script) took effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommitEvidence {
    /// `pwdLastSet` as Unix nanoseconds; `None` when 0 (must change at next logon) or absent.
    pub password_last_set_ns: Option<i64>,
    /// `whenChanged` as Unix nanoseconds (one-second resolution).
    pub when_changed_ns: Option<i64>,
    /// `msDS-KeyVersionNumber`: one more for every committed password change of the account.
    pub key_version: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeDecision {
    /// Forward it, with these identity attributes. `evidence` is present when the scope asked
    /// a directory.
    InScope {
        identity: Identity,
        evidence: Option<CommitEvidence>,
    },
    OutOfScope {
        reason: String,
    },
    Unavailable {
        reason: String,
    },
}

pub type ScopeFuture<'a> = Pin<Box<dyn Future<Output = ScopeDecision> + Send + 'a>>;

pub trait Scope: Send + Sync {
    fn check<'a>(&'a self, change: &'a Change) -> ScopeFuture<'a>;
    /// One line for logs and `--help`-style output.
    fn describe(&self) -> String;
}

/// Every account is in scope; the identity carries the UPN when the hook saw one.
pub struct AllAccounts;

impl Scope for AllAccounts {
    fn check<'a>(&'a self, change: &'a Change) -> ScopeFuture<'a> {
        Box::pin(async move {
            ScopeDecision::InScope {
                identity: Identity { user_principal_name: change.upn.clone(), ..Identity::default() },
                evidence: None,
            }
        })
    }

    fn describe(&self) -> String {
        "all accounts".into()
    }
}
