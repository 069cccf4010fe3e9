//! The dispatcher: takes one admitted change through the ledger and every target, and turns the
//! result into the verdict the client will act upon.
//!
//! Order of events for a change: lock its account; ask the ledger (idempotence, newest wins);
//! call the remaining targets concurrently, each within its own concurrency limit; record the
//! outcomes; answer. The account lock is held across all of it, so an older change can never
//! reach a target after a newer one. A ledger failure answers "retry", never a final verdict.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use pwsync_proto::{Verdict, WireChange};
use tokio::sync::Semaphore;

use crate::account_locks::AccountLocks;
use crate::ledger::{Admission, AuditEvent, ChangeRecord, ChangeState, Ledger, TargetResult, TargetState};
use crate::redact::scrub;
use crate::targets::{ApplyRequest, SharedTarget, TargetOutcome};

/// Wait suggested to the client when a target gave no Retry-After of its own.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

struct PacedTarget {
    target: SharedTarget,
    permits: Semaphore,
}

/// Shared by every request handler.
pub struct Dispatcher {
    ledger: Ledger,
    locks: AccountLocks,
    targets: Vec<Arc<PacedTarget>>,
    target_names: Vec<String>,
}

/// Who submitted the change, as proven by the TLS handshake.
#[derive(Debug, Clone)]
pub struct Submitter {
    pub client: String,
    pub peer: String,
}

