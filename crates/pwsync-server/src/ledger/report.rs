//! Read-only reports on a ledger file for operators: one account's changes with their
//! per-target outcomes, failures, per-target health, the clients seen and throughput over time.
//! Used by `pwsync changes`, `pwsync status`, the web console and the metrics.
//!
//! It opens the file read-only (WAL lets it run beside the live server's writer), so it can
//! never change what the server decided. The ledger holds no password, and neither does
//! anything here.

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use super::LedgerError;

/// A read-only connection to a ledger file.
pub struct LedgerReader {
    conn: Connection,
    /// The columns of a change as this ledger's schema has them.
    change_columns: &'static str,
}

/// One change as an operator sees it: where and when it was captured, what became of it at
/// each target, and why it was refused.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChangeView {
    pub id: String,
    pub domain: String,
    pub account: String,
    pub client: String,
    pub origin: String,
    pub source: String,
    pub captured_at_ns: i64,
    pub received_at_ns: i64,
    pub state: String,
    pub reason: Option<String>,
    pub superseded_by: Option<String>,
    pub settled_at_ns: Option<i64>,
    /// The directory's version of the password (`msDS-KeyVersionNumber`), when the client sent it.
    pub directory_version: Option<u32>,
    pub targets: Vec<TargetOutcome>,
}

impl ChangeView {
    /// Capture → settled, when settled.
    pub fn latency_ns(&self) -> Option<i64> {
        self.settled_at_ns.map(|settled| settled - self.captured_at_ns)
    }
}

/// One target's last outcome for a change.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetOutcome {
    pub target: String,
    pub state: String,
    pub reason: Option<String>,
    pub attempts: i64,
    /// Duration of the last call to the target.
    pub latency_us: i64,
    pub updated_at_ns: i64,
}

/// How a target has been doing, from its recorded outcomes.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct TargetHealth {
    pub target: String,
    pub applied: u64,
    pub rejected: u64,
    /// Outcomes waiting for another attempt (a transient failure).
    pub retry: u64,
    pub last_applied_at_ns: Option<i64>,
    /// The last rejection or transient failure: when, and why.
    pub last_problem_at_ns: Option<i64>,
    pub last_problem: Option<String>,
}

impl TargetHealth {
    /// Healthy when the last thing that happened there was a success (or nothing went wrong).
    pub fn healthy(&self) -> bool {
        match (self.last_problem_at_ns, self.last_applied_at_ns) {
            (None, _) => true,
            (Some(problem), Some(applied)) => applied > problem,
            (Some(_), None) => false,
        }
    }
}

/// A client the server has heard from: by the changes it sent and by its own status reports.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ClientSeen {
    /// Certificate name.
    pub name: String,
    pub changes: u64,
    pub last_change_at_ns: Option<i64>,
    /// From the client's last status report, if it sent one.
    pub version: Option<String>,
    pub last_report_at_ns: Option<i64>,
    pub spool_depth: Option<u64>,
    pub oldest_pending_captured_at_ns: Option<i64>,
    pub failed: Option<u64>,
}

impl ClientSeen {
    /// The last time the client showed any sign of life.
    pub fn last_contact_ns(&self) -> Option<i64> {
        self.last_change_at_ns.max(self.last_report_at_ns)
    }
}

/// A retry an operator asked for in the console.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OperatorRetry {
    /// The client that holds the failed record and gets the retry.
    pub client: String,
    pub requested_at_ns: i64,
    /// When it was handed to the client with its status report; `None` while queued.
    pub delivered_at_ns: Option<i64>,
}

/// Changes settled in one time bucket.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Bucket {
    pub start_ns: i64,
    pub applied: u64,
    pub rejected: u64,
    pub superseded: u64,
    /// Median capture → applied in the bucket, nanoseconds.
    pub p50_latency_ns: Option<i64>,
    pub p99_latency_ns: Option<i64>,
}

const CHANGE_COLUMNS: &str = "id, domain, account, client, origin, source, captured_at_ns, received_at_ns, \
     state, reason, superseded_by, settled_at_ns, directory_version";

/// A version-1 ledger (the server not yet restarted after an upgrade: only the server migrates,
/// a reader never writes) has no directory versions.
const CHANGE_COLUMNS_V1: &str =
    "id, domain, account, client, origin, source, captured_at_ns, received_at_ns, \
     state, reason, superseded_by, settled_at_ns, NULL AS directory_version";

impl LedgerReader {
    pub fn open(path: &Path) -> Result<LedgerReader, LedgerError> {
        if !path.exists() {
            // Opening read-only would fail with a vaguer message; never create one here.
            return Err(LedgerError::Corrupt(format!("no ledger at {}", path.display())));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| LedgerError::Open { path: path.display().to_string(), source })?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        let change_columns = if version >= 2 { CHANGE_COLUMNS } else { CHANGE_COLUMNS_V1 };
        Ok(LedgerReader { conn, change_columns })
    }

