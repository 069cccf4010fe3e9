//! The client daemon's loop: find pending records, open them, drop what a newer record of the
//! same account makes useless, check scope, send in batches, and act on each verdict.
//!
//! A record leaves the spool only on a final verdict (applied, superseded: deleted; rejected or
//! unopenable: moved to `failed/` with the reason), or once the server has recorded a notice
//! saying why it is not forwarded (out of scope; captured before a commit that never came).
//! Anything else — the server down, a "retry" verdict, the directory unreachable, a commit not
//! yet visible — keeps it, with a back-off. This module must never delete a record on any
//! other path.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pwsync_proto::{
    BatchVerdicts, ChangeBatch, Identity, Notice, NoticeBatch, NoticeKind, SecretString, Verdict, WireChange,
};
use pwsync_seal::{Change, SecretKey, SourceKind};
use pwsync_spool::{FailureReason, PendingRecord, Spool};
use tokio::sync::Notify;

use crate::backoff::Backoff;
use crate::config::ClientConfig;
use crate::scope::{CommitConfirmer, CommitEvidence, Confirmation, Scope, ScopeDecision};
use crate::sender::Sender;
use crate::ClientError;

/// How often the daemon logs its spool depth and oldest record even when nothing happens.
const STATUS_INTERVAL: Duration = Duration::from_secs(60);

/// Looks at the directory again this soon for a commit not yet visible: Samba commits within
/// milliseconds of the hook, and the change should reach the targets as fast.
const CONFIRM_FIRST_WAIT: Duration = Duration::from_millis(20);
const CONFIRM_MAX_WAIT: Duration = Duration::from_secs(5);

pub struct Daemon {
    config: ClientConfig,
    spool: Spool,
    keys: Arc<Vec<SecretKey>>,
    scope: Arc<dyn Scope>,
    /// Present when the scope asks a directory: confirms commits of pre-commit captures.
    confirmer: Option<Arc<CommitConfirmer>>,
    sender: Arc<Sender>,
    lane: Lane,
    backoff: Backoff,
    /// Records whose commit the directory does not show yet.
    confirm_wait: Backoff,
    /// When the server was last unreachable, all records wait together.
    server_backoff: Backoff,
    /// Capture failures the hooks noted, as last reported.
    capture_failures_seen: u64,
}

/// Which share of the spool a daemon works: records whose change id falls in its lane.
#[derive(Debug, Clone, Copy)]
pub struct Lane {
    pub index: usize,
    pub count: usize,
}

impl Lane {
    fn owns(&self, record: &PendingRecord) -> bool {
        usize::from(record.id.as_bytes()[0]) % self.count == self.index
    }
}

/// What one pass did, for the loop and for tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub considered: usize,
    pub deleted: usize,
    pub failed: usize,
    pub kept: usize,
}

/// A record and the result of trying to open it.
type OpenAttempt = (PendingRecord, Result<Change, pwsync_seal::OpenError>);

struct Opened {
    record: PendingRecord,
    change: Change,
    /// The directory's version of this change's password, once the scope could attribute one.
    directory_version: Option<u32>,
}

/// What becomes of a pre-commit record once the directory was asked.
enum Disposition {
    Send(Opened, Identity),
    Notice(Opened, Notice),
    /// Deleted, moved to `failed/`, or kept for a later look: nothing more this pass.
    Settled,
}

impl Daemon {
    pub fn new(
        config: ClientConfig,
        spool: Spool,
        keys: Arc<Vec<SecretKey>>,
        scope: Arc<dyn Scope>,
        confirmer: Option<Arc<CommitConfirmer>>,
        sender: Arc<Sender>,
        lane: Lane,
    ) -> Daemon {
        let initial = Duration::from_millis(config.retry.initial_backoff_ms);
        let max = Duration::from_millis(config.retry.max_backoff_ms);
        Daemon {
            config,
            spool,
            keys,
            scope,
            confirmer,
            sender,
            lane,
            backoff: Backoff::new(initial, max),
            confirm_wait: Backoff::new(CONFIRM_FIRST_WAIT, CONFIRM_MAX_WAIT),
            server_backoff: Backoff::new(initial, max),
            capture_failures_seen: 0,
        }
    }