impl Dispatcher {
    pub fn new(ledger: Ledger, targets: Vec<SharedTarget>) -> Self {
        let target_names = targets.iter().map(|target| target.name().to_string()).collect();
        let targets = targets
            .into_iter()
            .map(|target| Arc::new(PacedTarget { permits: Semaphore::new(target.concurrency()), target }))
            .collect();
        Dispatcher { ledger, locks: AccountLocks::default(), targets, target_names }
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Decides and applies one change. Never panics on bad input: the change was validated.
    pub async fn process(&self, change: WireChange, submitter: &Submitter) -> Verdict {
        let account_key = change.account_key();
        let _account = self.locks.lock(&account_key).await;
        let remaining = match self.admit(&change, &account_key, submitter).await {
            Ok(remaining) => remaining,
            Err(verdict) => return verdict,
        };
        let outcomes = self.apply_to_targets(&change, &remaining).await;
        self.settle(&change, &account_key, outcomes).await
    }

    /// Asks the ledger (idempotence, newest wins): the targets still to call, or the verdict
    /// when there is nothing to apply.
    async fn admit(
        &self,
        change: &WireChange,
        account_key: &str,
        submitter: &Submitter,
    ) -> Result<Vec<String>, Verdict> {
        let record = ChangeRecord {
            id: change.id.clone(),
            account_key: account_key.to_string(),
            domain: change.domain.clone(),
            account: change.account.clone(),
            captured_at_ns: change.captured_at_ns,
            origin: change.origin.clone(),
            origin_seq: change.origin_seq,
            source: change.source.clone(),
            client: submitter.client.clone(),
            directory_version: change.directory_version,
        };
        let admission = self
            .ledger
            .admit(record, self.target_names.clone(), change.operator_retry)
            .await
            .map_err(|error| ledger_unavailable(&error, &change.id))?;
        match admission {
            Admission::Apply { remaining, superseded_pending } => {
                if superseded_pending > 0 {
                    tracing::info!(change_id = %change.id, account = %account_key, superseded_pending,
                        "older changes of the account left pending are superseded by this one");
                }
                Ok(remaining)
            }
            Admission::Settled(ChangeState::Rejected, reason) => {
                Err(Verdict::Rejected { reason: reason.unwrap_or_else(|| "rejected".into()) })
            }
            Admission::Settled(_, _) => Err(Verdict::Applied),
            Admission::Superseded { by } => {
                tracing::info!(change_id = %change.id, account = %account_key, superseded_by = ?by, "change superseded");
                Err(Verdict::Superseded { by })
            }
            Admission::IdConflict => {
                let event = AuditEvent {
                    event: "change_id_conflict".into(),
                    client: Some(submitter.client.clone()),
                    peer: Some(submitter.peer.clone()),
                    change_id: Some(change.id.clone()),
                    account_key: Some(account_key.to_string()),
                    detail: "a change with this id was already submitted for another account or time".into(),
                };
                let _ = self.ledger.audit(event).await;
                Err(Verdict::Rejected { reason: "change id already used by a different change".into() })
            }
        }
    }

    /// Calls the remaining targets concurrently, each within its own concurrency limit. The
    /// request holding the password is dropped as soon as every target has answered.
    async fn apply_to_targets(
        &self,
        change: &WireChange,
        remaining: &[String],
    ) -> Vec<(TargetResult, Option<Duration>)> {
        let request = ApplyRequest {
            change_id: change.id.clone(),
            domain: change.domain.clone(),
            account: change.account.clone(),
            identity: change.identity.clone(),
            password: change.password.clone(),
            captured_at_ns: change.captured_at_ns,
            origin: change.origin.clone(),
        };
        let calls = self
            .targets
            .iter()
            .filter(|paced| remaining.iter().any(|name| name == paced.target.name()))
            .map(|paced| call_target(paced, &request));
        let outcomes: Vec<(TargetResult, Option<Duration>)> = join_all(calls).await;
        drop(request);
        for (result, _) in &outcomes {
            tracing::debug!(change_id = %change.id, target_name = %result.target, outcome = result.state.as_str(),
                latency_us = result.latency_us, reason = result.reason.as_deref().unwrap_or(""), "target outcome");
        }
        outcomes
    }

    /// Records the outcomes in the ledger and turns the change's state into the verdict.
    async fn settle(
        &self,
        change: &WireChange,
        account_key: &str,
        outcomes: Vec<(TargetResult, Option<Duration>)>,
    ) -> Verdict {
        let retry_after =
            outcomes.iter().filter_map(|(_, after)| *after).max().unwrap_or(DEFAULT_RETRY_AFTER);
        let transient_reasons: HashMap<String, String> = outcomes
            .iter()
            .filter(|(result, _)| result.state == TargetState::Retry)
            .map(|(result, _)| (result.target.clone(), result.reason.clone().unwrap_or_default()))
            .collect();
        let results = outcomes.into_iter().map(|(result, _)| result).collect();
        match self.ledger.finish(change.id.clone(), self.target_names.clone(), results).await {
            Ok((ChangeState::Applied, _)) => {
                crate::metrics::change_settled("applied");
                crate::metrics::change_latency(change.captured_at_ns, crate::ledger::now_ns());
                tracing::info!(change_id = %change.id, account = %account_key, "change applied");
                Verdict::Applied
            }
            Ok((ChangeState::Rejected, reason)) => {
                let reason = reason.unwrap_or_else(|| "rejected".into());
                crate::metrics::change_settled("rejected");
                tracing::warn!(change_id = %change.id, account = %account_key, %reason, "change rejected");
                Verdict::Rejected { reason }
            }
            Ok((_, _)) => {
                let mut reasons: Vec<String> = transient_reasons
                    .into_iter()
                    .map(|(target, reason)| format!("{target}: {reason}"))
                    .collect();
                reasons.sort();
                let reason = reasons.join("; ");
                tracing::info!(change_id = %change.id, account = %account_key, %reason, "change will be retried");
                Verdict::Retry { after_ms: retry_after.as_millis() as u64, reason }
            }
            Err(error) => ledger_unavailable(&error, &change.id),
        }
    }
}

async fn call_target(paced: &PacedTarget, request: &ApplyRequest) -> (TargetResult, Option<Duration>) {
    let name = paced.target.name().to_string();
    let _permit = paced.permits.acquire().await.expect("target semaphores are never closed");
    let started = Instant::now();
    // Lines the target itself logs carry the change id through this span.
    let span = tracing::info_span!("change", change_id = %request.change_id);
    let outcome = tracing::Instrument::instrument(paced.target.apply(request), span).await;
    let latency_us = started.elapsed().as_micros() as u64;
    let password = request.password.expose();
    let (state, reason, after) = match outcome {
        TargetOutcome::Applied => (TargetState::Applied, None, None),
        TargetOutcome::Rejected { reason } => (TargetState::Rejected, Some(scrub(&reason, password)), None),
        TargetOutcome::Transient { reason, retry_after } => {
            (TargetState::Retry, Some(scrub(&reason, password)), retry_after)
        }
    };
    crate::metrics::target_call(&name, state.as_str(), latency_us as f64 / 1e6, after.is_some());
    (TargetResult { target: name, state, reason, latency_us }, after)
}

fn ledger_unavailable(error: &crate::ledger::LedgerError, change_id: &str) -> Verdict {
    tracing::error!(%change_id, %error, "ledger unavailable; answering retry");
    Verdict::Retry {
        after_ms: DEFAULT_RETRY_AFTER.as_millis() as u64,
        reason: "server ledger unavailable".into(),
    }
}