    /// Changes of an account, newest capture first. `query` is a logon name (`alice`) or
    /// `domain\account`, compared without regard to case; with `exact = false` any account
    /// containing `query` matches (the logon name, or `domain\account` when `query` has a backslash).
    pub fn changes_of_account(
        &self,
        query: &str,
        exact: bool,
        limit: usize,
    ) -> Result<Vec<ChangeView>, LedgerError> {
        let columns = self.change_columns;
        let folded = query.to_lowercase();
        let sql = if exact {
            format!(
                "SELECT {columns} FROM changes WHERE lower(account) = ?1 OR account_key = ?1 \
                 ORDER BY captured_at_ns DESC LIMIT ?2"
            )
        } else {
            // With a backslash the domain is part of the search; without, only the logon name.
            let column = if folded.contains('\\') { "account_key" } else { "lower(account)" };
            format!(
                "SELECT {columns} FROM changes WHERE instr({column}, ?1) > 0 \
                 ORDER BY captured_at_ns DESC LIMIT ?2"
            )
        };
        self.changes(&sql, params![folded, limit as i64])
    }

    pub fn change(&self, id: &str) -> Result<Option<ChangeView>, LedgerError> {
        let columns = self.change_columns;
        let sql = format!("SELECT {columns} FROM changes WHERE id = ?1");
        Ok(self.changes(&sql, params![id])?.into_iter().next())
    }

    /// The most recent changes, newest capture first.
    pub fn recent_changes(&self, limit: usize) -> Result<Vec<ChangeView>, LedgerError> {
        let columns = self.change_columns;
        let sql = format!("SELECT {columns} FROM changes ORDER BY captured_at_ns DESC LIMIT ?1");
        self.changes(&sql, params![limit as i64])
    }

    /// What needs an operator's eye: rejected changes, and pending changes with a target that
    /// failed transiently; newest first.
    pub fn failures(&self, limit: usize) -> Result<Vec<ChangeView>, LedgerError> {
        let columns = self.change_columns;
        let sql = format!(
            "SELECT {columns} FROM changes WHERE state = 'rejected' OR (state = 'pending' AND id IN \
             (SELECT change_id FROM target_results WHERE state = 'retry')) \
             ORDER BY captured_at_ns DESC LIMIT ?1"
        );
        self.changes(&sql, params![limit as i64])
    }

    fn changes(&self, sql: &str, parameters: impl rusqlite::Params) -> Result<Vec<ChangeView>, LedgerError> {
        let mut statement = self.conn.prepare(sql)?;
        let mut changes: Vec<ChangeView> = statement
            .query_map(parameters, |row| {
                Ok(ChangeView {
                    id: row.get(0)?,
                    domain: row.get(1)?,
                    account: row.get(2)?,
                    client: row.get(3)?,
                    origin: row.get(4)?,
                    source: row.get(5)?,
                    captured_at_ns: row.get(6)?,
                    received_at_ns: row.get(7)?,
                    state: row.get(8)?,
                    reason: row.get(9)?,
                    superseded_by: row.get(10)?,
                    settled_at_ns: row.get(11)?,
                    directory_version: row.get(12)?,
                    targets: Vec::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut outcomes = self.conn.prepare_cached(
            "SELECT target, state, reason, attempts, latency_us, updated_at_ns FROM target_results \
             WHERE change_id = ?1 ORDER BY target",
        )?;
        for change in &mut changes {
            change.targets = outcomes
                .query_map(params![change.id], |row| {
                    Ok(TargetOutcome {
                        target: row.get(0)?,
                        state: row.get(1)?,
                        reason: row.get(2)?,
                        attempts: row.get(3)?,
                        latency_us: row.get(4)?,
                        updated_at_ns: row.get(5)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
        }
        Ok(changes)
    }

    /// Per target: counts of outcomes, the last success and the last problem.
    pub fn target_health(&self) -> Result<Vec<TargetHealth>, LedgerError> {
        let mut statement = self.conn.prepare(
            "SELECT target,
                    SUM(state = 'applied'), SUM(state = 'rejected'), SUM(state = 'retry'),
                    MAX(CASE WHEN state = 'applied' THEN updated_at_ns END),
                    MAX(CASE WHEN state != 'applied' THEN updated_at_ns END)
             FROM target_results GROUP BY target ORDER BY target",
        )?;
        let mut health: Vec<TargetHealth> = statement
            .query_map([], |row| {
                Ok(TargetHealth {
                    target: row.get(0)?,
                    applied: row.get::<_, i64>(1)? as u64,
                    rejected: row.get::<_, i64>(2)? as u64,
                    retry: row.get::<_, i64>(3)? as u64,
                    last_applied_at_ns: row.get(4)?,
                    last_problem_at_ns: row.get(5)?,
                    last_problem: None,
                })
            })?
            .collect::<Result<_, _>>()?;
        for target in &mut health {
            if let Some(at) = target.last_problem_at_ns {
                target.last_problem = self
                    .conn
                    .query_row(
                        "SELECT reason FROM target_results WHERE target = ?1 AND updated_at_ns = ?2 \
                         AND state != 'applied' LIMIT 1",
                        params![target.target, at],
                        |row| row.get::<_, Option<String>>(0),
                    )
                    .optional()?
                    .flatten();
            }
        }
        Ok(health)
    }

    /// Every client the server has heard from, by name.
    pub fn clients(&self) -> Result<Vec<ClientSeen>, LedgerError> {
        let mut by_name: std::collections::BTreeMap<String, ClientSeen> = Default::default();
        let mut statement =
            self.conn.prepare("SELECT client, COUNT(*), MAX(received_at_ns) FROM changes GROUP BY client")?;
        for row in statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, Option<i64>>(2)?))
        })? {
            let (name, changes, last) = row?;
            let entry =
                by_name.entry(name.clone()).or_insert_with(|| ClientSeen { name, ..Default::default() });
            entry.changes = changes as u64;
            entry.last_change_at_ns = last;
        }
        if self.has_table("client_reports")? {
            let mut reports = self.conn.prepare(
                "SELECT client, version, reported_at_ns, spool_depth, oldest_pending_captured_at_ns, failed \
                 FROM client_reports",
            )?;
            for row in reports.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, Option<i64>>(4)?,
                    row.get::<_, i64>(5)?,
                ))
            })? {
                let (name, version, at, depth, oldest, failed) = row?;
                let entry =
                    by_name.entry(name.clone()).or_insert_with(|| ClientSeen { name, ..Default::default() });
                entry.version = Some(version);
                entry.last_report_at_ns = Some(at);
                entry.spool_depth = Some(depth as u64);
                entry.oldest_pending_captured_at_ns = oldest;
                entry.failed = Some(failed as u64);
            }
        }
        Ok(by_name.into_values().collect())
    }