    /// The HTTPS sender this lane shares with the others.
    pub fn sender(&self) -> Arc<Sender> {
        self.sender.clone()
    }

    /// Runs until `shutdown` resolves. A pass in progress is finished first, so no answer the
    /// server already gave is left unacted upon.
    pub async fn run(mut self, wake: Arc<Notify>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let rescan = Duration::from_millis(self.config.client.rescan_interval_ms);
        let mut last_status = Instant::now() - STATUS_INTERVAL;
        loop {
            // One lane speaks for the spool as a whole.
            if self.lane.index == 0 && last_status.elapsed() >= STATUS_INTERVAL {
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
            let next_retry =
                [self.backoff.next_due(), self.confirm_wait.next_due(), self.server_backoff.next_due()]
                    .into_iter()
                    .flatten()
                    .min();
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

    fn log_status(&mut self) {
        match pwsync_spool::read_capture_failures(self.spool.root()) {
            Ok(failures) if failures.count > self.capture_failures_seen => {
                tracing::error!(
                    count = failures.count,
                    new = failures.count - self.capture_failures_seen,
                    last = failures.last.as_deref().unwrap_or_default(),
                    journal = %self.spool.root().join(pwsync_spool::CAPTURE_FAILURES_FILE).display(),
                    "capture hooks let password changes through UNCAPTURED: those accounts differ at the targets until their next change"
                );
                self.capture_failures_seen = failures.count;
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "cannot read the capture-failure journal"),
        }
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
        if !self.server_backoff.is_due("server", Instant::now()) {
            return Ok(report);
        }
        let due = self.due_records()?;
        report.considered = due.len();
        let opened = self.open_due(due, &mut report).await?;
        let opened = self.coalesce(opened, &mut report)?;
        self.note_pre_commit(&opened);
        let (sendable, notices) = self.sort_by_scope(opened, &mut report).await?;
        if !notices.is_empty() {
            self.send_notices(notices, &mut report).await?;
        }
        self.deliver(sendable, &mut report).await?;
        Ok(report)
    }

    /// The records of this lane that are due now, oldest first, at most one window's worth.
    fn due_records(&mut self) -> Result<Vec<PendingRecord>, ClientError> {
        let now = Instant::now();
        let pending = self.spool.list_pending()?;
        let window = self.config.client.batch_size * self.config.client.parallel_batches;
        {
            let names: std::collections::HashSet<&str> =
                pending.iter().map(|record| record.name.as_str()).collect();
            self.backoff.retain(|name| names.contains(name));
            self.confirm_wait.retain(|name| names.contains(name));
        }
        Ok(pending
            .into_iter()
            .filter(|record| {
                self.lane.owns(record)
                    && self.backoff.is_due(&record.name, now)
                    && self.confirm_wait.is_due(&record.name, now)
            })
            .take(window)
            .collect())
    }

    /// Opens the due records; one that cannot be opened moves to `failed/` with the reason.
    async fn open_due(
        &mut self,
        due: Vec<PendingRecord>,
        report: &mut PassReport,
    ) -> Result<Vec<Opened>, ClientError> {
        let mut opened = Vec::with_capacity(due.len());
        for (record, result) in self.open_all(due).await? {
            match result {
                Ok(change) => {
                    tracing::debug!(change_id = %change.id, account = %change.account, origin = %change.origin,
                        source = change.source.as_str(), captured_at_ns = change.captured_at_ns,
                        operator_retry = record.operator_retry, "change opened from the spool");
                    opened.push(Opened { record, change, directory_version: None })
                }
                Err(error) => {
                    tracing::warn!(change_id = %record.id, record = %record.name, code = error.code(), %error, "cannot open a spool record; moved to failed/");
                    let reason = FailureReason::one_line(error.code(), &error.to_string());
                    self.spool.fail(&record, &reason)?;
                    report.failed += 1;
                }
            }
        }
        Ok(opened)
    }

    /// Tells the confirmer of every pre-commit record of the pass before any is decided: a
    /// record's neighbours bound its confirmation.
    fn note_pre_commit(&self, opened: &[Opened]) {
        if let Some(confirmer) = &self.confirmer {
            let now = now_ns();
            for item in opened.iter().filter(|item| is_pre_commit(item.change.source)) {
                confirmer.note(&item.change.account, item.change.captured_at_ns, now);
            }
        }
    }

    /// Asks the scope about each record: what to send, what to put on record as not forwarded;
    /// the rest is settled here (superseded, unconfirmable) or kept for later.
    async fn sort_by_scope(
        &mut self,
        opened: Vec<Opened>,
        report: &mut PassReport,
    ) -> Result<(Vec<(Opened, Identity)>, Vec<(Opened, Notice)>), ClientError> {
        let mut sendable = Vec::with_capacity(opened.len());
        let mut notices = Vec::new();
        for item in opened {
            let decision = self.scope.check(&item.change).await;
            match decision {
                ScopeDecision::InScope { identity, evidence } if is_pre_commit(item.change.source) => {
                    match self.confirm_commit(item, identity, evidence, report)? {
                        Disposition::Send(item, identity) => sendable.push((item, identity)),
                        Disposition::Notice(item, notice) => notices.push((item, notice)),
                        Disposition::Settled => {}
                    }
                }
                ScopeDecision::InScope { identity, evidence } => {
                    let directory_version = match (&self.confirmer, evidence) {
                        (Some(confirmer), Some(evidence)) => {
                            confirmer.version_after_commit(item.change.captured_at_ns, &evidence)
                        }
                        _ => None,
                    };
                    sendable.push((Opened { directory_version, ..item }, identity));
                }
                ScopeDecision::OutOfScope { reason } => {
                    tracing::info!(change_id = %item.change.id, account = %item.change.account, %reason,
                        "out of scope; not forwarded");
                    let notice = self.notice(&item, NoticeKind::OutOfScope, reason);
                    notices.push((item, notice));
                }
                ScopeDecision::Unavailable { reason } => {
                    let wait = self.backoff.failed(&item.record.name, Duration::ZERO);
                    tracing::warn!(change_id = %item.change.id, %reason, retry_in_ms = wait.as_millis() as u64,
                        "scope cannot be decided now; keeping the change");
                    report.kept += 1;
                }
            }
        }
        Ok((sendable, notices))
    }

    /// A pre-commit record in scope: forwarded only once the directory shows its own commit.
    fn confirm_commit(
        &mut self,
        item: Opened,
        identity: Identity,
        evidence: Option<CommitEvidence>,
        report: &mut PassReport,
    ) -> Result<Disposition, ClientError> {
        let (Some(confirmer), Some(evidence)) = (&self.confirmer, evidence) else {
            tracing::error!(change_id = %item.change.id, account = %item.change.account,
                "a change from Samba's check password script needs [scope] kind = \"ldap\" to confirm its commit; record moved to failed/");
            let reason = FailureReason::one_line(
                "unconfirmable",
                "captured before its commit (Samba check password script), and no [scope] \
                 directory is configured to confirm the commit: configure [scope] kind = \"ldap\", \
                 then retry the record",
            );
            self.spool.fail(&item.record, &reason)?;
            report.failed += 1;
            return Ok(Disposition::Settled);
        };
        let change = &item.change;
        match confirmer.decide(&change.account, change.captured_at_ns, &evidence, now_ns()) {
            Confirmation::Committed => {
                self.confirm_wait.succeeded(&item.record.name);
                // Its own commit is what the directory shows: so is its version.
                let directory_version = evidence.key_version;
                Ok(Disposition::Send(Opened { directory_version, ..item }, identity))
            }
            Confirmation::Superseded => {
                tracing::info!(change_id = %change.id, account = %change.account,
                    "superseded: the directory shows a later password change of the account");
                self.confirm_wait.succeeded(&item.record.name);
                self.spool.ack(&item.record)?;
                report.deleted += 1;
                Ok(Disposition::Settled)
            }
            Confirmation::Waiting => {
                let wait = self.confirm_wait.failed(&item.record.name, Duration::ZERO);
                tracing::debug!(change_id = %change.id, retry_in_ms = wait.as_millis() as u64,
                    "the directory does not show this change's own commit yet");
                report.kept += 1;
                Ok(Disposition::Settled)
            }
            Confirmation::NotCommitted { reason } => {
                tracing::warn!(change_id = %change.id, account = %change.account, %reason,
                    "not committed by the directory; not forwarded");
                let notice = self.notice(&item, NoticeKind::NotCommitted, reason);
                Ok(Disposition::Notice(item, notice))
            }
        }
    }

    /// Sends the changes in batches, all at once, and acts on each answer as soon as it
    /// arrives, so that a slow batch does not hold back the deletes of the others.
    async fn deliver(
        &mut self,
        sendable: Vec<(Opened, Identity)>,
        report: &mut PassReport,
    ) -> Result<(), ClientError> {
        let domain = self.config.client.domain.clone();
        let batches = into_batches(sendable, self.config.client.batch_size);
        let sender = self.sender.clone();
        let mut answers = batches
            .into_iter()
            .map(|batch| {
                let wire = ChangeBatch {
                    changes: batch
                        .iter()
                        .map(|(item, identity)| {
                            to_wire(&item.change, identity, &domain, &item.record, item.directory_version)
                        })
                        .collect(),
                };
                let sender = sender.clone();
                async move {
                    let answer = sender.send(&wire).await;
                    (batch, answer)
                }
            })
            .collect::<futures_util::stream::FuturesUnordered<_>>();
        while let Some((batch, answer)) = answers.next().await {
            match answer {
                Ok(verdicts) => self.settle_batch(&batch, verdicts, report)?,
                Err(error) => {
                    let wait = self.server_backoff.failed("server", Duration::ZERO);
                    tracing::warn!(%error, changes = batch.len(), retry_in_ms = wait.as_millis() as u64,
                        "delivery failed; the changes stay in the spool");
                    report.kept += batch.len();
                }
            }
        }
        Ok(())
    }

    /// Acts on the server's verdicts for one batch; the deleted records go with one sync.
    fn settle_batch(
        &mut self,
        batch: &[(Opened, Identity)],
        verdicts: BatchVerdicts,
        report: &mut PassReport,
    ) -> Result<(), ClientError> {
        self.server_backoff.succeeded("server");
        let by_id: HashMap<String, Verdict> =
            verdicts.verdicts.into_iter().map(|entry| (entry.id, entry.verdict)).collect();
        let mut settled = Vec::with_capacity(batch.len());
        for (item, _) in batch {
            let id = item.change.id.to_string();
            match by_id.get(&id) {
                Some(verdict) => {
                    if act(&self.spool, &mut self.backoff, item, verdict, report)? {
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
        Ok(())
    }

    fn notice(&self, item: &Opened, kind: NoticeKind, reason: String) -> Notice {
        let mut reason = reason;
        if reason.len() > pwsync_proto::MAX_NOTICE_REASON_BYTES {
            let mut end = pwsync_proto::MAX_NOTICE_REASON_BYTES;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        Notice {
            id: item.change.id.to_string(),
            domain: self.config.client.domain.clone(),
            account: item.change.account.clone(),
            captured_at_ns: item.change.captured_at_ns,
            origin: item.change.origin.clone(),
            kind,
            reason,
        }
    }

    /// Puts the notices on record at the server, then deletes their records; a record whose
    /// notice is not on record stays for the next pass.
    async fn send_notices(
        &mut self,
        notices: Vec<(Opened, Notice)>,
        report: &mut PassReport,
    ) -> Result<(), ClientError> {
        for chunk in notices.chunks(pwsync_proto::MAX_BATCH_CHANGES) {
            let batch = NoticeBatch { notices: chunk.iter().map(|(_, notice)| notice.clone()).collect() };
            match self.sender.send_notices(&batch).await {
                Ok(receipt) => {
                    self.server_backoff.succeeded("server");
                    let recorded: std::collections::HashSet<&str> =
                        receipt.recorded.iter().map(String::as_str).collect();
                    let mut settled = Vec::new();
                    for (item, notice) in chunk {
                        if recorded.contains(notice.id.as_str()) {
                            self.backoff.succeeded(&item.record.name);
                            settled.push(&item.record);
                        } else {
                            tracing::error!(change_id = %notice.id, "the server did not record this notice; keeping the record");
                            self.backoff.failed(&item.record.name, Duration::ZERO);
                            report.kept += 1;
                        }
                    }
                    self.spool.ack_all(&settled)?;
                    report.deleted += settled.len();
                }
                Err(error) => {
                    let wait = self.server_backoff.failed("server", Duration::ZERO);
                    tracing::warn!(%error, notices = chunk.len(), retry_in_ms = wait.as_millis() as u64,
                        "cannot put notices on record; the records stay in the spool");
                    report.kept += chunk.len();
                }
            }
        }
        Ok(())
    }

    /// Reads and opens records on blocking threads, one share per core: opening (X25519) is
    /// most of the client's CPU, and the runtime's threads must stay free for the network.
    /// Records that vanished meanwhile (an operator's purge) are skipped.
    async fn open_all(&self, due: Vec<PendingRecord>) -> Result<Vec<OpenAttempt>, ClientError> {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
        let share = due.len().div_ceil(workers).max(1);
        let mut tasks = Vec::new();
        let mut due = due.into_iter();
        loop {
            let chunk: Vec<PendingRecord> = due.by_ref().take(share).collect();
            if chunk.is_empty() {
                break;
            }
            let spool = self.spool.clone();
            let keys = self.keys.clone();
            tasks.push(tokio::task::spawn_blocking(move || {
                let mut opened = Vec::with_capacity(chunk.len());
                for record in chunk {
                    match spool.read(&record) {
                        Ok(bytes) => {
                            let result = pwsync_seal::open(&bytes, &keys);
                            opened.push((record, result));
                        }
                        Err(error) if is_gone(&error) => {}
                        Err(error) => return Err(error),
                    }
                }
                Ok(opened)
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            let chunk = task
                .await
                .map_err(|error| ClientError::Internal(format!("an opening task failed: {error}")))??;
            all.extend(chunk);
        }
        Ok(all)
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

/// Acts on one verdict; returns true when the record is to be deleted (the caller deletes the
/// batch's records together, with one directory sync).
fn act(
    spool: &Spool,
    backoff: &mut Backoff,
    item: &Opened,
    verdict: &Verdict,
    report: &mut PassReport,
) -> Result<bool, ClientError> {
    let change = &item.change;
    match verdict {
        Verdict::Applied | Verdict::Superseded { .. } | Verdict::OutOfScope { .. } => {
            tracing::info!(change_id = %change.id, account = %change.account, verdict = verdict.name(),
                "change settled");
            backoff.succeeded(&item.record.name);
            Ok(true)
        }
        Verdict::Rejected { reason } => {
            tracing::warn!(change_id = %change.id, account = %change.account, %reason,
                "change rejected; record moved to failed/");
            spool.fail(&item.record, &FailureReason::one_line("rejected", reason))?;
            backoff.succeeded(&item.record.name);
            report.failed += 1;
            Ok(false)
        }
        Verdict::Retry { after_ms, reason } => {
            let wait = backoff.failed(&item.record.name, Duration::from_millis(*after_ms));
            tracing::info!(change_id = %change.id, %reason, retry_in_ms = wait.as_millis() as u64,
                "server asked to retry");
            report.kept += 1;
            Ok(false)
        }
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
    directory_version: Option<u32>,
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
        directory_version,
    }
}

/// Largest request body a batch may need in the worst case, half the server's limit.
const MAX_BATCH_BYTES: usize = pwsync_proto::MAX_BODY_BYTES / 2;

/// An upper bound of a change's JSON size: every text byte could be escaped as `\u00XX`.
fn worst_case_bytes(change: &Change, identity: &pwsync_proto::Identity) -> usize {
    let identity_bytes: usize =
        [&identity.user_principal_name, &identity.mail, &identity.object_guid, &identity.distinguished_name]
            .iter()
            .map(|field| field.as_ref().map_or(0, String::len))
            .sum();
    let text = change.account.len() + change.password.expose().len() + change.origin.len() + identity_bytes;
    6 * text + 512
}

/// Splits the changes into batches of at most `size` changes and [`MAX_BATCH_BYTES`], so that
/// no batch can exceed the server's body limit (such a batch would be refused every time).
fn into_batches(
    items: Vec<(Opened, pwsync_proto::Identity)>,
    size: usize,
) -> Vec<Vec<(Opened, pwsync_proto::Identity)>> {
    let mut batches = Vec::new();
    let mut current = Vec::with_capacity(size);
    let mut current_bytes = 0;
    for item in items {
        let bytes = worst_case_bytes(&item.0.change, &item.1);
        if !current.is_empty() && (current.len() == size || current_bytes + bytes > MAX_BATCH_BYTES) {
            batches.push(std::mem::replace(&mut current, Vec::with_capacity(size)));
            current_bytes = 0;
        }
        current_bytes += bytes;
        current.push(item);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
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

#[cfg(test)]
mod tests {
    use super::*;
    use pwsync_seal::{ChangeId, Password};

    fn opened(account: &str, password: String) -> (Opened, pwsync_proto::Identity) {
        let id = ChangeId::random();
        let change = Change {
            id,
            account: account.into(),
            upn: None,
            password: Password::new(password),
            captured_at_ns: 1_700_000_000_000_000_000,
            origin: "dc1".into(),
            origin_seq: 1,
            source: SourceKind::Generic,
        };
        let record = PendingRecord {
            name: format!("{:020}-{id}.pws", change.captured_at_ns),
            path: std::path::PathBuf::from("unused"),
            captured_at_ns: change.captured_at_ns,
            id,
            operator_retry: false,
        };
        (Opened { record, change, directory_version: None }, pwsync_proto::Identity::default())
    }

    #[test]
    fn no_batch_can_exceed_the_servers_body_limit() {
        // The worst case: the longest fields, made only of characters JSON escapes as \u00XX.
        let password: String = std::iter::repeat_n('\u{1}', pwsync_seal::MAX_PASSWORD_LEN).collect();
        let account: String = std::iter::repeat_n('\u{2}', pwsync_seal::MAX_ACCOUNT_LEN).collect();
        let items: Vec<_> =
            (0..pwsync_proto::MAX_BATCH_CHANGES).map(|_| opened(&account, password.clone())).collect();
        let batches = into_batches(items, pwsync_proto::MAX_BATCH_CHANGES);
        assert!(batches.len() > 1, "the size cap must split this batch");
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), pwsync_proto::MAX_BATCH_CHANGES);
        for batch in &batches {
            let wire = ChangeBatch {
                changes: batch
                    .iter()
                    .map(|(item, identity)| {
                        to_wire(&item.change, identity, "corp.example", &item.record, None)
                    })
                    .collect(),
            };
            let bytes = serde_json::to_vec(&wire).unwrap().len();
            assert!(bytes <= pwsync_proto::MAX_BODY_BYTES, "a batch of {bytes} bytes");
        }
    }

    #[test]
    fn every_record_belongs_to_exactly_one_lane() {
        for count in 1..=4 {
            let lanes: Vec<Lane> = (0..count).map(|index| Lane { index, count }).collect();
            for _ in 0..200 {
                let (item, _) = opened("alice", "pwsync-canary-Aa1!".into());
                assert_eq!(lanes.iter().filter(|lane| lane.owns(&item.record)).count(), 1);
            }
        }
    }

    #[test]
    fn small_changes_fill_batches_up_to_the_count() {
        let items: Vec<_> =
            (0..450).map(|i| opened(&format!("user{i}"), "pwsync-canary-Aa1!".into())).collect();
        let sizes: Vec<usize> = into_batches(items, 200).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![200, 200, 50]);
    }
}
