//! The client daemon's loop: find pending records, open them, drop what a newer record of the
//! same account makes useless, check scope, send in batches, and act on each verdict.
//!
//! A record leaves the spool only on a final verdict (applied, superseded, out of scope:
//! deleted; rejected or unopenable: moved to `failed/` with the reason). Anything else — the
//! server down, a "retry" verdict, the directory unreachable — keeps it, with a back-off. This
//! module must never delete a record on any other path.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use pwsync_proto::{ChangeBatch, SecretString, Verdict, WireChange};
use pwsync_seal::{Change, SecretKey, SourceKind};
use pwsync_spool::{FailureReason, PendingRecord, Spool};
use tokio::sync::Notify;

use crate::backoff::Backoff;
use crate::config::ClientConfig;
use crate::scope::{Scope, ScopeDecision};
use crate::sender::Sender;
use crate::ClientError;

/// How often the daemon logs its spool depth and oldest record even when nothing happens.
const STATUS_INTERVAL: Duration = Duration::from_secs(60);

pub struct Daemon {
    config: ClientConfig,
    spool: Spool,
    keys: Vec<SecretKey>,
    scope: Box<dyn Scope>,
    sender: Sender,
    backoff: Backoff,
    /// When the server was last unreachable, all records wait together.
    server_backoff: Backoff,
}

/// What one pass did, for the loop and for tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub considered: usize,
    pub deleted: usize,
    pub failed: usize,
    pub kept: usize,
}

struct Opened {
    record: PendingRecord,
    change: Change,
}

impl Daemon {
    pub fn new(
        config: ClientConfig,
        spool: Spool,
        keys: Vec<SecretKey>,
        scope: Box<dyn Scope>,
        sender: Sender,
    ) -> Daemon {
        let initial = Duration::from_millis(config.retry.initial_backoff_ms);
        let max = Duration::from_millis(config.retry.max_backoff_ms);
        Daemon {
            config,
            spool,
            keys,
            scope,
            sender,
            backoff: Backoff::new(initial, max),
            server_backoff: Backoff::new(initial, max),
        }
    }

