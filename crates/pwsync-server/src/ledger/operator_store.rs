//! The ledger's SQL for what clients report about themselves and for operator retries: the
//! last status report of each client, the failed records each still holds, and the retries an
//! operator asked for until they are handed to the client.
//!
//! Counts, times and change ids only; nothing here may receive a password.

use rusqlite::{params, Connection, OptionalExtension};

use super::LedgerError;
use pwsync_proto::ClientStatusReport;

/// Stores a client's report and returns the retries waiting for it (marking them handed out).
pub(crate) fn record_client_report(
    conn: &Connection,
    client: &str,
    report: &ClientStatusReport,
    now_ns: i64,
) -> Result<Vec<String>, LedgerError> {
    conn.execute(
        "INSERT INTO client_reports (client, version, reported_at_ns, spool_depth, oldest_pending_captured_at_ns, failed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (client) DO UPDATE SET version = excluded.version, reported_at_ns = excluded.reported_at_ns,
            spool_depth = excluded.spool_depth,
            oldest_pending_captured_at_ns = excluded.oldest_pending_captured_at_ns, failed = excluded.failed",
        params![
            client,
            report.version,
            now_ns,
            report.spool_depth as i64,
            report.oldest_pending_captured_at_ns,
            report.failed as i64
        ],
    )?;
    conn.execute("DELETE FROM client_failed WHERE client = ?1", params![client])?;
    let mut insert =
        conn.prepare_cached("INSERT OR IGNORE INTO client_failed (client, change_id) VALUES (?1, ?2)")?;
    for id in &report.failed_ids {
        insert.execute(params![client, id.to_ascii_lowercase()])?;
    }
    let mut waiting = conn.prepare_cached(
        "SELECT change_id FROM operator_retries WHERE client = ?1 AND delivered_at_ns IS NULL ORDER BY requested_at_ns",
    )?;
    let retries: Vec<String> =
        waiting.query_map(params![client], |row| row.get(0))?.collect::<Result<_, _>>()?;
    conn.execute(
        "UPDATE operator_retries SET delivered_at_ns = ?2 WHERE client = ?1 AND delivered_at_ns IS NULL",
        params![client, now_ns],
    )?;
    Ok(retries)
}

/// Why an operator retry cannot be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryRefused {
    #[error("no change with this id in the ledger")]
    Unknown,
    #[error("the change is {0}, not rejected: there is nothing to retry")]
    NotRejected(String),
    #[error(
        "no client reports holding this failed record (it was purged, or the client has not reported yet)"
    )]
    NoClientHoldsIt,
}

/// Queues a retry of a rejected change with the client that holds its failed record.
/// Returns that client's name.
pub(crate) fn request_retry(
    conn: &Connection,
    change_id: &str,
    now_ns: i64,
) -> Result<Result<String, RetryRefused>, LedgerError> {
    let state: Option<String> = conn
        .query_row("SELECT state FROM changes WHERE id = ?1", params![change_id], |row| row.get(0))
        .optional()?;
    match state.as_deref() {
        None => return Ok(Err(RetryRefused::Unknown)),
        Some("rejected") => {}
        Some(other) => return Ok(Err(RetryRefused::NotRejected(other.to_string()))),
    }
    let holder: Option<String> = conn
        .query_row(
            "SELECT f.client FROM client_failed f LEFT JOIN client_reports r ON r.client = f.client
             WHERE f.change_id = ?1 ORDER BY r.reported_at_ns DESC LIMIT 1",
            params![change_id],
            |row| row.get(0),
        )
        .optional()?;
    let Some(client) = holder else { return Ok(Err(RetryRefused::NoClientHoldsIt)) };
    conn.execute(
        "INSERT INTO operator_retries (change_id, client, requested_at_ns, delivered_at_ns) VALUES (?1, ?2, ?3, NULL)
         ON CONFLICT (change_id) DO UPDATE SET client = excluded.client, requested_at_ns = excluded.requested_at_ns,
            delivered_at_ns = NULL",
        params![change_id, client, now_ns],
    )?;
    Ok(Ok(client))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        super::super::store::migrate(&conn).unwrap();
        conn.execute(
            "INSERT INTO changes (id, account_key, domain, account, captured_at_ns, origin, origin_seq, source, client,
                                  received_at_ns, state)
             VALUES ('aa', 'd\\a', 'd', 'a', 1, 'dc1', 1, 'generic', 'dc1', 1, 'rejected'),
                    ('bb', 'd\\b', 'd', 'b', 1, 'dc1', 2, 'generic', 'dc1', 1, 'applied')",
            [],
        )
        .unwrap();
        conn
    }

    fn report(failed_ids: &[&str]) -> ClientStatusReport {
        ClientStatusReport {
            version: "1".into(),
            spool_depth: 0,
            oldest_pending_captured_at_ns: None,
            failed: failed_ids.len() as u64,
            failed_ids: failed_ids.iter().map(|id| id.to_string()).collect(),
        }
    }

    #[test]
    fn a_retry_goes_to_the_client_holding_the_record_once() {
        let conn = ledger();
        assert_eq!(request_retry(&conn, "aa", 1).unwrap(), Err(RetryRefused::NoClientHoldsIt));
        assert!(record_client_report(&conn, "dc1", &report(&["aa"]), 2).unwrap().is_empty());
        assert_eq!(request_retry(&conn, "aa", 3).unwrap(), Ok("dc1".to_string()));
        assert_eq!(record_client_report(&conn, "dc2", &report(&[]), 4).unwrap(), Vec::<String>::new());
        assert_eq!(record_client_report(&conn, "dc1", &report(&["aa"]), 5).unwrap(), vec!["aa".to_string()]);
        assert!(
            record_client_report(&conn, "dc1", &report(&["aa"]), 6).unwrap().is_empty(),
            "handed out once"
        );
    }

    #[test]
    fn only_known_rejected_changes_can_be_retried() {
        let conn = ledger();
        assert_eq!(request_retry(&conn, "zz", 1).unwrap(), Err(RetryRefused::Unknown));
        assert_eq!(request_retry(&conn, "bb", 1).unwrap(), Err(RetryRefused::NotRejected("applied".into())));
    }
}
