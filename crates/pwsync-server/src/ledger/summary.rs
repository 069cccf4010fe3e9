//! A read-only look at a ledger file: counts by state and end-to-end latencies, for the demo,
//! benchmarks and status tools.
//!
//! It opens the file read-only, so it can run beside a live server (WAL allows one writer and
//! many readers) and can never change what the server decided.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::LedgerError;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerSummary {
    pub pending: u64,
    pub applied: u64,
    pub superseded: u64,
    pub rejected: u64,
    /// capture → settled (applied) for every applied change, in nanoseconds, sorted.
    pub applied_latencies_ns: Vec<i64>,
    pub first_captured_at_ns: Option<i64>,
    pub last_settled_at_ns: Option<i64>,
    /// Refused handshakes, refused domains and other audit events, by event name.
    pub audit_counts: Vec<(String, u64)>,
}

pub fn summarize(path: &Path) -> Result<LedgerSummary, LedgerError> {
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|source| LedgerError::Open { path: path.display().to_string(), source })?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let mut summary = LedgerSummary::default();
    let mut by_state = conn.prepare("SELECT state, COUNT(*) FROM changes GROUP BY state")?;
    for row in by_state.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))? {
        let (state, count) = row?;
        let count = count as u64;
        match state.as_str() {
            "pending" => summary.pending = count,
            "applied" => summary.applied = count,
            "superseded" => summary.superseded = count,
            "rejected" => summary.rejected = count,
            other => return Err(LedgerError::Corrupt(format!("unknown change state {other:?}"))),
        }
    }
    let mut latencies = conn
        .prepare("SELECT settled_at_ns - captured_at_ns FROM changes WHERE state = 'applied' ORDER BY 1")?;
    summary.applied_latencies_ns = latencies.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    let (first, last) =
        conn.query_row("SELECT MIN(captured_at_ns), MAX(settled_at_ns) FROM changes", [], |row| {
            Ok((row.get::<_, Option<i64>>(0)?, row.get::<_, Option<i64>>(1)?))
        })?;
    summary.first_captured_at_ns = first;
    summary.last_settled_at_ns = last;
    let mut audit = conn.prepare("SELECT event, COUNT(*) FROM audit GROUP BY event ORDER BY event")?;
    summary.audit_counts = audit
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64)))?
        .collect::<Result<_, _>>()?;
    Ok(summary)
}

/// The value at quantile `q` (0.0–1.0) of sorted values, nearest-rank.
pub fn quantile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(quantile(&values, 0.5), Some(50));
        assert_eq!(quantile(&values, 0.99), Some(99));
        assert_eq!(quantile(&values, 1.0), Some(100));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