    /// Runs until `shutdown` resolves. A pass in progress is finished first, so no answer the
    /// server already gave is left unacted upon.
    pub async fn run(mut self, wake: Arc<Notify>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let rescan = Duration::from_millis(self.config.client.rescan_interval_ms);
        let mut last_status = Instant::now() - STATUS_INTERVAL;
        loop {
            if last_status.elapsed() >= STATUS_INTERVAL {
                self.log_status();
                last_status = Instant::now();
            }
            let report = match self.pass().await {
                Ok(report) => report,
                Err(error) => {
                    tracing::error!(%error, "spool pass failed; trying again shortly");
                    PassReport { kept: 1, ..PassReport::default() }
                }
            };
            let progressed = report.deleted + report.failed > 0;
            if progressed {
                // More may be waiting behind this pass's window.
                continue;
            }
            let next_retry = self.backoff.next_due().into_iter().chain(self.server_backoff.next_due()).min();
            let until_retry =
                next_retry.map(|due| due.saturating_duration_since(Instant::now())).unwrap_or(rescan);
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(until_retry.min(rescan)) => {}
                _ = &mut shutdown => break,
            }
        }
        tracing::info!("pwsync client stopped");
    }

    fn log_status(&self) {
        match self.spool.stats() {
            Ok(stats) => {
                let oldest_age_s =
                    stats.oldest_captured_at_ns.map(|oldest| (now_ns() - oldest).max(0) / 1_000_000_000);
                tracing::info!(pending = stats.pending, failed = stats.failed, oldest_age_s, "spool status");
            }
            Err(error) => tracing::error!(%error, "cannot read the spool status"),
        }
    }

    /// One look at the spool: handles up to `batch_size × parallel_batches` due records.
    pub async fn pass(&mut self) -> Result<PassReport, ClientError> {
        let mut report = PassReport::default();
        let now = Instant::now();
        if !self.server_backoff.is_due("server", now) {
            return Ok(report);
        }
        let pending = self.spool.list_pending()?;
        let window = self.config.client.batch_size * self.config.client.parallel_batches;
        {
            let names: std::collections::HashSet<&str> =
                pending.iter().map(|record| record.name.as_str()).collect();
            self.backoff.retain(|name| names.contains(name));
        }
        let due: Vec<PendingRecord> = pending
            .into_iter()
            .filter(|record| self.backoff.is_due(&record.name, now))
            .take(window)
            .collect();
        report.considered = due.len();

        let mut opened = Vec::with_capacity(due.len());
        for record in due {
            let bytes = match self.spool.read(&record) {
                Ok(bytes) => bytes,
                Err(error) if is_gone(&error) => continue,
                Err(error) => return Err(error.into()),
            };
            match pwsync_seal::open(&bytes, &self.keys) {
                Ok(change) => opened.push(Opened { record, change }),
                Err(error) => {
                    tracing::warn!(record = %record.name, code = error.code(), %error, "cannot open a spool record; moved to failed/");
                    let reason = FailureReason::one_line(error.code(), &error.to_string());
                    self.spool.fail(&record, &reason)?;
                    report.failed += 1;
                }
            }
        }

        let opened = self.coalesce(opened, &mut report)?;

        let mut sendable = Vec::with_capacity(opened.len());
        for item in opened {
            match self.scope.check(&item.change).await {
                ScopeDecision::InScope(identity) => sendable.push((item, identity)),
                ScopeDecision::OutOfScope { reason } => {
                    tracing::info!(change_id = %item.change.id, account = %item.change.account, %reason,
                        "out of scope; not forwarded");
                    self.spool.ack(&item.record)?;
                    report.deleted += 1;
                }
                ScopeDecision::Unavailable { reason } => {
                    let wait = self.backoff.failed(&item.record.name, Duration::ZERO);
                    tracing::warn!(change_id = %item.change.id, %reason, retry_in_ms = wait.as_millis() as u64,
                        "scope cannot be decided now; keeping the change");
                    report.kept += 1;
                }
            }
        }

        let domain = self.config.client.domain.clone();
        let batches: Vec<Vec<(Opened, pwsync_proto::Identity)>> =
            chunk(sendable, self.config.client.batch_size);
        let sender = &self.sender;
        let requests = batches.iter().map(|batch| {
            let wire = ChangeBatch {
                changes: batch
                    .iter()
                    .map(|(item, identity)| to_wire(&item.change, identity, &domain, &item.record))
                    .collect(),
            };
            async move { sender.send(&wire).await }
        });
        let answers = join_all(requests).await;

        for (batch, answer) in batches.into_iter().zip(answers) {
            match answer {
                Ok(verdicts) => {
                    self.server_backoff.succeeded("server");
                    let by_id: HashMap<String, Verdict> =
                        verdicts.verdicts.into_iter().map(|entry| (entry.id, entry.verdict)).collect();
                    let mut settled = Vec::with_capacity(batch.len());
                    for (item, _) in &batch {
                        let id = item.change.id.to_string();
                        match by_id.get(&id) {
                            Some(verdict) => {
                                if self.act(item, verdict, &mut report)? {
                                    settled.push(&item.record);
                                }
                            }
                            None => {
                                tracing::error!(change_id = %id, "the server's answer has no verdict for this change");
                                self.backoff.failed(&item.record.name, Duration::ZERO);
                                report.kept += 1;
                            }
                        }
                    }
                    self.spool.ack_all(&settled)?;
                    report.deleted += settled.len();
                }
                Err(error) => {
                    let wait = self.server_backoff.failed("server", Duration::ZERO);
                    tracing::warn!(%error, changes = batch.len(), retry_in_ms = wait.as_millis() as u64,
                        "delivery failed; the changes stay in the spool");
                    report.kept += batch.len();
                }
            }
        }
        Ok(report)
    }

    /// Acts on one verdict; returns true when the record is to be deleted (the caller deletes
    /// the batch's records together, with one directory sync).
    fn act(
        &mut self,
        item: &Opened,
        verdict: &Verdict,
        report: &mut PassReport,
    ) -> Result<bool, ClientError> {
        let change = &item.change;
        match verdict {
            Verdict::Applied | Verdict::Superseded { .. } | Verdict::OutOfScope { .. } => {
                tracing::info!(change_id = %change.id, account = %change.account, verdict = verdict.name(),
                    "change settled");
                self.backoff.succeeded(&item.record.name);
                Ok(true)
            }
            Verdict::Rejected { reason } => {
                tracing::warn!(change_id = %change.id, account = %change.account, %reason,
                    "change rejected; record moved to failed/");
                self.spool.fail(&item.record, &FailureReason::one_line("rejected", reason))?;
                self.backoff.succeeded(&item.record.name);
                report.failed += 1;
                Ok(false)
            }
            Verdict::Retry { after_ms, reason } => {
                let wait = self.backoff.failed(&item.record.name, Duration::from_millis(*after_ms));
                tracing::info!(change_id = %change.id, %reason, retry_in_ms = wait.as_millis() as u64,
                    "server asked to retry");
                report.kept += 1;
                Ok(false)
            }
        }
    }

    /// Deletes records made useless by a newer record of the same account in this pass.
    /// A record from a pre-commit hook (Samba's check password script) may describe a change
    /// the directory then refused, so it never makes an older record useless.
    fn coalesce(&mut self, opened: Vec<Opened>, report: &mut PassReport) -> Result<Vec<Opened>, ClientError> {
        let mut newest: HashMap<String, (i64, String, u64)> = HashMap::new();
        for item in opened.iter().filter(|item| !is_pre_commit(item.change.source)) {
            let candidate = order(&item.change);
            let entry = newest.entry(item.change.account.to_lowercase()).or_insert_with(|| candidate.clone());
            if candidate > *entry {
                *entry = candidate;
            }
        }
        let mut kept = Vec::with_capacity(opened.len());
        let mut obsolete = Vec::new();
        for item in opened {
            let superseded = newest
                .get(&item.change.account.to_lowercase())
                .is_some_and(|newest| order(&item.change) < *newest);
            if superseded {
                tracing::info!(change_id = %item.change.id, account = %item.change.account,
                    "superseded locally by a newer pending change of the same account");
                obsolete.push(item.record);
            } else {
                kept.push(item);
            }
        }
        self.spool.ack_all(&obsolete.iter().collect::<Vec<_>>())?;
        report.deleted += obsolete.len();
        Ok(kept)
    }
}

