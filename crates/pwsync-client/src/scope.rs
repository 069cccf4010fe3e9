//! Scope: decides whether a captured account is forwarded, and gathers the identity attributes
//! targets use to find it.
//!
//! This is the seam where directory filters plug in (an LDAP search asked of the DC itself).
//! A scope that cannot decide (directory unreachable) must answer `Unavailable`, which keeps
//! the record: a scope never drops a change because it could not look.

use std::future::Future;
use std::pin::Pin;

use pwsync_proto::Identity;
use pwsync_seal::Change;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeDecision {
    InScope(Identity),
    OutOfScope { reason: String },
    Unavailable { reason: String },
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
            ScopeDecision::InScope(Identity {
                user_principal_name: change.upn.clone(),
                ..Identity::default()
            })
        })
    }

    fn describe(&self) -> String {
        "all accounts".into()
    }
}
