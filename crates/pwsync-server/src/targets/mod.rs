//! Targets: the systems a password is set in. A target maps the change to its own identity,
//! sets the password, and classifies the outcome as applied, permanently rejected, or transient.
//!
//! A target must never log or return the password; whatever text it returns is scrubbed again by
//! the dispatcher, but the first duty is the target's.

mod dry_run;
mod exec;
mod graph;
mod ldap;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use pwsync_proto::{Identity, SecretString};

pub use dry_run::{DryRunConfig, DryRunTarget};
pub use exec::{ExecConfig, ExecTarget};
pub use graph::{
    immutable_id, AssertionAlgorithm, GraphCloud, GraphConfig, GraphConfigError, GraphTarget, MatchBy,
    SuffixRewrite,
};
pub use ldap::{LdapConfig, LdapConfigError, LdapMode, LdapTarget};

/// What a target needs to set one password.
#[derive(Debug)]
pub struct ApplyRequest {
    pub change_id: String,
    pub domain: String,
    pub account: String,
    pub identity: Identity,
    pub password: SecretString,
    pub captured_at_ns: i64,
    pub origin: String,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetOutcome {
    Applied,
    /// The target refused for good (policy, unknown account); retrying will not help.
    Rejected {
        reason: String,
    },
    /// Try again later; `retry_after` when the target said how long to wait.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
}

pub type ApplyFuture<'a> = Pin<Box<dyn Future<Output = TargetOutcome> + Send + 'a>>;

/// What a read-only probe found: `Ok(description)` (e.g. the entry the account maps to) or
/// `Err(reason)`. A probe never changes anything at the target.
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// A system that can receive passwords.
pub trait Target: Send + Sync {
    /// The configured name, used in the ledger and in verdict reasons.
    fn name(&self) -> &str;
    /// How many calls to this target may run at once.
    fn concurrency(&self) -> usize;
    fn apply<'a>(&'a self, request: &'a ApplyRequest) -> ApplyFuture<'a>;
    /// Checks, without changing anything, that the target is reachable and can find the
    /// account of `request` (whose password is empty). For `pwsync target test`.
    fn probe<'a>(&'a self, _request: &'a ApplyRequest) -> ProbeFuture<'a> {
        Box::pin(async { Ok("nothing to look up for this kind of target".to_string()) })
    }
}

pub type SharedTarget = Arc<dyn Target>;