/// The newest-wins order of the server (capture time, origin, origin sequence).
fn order(change: &Change) -> (i64, String, u64) {
    (change.captured_at_ns, change.origin.clone(), change.origin_seq)
}

fn is_pre_commit(source: SourceKind) -> bool {
    matches!(source, SourceKind::Samba)
}

fn to_wire(
    change: &Change,
    identity: &pwsync_proto::Identity,
    domain: &str,
    record: &PendingRecord,
) -> WireChange {
    WireChange {
        id: change.id.to_string(),
        domain: domain.to_string(),
        account: change.account.clone(),
        identity: identity.clone(),
        password: SecretString::new(change.password.expose().to_string()),
        captured_at_ns: change.captured_at_ns,
        origin: change.origin.clone(),
        origin_seq: change.origin_seq,
        source: change.source.as_str().to_string(),
        operator_retry: record.operator_retry,
    }
}

fn chunk<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    let mut current = Vec::with_capacity(size);
    for item in items {
        current.push(item);
        if current.len() == size {
            chunks.push(std::mem::replace(&mut current, Vec::with_capacity(size)));
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// A record that vanished between listing and reading was handled elsewhere (an operator's
/// purge): nothing to do.
fn is_gone(error: &pwsync_spool::SpoolError) -> bool {
    match error {
        pwsync_spool::SpoolError::NotFound { .. } => true,
        pwsync_spool::SpoolError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}

fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos() as i64
}
