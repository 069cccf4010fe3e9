//! The server's ledger: an SQLite file (WAL) that records every change's fate, the newest-wins
//! watermark of every account, per-target outcomes and the audit trail.
//!
//! One writer thread owns the connection and commits whatever work is queued in a single
//! transaction (group commit): many concurrent changes then cost one fsync instead of one each.
//! A caller's request is answered only after its transaction is durable, so an answer the
//! client acts upon is never lost by a crash. This module must never receive a password.

mod operator_store;
mod report;
mod store;
mod summary;
mod types;

use std::path::Path;
use std::sync::mpsc;
use std::thread;

use rusqlite::Connection;
use tokio::sync::oneshot;

pub use operator_store::RetryRefused;
pub use report::{Bucket, ChangeView, ClientSeen, LedgerReader, OperatorRetry, TargetHealth, TargetOutcome};
pub use summary::{quantile, summarize, LedgerSummary};
pub use types::{Admission, AuditEvent, ChangeRecord, ChangeState, LedgerError, TargetResult, TargetState};

/// Most queued operations committed in one transaction.
const GROUP_COMMIT_MAX: usize = 512;

/// A queued piece of work: runs inside the group transaction and returns how to answer its
/// caller once the commit's fate is known (`None` = committed, `Some(reason)` = lost).
type Job = Box<dyn FnOnce(&Connection) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Option<&str>) + Send>;

/// A cheap, clonable handle to the ledger writer thread.
#[derive(Clone)]
pub struct Ledger {
    jobs: mpsc::Sender<Job>,
}

impl Ledger {
    /// Opens (creating if needed) the ledger file and starts its writer thread.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        let conn = Connection::open(path)
            .map_err(|source| LedgerError::Open { path: path.display().to_string(), source })?;
        Self::start(conn)
    }

    /// A ledger that lives in memory only, for tests.
    pub fn in_memory() -> Result<Ledger, LedgerError> {
        Self::start(Connection::open_in_memory()?)
    }

    fn start(conn: Connection) -> Result<Ledger, LedgerError> {
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        store::migrate(&conn)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer_loop(conn, queue))
            .map_err(|error| LedgerError::Corrupt(format!("cannot start the ledger thread: {error}")))?;
        Ok(Ledger { jobs })
    }

    /// Runs `work` inside the next group transaction and returns its result once committed.
    async fn run<T, F>(&self, work: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, LedgerError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // A savepoint per job: one failing job rolls back alone, the group still commits.
            let outcome = (|| {
                conn.execute_batch("SAVEPOINT job")?;
                match work(conn) {
                    Ok(value) => {
                        conn.execute_batch("RELEASE job")?;
                        Ok(value)
                    }
                    Err(error) => {
                        conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
                        Err(error)
                    }
                }
            })();
            // The caller hears back only after the commit: an answer acted upon is durable.
            Box::new(move |commit_failure: Option<&str>| {
                let outcome = match commit_failure {
                    None => outcome,
                    Some(reason) => Err(LedgerError::CommitFailed(reason.to_string())),
                };
                let _ = reply.send(outcome);
            })
        });
        self.jobs.send(job).map_err(|_| LedgerError::Stopped)?;
        answer.await.map_err(|_| LedgerError::Stopped)?
    }

    pub async fn admit(
        &self,
        change: ChangeRecord,
        targets: Vec<String>,
        operator_retry: bool,
    ) -> Result<Admission, LedgerError> {
        self.run(move |conn| store::admit(conn, &change, &targets, operator_retry, now_ns())).await
    }

    pub async fn finish(
        &self,
        change_id: String,
        targets: Vec<String>,
        results: Vec<TargetResult>,
    ) -> Result<(ChangeState, Option<String>), LedgerError> {
        self.run(move |conn| store::finish(conn, &change_id, &targets, &results, now_ns())).await
    }

    pub async fn audit(&self, event: AuditEvent) -> Result<(), LedgerError> {
        self.run(move |conn| store::audit(conn, &event, now_ns())).await
    }

    pub async fn change_state(&self, change_id: String) -> Result<Option<ChangeState>, LedgerError> {
        self.run(move |conn| store::change_state(conn, &change_id)).await
    }

    pub async fn counts_by_state(&self) -> Result<Vec<(String, i64)>, LedgerError> {
        self.run(store::counts_by_state).await
    }

    /// Stores a client's status report; returns the operator retries waiting for that client.
    pub async fn record_client_report(
        &self,
        client: String,
        report: pwsync_proto::ClientStatusReport,
    ) -> Result<Vec<String>, LedgerError> {
        self.run(move |conn| operator_store::record_client_report(conn, &client, &report, now_ns())).await
    }

    /// Queues an operator retry of a rejected change; answers the client that will get it.
    pub async fn request_retry(
        &self,
        change_id: String,
    ) -> Result<Result<String, RetryRefused>, LedgerError> {
        self.run(move |conn| operator_store::request_retry(conn, &change_id, now_ns())).await
    }

    pub async fn audit_events(&self, event: String) -> Result<Vec<AuditEvent>, LedgerError> {
        self.run(move |conn| store::audit_events(conn, &event)).await
    }
}

fn writer_loop(conn: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < GROUP_COMMIT_MAX {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let began = conn.execute_batch("BEGIN IMMEDIATE");
        let replies: Vec<Reply> = batch.into_iter().map(|job| job(&conn)).collect();
        match began.and_then(|_| conn.execute_batch("COMMIT")) {
            Ok(()) => replies.into_iter().for_each(|reply| reply(None)),
            Err(error) => {
                // Nothing of this group is durable: every caller answers "retry".
                tracing::error!(%error, "ledger commit failed; the group's changes will be retried");
                let _ = conn.execute_batch("ROLLBACK");
                let reason = error.to_string();
                replies.into_iter().for_each(|reply| reply(Some(&reason)));
            }
        }
    }
}

pub(crate) fn now_ns() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    now.as_nanos() as i64
}