    /// Settled changes per bucket of `bucket_ns` from `since_ns` on, oldest first, with
    /// latency percentiles of the applied ones. Buckets with nothing settled are included.
    pub fn throughput(
        &self,
        since_ns: i64,
        until_ns: i64,
        bucket_ns: i64,
    ) -> Result<Vec<Bucket>, LedgerError> {
        let bucket_ns = bucket_ns.max(1);
        let count = ((until_ns - since_ns).max(0) / bucket_ns + 1) as usize;
        let mut buckets: Vec<Bucket> = (0..count)
            .map(|index| Bucket { start_ns: since_ns + index as i64 * bucket_ns, ..Default::default() })
            .collect();
        let mut latencies: Vec<Vec<i64>> = vec![Vec::new(); count];
        let mut statement = self.conn.prepare(
            "SELECT settled_at_ns, state, settled_at_ns - captured_at_ns FROM changes \
             WHERE settled_at_ns >= ?1 AND settled_at_ns <= ?2",
        )?;
        for row in statement.query_map(params![since_ns, until_ns], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?))
        })? {
            let (settled, state, latency) = row?;
            let index = (((settled - since_ns) / bucket_ns) as usize).min(count - 1);
            match state.as_str() {
                "applied" => {
                    buckets[index].applied += 1;
                    latencies[index].push(latency);
                }
                "rejected" => buckets[index].rejected += 1,
                "superseded" => buckets[index].superseded += 1,
                _ => {}
            }
        }
        for (bucket, mut values) in buckets.iter_mut().zip(latencies) {
            values.sort_unstable();
            bucket.p50_latency_ns = super::quantile(&values, 0.5);
            bucket.p99_latency_ns = super::quantile(&values, 0.99);
        }
        Ok(buckets)
    }

    /// Operator retries by change id.
    pub fn operator_retries(&self) -> Result<std::collections::HashMap<String, OperatorRetry>, LedgerError> {
        if !self.has_table("operator_retries")? {
            return Ok(Default::default());
        }
        let mut statement = self
            .conn
            .prepare("SELECT change_id, client, requested_at_ns, delivered_at_ns FROM operator_retries")?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    OperatorRetry {
                        client: row.get(1)?,
                        requested_at_ns: row.get(2)?,
                        delivered_at_ns: row.get(3)?,
                    },
                ))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn has_table(&self, name: &str) -> Result<bool, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                params![name],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ledger file as a version-1 server left it, with one applied change of alice.
    fn version_1_ledger() -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("pwsync-ledger-v1-{}.sqlite", rand::random::<u64>()));
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("schema.sql")).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO changes (id, account_key, domain, account, captured_at_ns, origin, origin_seq, source,
                                  client, received_at_ns, state, settled_at_ns)
             VALUES ('c1', 'corp.example\\alice', 'corp.example', 'alice', 10, 'dc1', 1, 'generic', 'dc1', 11,
                     'applied', 12);",
        )
        .unwrap();
        path
    }

    #[test]
    fn a_ledger_the_server_has_not_migrated_yet_is_read_without_versions() {
        let path = version_1_ledger();
        let reader = LedgerReader::open(&path).unwrap();
        let changes = reader.changes_of_account("alice", true, 10).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].state.as_str(), changes[0].directory_version), ("applied", None));
        assert!(reader.change("c1").unwrap().is_some());
        drop(reader);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
