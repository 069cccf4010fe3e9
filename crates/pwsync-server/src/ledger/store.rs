//! The ledger's SQL: every read and write of the SQLite file, as plain synchronous functions on
//! a connection, so that they can be tested without a runtime and run inside one transaction.
//!
//! Newest-wins and idempotence are decided here, inside the same transaction that records the
//! decision; nothing here may ever receive or store a password.

use rusqlite::{params, Connection, OptionalExtension};

use super::types::{
    Admission, AuditEvent, ChangeRecord, ChangeState, LedgerError, TargetResult, TargetState,
};
use crate::ordering::OrderKey;

/// The schema version this program writes.
const SCHEMA_VERSION: i64 = 2;

/// Brings the ledger to [`SCHEMA_VERSION`], one step at a time, each in its own transaction;
/// refuses a ledger written by a newer program.
pub(crate) fn migrate(conn: &Connection) -> Result<(), LedgerError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(LedgerError::NewerSchema { found: version, supported: SCHEMA_VERSION });
    }
    // Version 1's tables are created if missing, and the connection's pragmas set (the journal
    // mode outside a transaction), at every start.
    conn.execute_batch(include_str!("schema.sql"))?;
    if version < 1 {
        conn.execute_batch("PRAGMA user_version = 1")?;
    }
    if version < 2 {
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {} COMMIT;", include_str!("schema-2.sql")))?;
    }
    Ok(())
}

/// What the ledger already knows about a change id.
struct KnownChange {
    account_key: String,
    state: String,
    captured_at_ns: i64,
    reason: Option<String>,
    superseded_by: Option<String>,
}

/// Decides whether a submitted change must be applied, and to which targets.
///
/// Answers from the ledger when the change was settled before (idempotence), marks it
/// superseded when the account already has a newer change (newest wins), and otherwise records
/// it as pending, advances the account's watermark and lists the targets that still need it.
pub(crate) fn admit(
    conn: &Connection,
    change: &ChangeRecord,
    targets: &[String],
    operator_retry: bool,
    now_ns: i64,
) -> Result<Admission, LedgerError> {
    let existing: Option<KnownChange> = conn
        .query_row(
            "SELECT account_key, state, captured_at_ns, reason, superseded_by FROM changes WHERE id = ?1",
            params![change.id],
            |row| {
                Ok(KnownChange {
                    account_key: row.get(0)?,
                    state: row.get(1)?,
                    captured_at_ns: row.get(2)?,
                    reason: row.get(3)?,
                    superseded_by: row.get(4)?,
                })
            },
        )
        .optional()?;

    if let Some(known) = &existing {
        if known.account_key != change.account_key || known.captured_at_ns != change.captured_at_ns {
            return Ok(Admission::IdConflict);
        }
        match ChangeState::parse(&known.state)? {
            ChangeState::Applied => return Ok(Admission::Settled(ChangeState::Applied, None)),
            ChangeState::Superseded => {
                return Ok(Admission::Superseded { by: known.superseded_by.clone() });
            }
            ChangeState::Rejected if !operator_retry => {
                return Ok(Admission::Settled(ChangeState::Rejected, known.reason.clone()));
            }
            ChangeState::Rejected => {
                // An operator sent the record back: give the refusing targets another chance.
                conn.execute(
                    "UPDATE target_results SET state = 'retry' WHERE change_id = ?1 AND state = 'rejected'",
                    params![change.id],
                )?;
                conn.execute(
                    "UPDATE changes SET state = 'pending', reason = NULL, settled_at_ns = NULL WHERE id = ?1",
                    params![change.id],
                )?;
            }
            ChangeState::Pending => {}
        }
    }

    let this = change.order_key();
    let newest: Option<OrderKey> = conn
        .query_row(
            "SELECT captured_at_ns, origin, origin_seq, change_id, directory_version FROM newest
             WHERE account_key = ?1",
            params![change.account_key],
            |row| {
                Ok(OrderKey {
                    captured_at_ns: row.get(0)?,
                    origin: row.get(1)?,
                    origin_seq: row.get::<_, i64>(2)? as u64,
                    change_id: row.get(3)?,
                    directory_version: row.get(4)?,
                })
            },
        )
        .optional()?;

    if existing.is_none() {
        conn.execute(
            "INSERT INTO changes (id, account_key, domain, account, captured_at_ns, origin, origin_seq, source,
                                  client, received_at_ns, state, directory_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending', ?11)",
            params![
                change.id,
                change.account_key,
                change.domain,
                change.account,
                change.captured_at_ns,
                change.origin,
                change.origin_seq as i64,
                change.source,
                change.client,
                now_ns,
                change.directory_version,
            ],
        )?;
    }

    if let Some(newest) = newest.filter(|newest| *newest > this) {
        conn.execute(
            "UPDATE changes SET state = 'superseded', superseded_by = ?2, settled_at_ns = ?3 WHERE id = ?1",
            params![change.id, newest.change_id, now_ns],
        )?;
        return Ok(Admission::Superseded { by: Some(newest.change_id) });
    }

    conn.execute(
        "INSERT INTO newest (account_key, captured_at_ns, origin, origin_seq, change_id, directory_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (account_key) DO UPDATE SET
            captured_at_ns = excluded.captured_at_ns, origin = excluded.origin,
            origin_seq = excluded.origin_seq, change_id = excluded.change_id,
            directory_version = excluded.directory_version",
        params![
            change.account_key,
            this.captured_at_ns,
            this.origin,
            this.origin_seq as i64,
            this.change_id,
            this.directory_version
        ],
    )?;

    // An older change of the account left pending (its server stopped in the middle, or a
    // target asked for a retry) can never be applied now that this one is the newest: were
    // it sent again, it would be superseded. Settle it so, rather than leave it pending for
    // ever when its client never sends it again (a client drops a record that a newer one of
    // the same account makes useless). The account's lock is held: none of them is in flight.
    // The same order as `OrderKey`: versions first when both rows have one.
    let superseded_pending = conn.execute(
        "UPDATE changes SET state = 'superseded', superseded_by = ?5, settled_at_ns = ?6
         WHERE account_key = ?1 AND state = 'pending' AND id <> ?5
           AND CASE WHEN directory_version IS NOT NULL AND ?7 IS NOT NULL AND directory_version <> ?7
                    THEN directory_version < ?7
                    ELSE (captured_at_ns, origin, origin_seq, id) < (?2, ?3, ?4, ?5) END",
        params![
            change.account_key,
            this.captured_at_ns,
            this.origin,
            this.origin_seq as i64,
            this.change_id,
            now_ns,
            this.directory_version
        ],
    )?;

    let mut done = conn.prepare_cached(
        "SELECT target FROM target_results WHERE change_id = ?1 AND state IN ('applied', 'rejected')",
    )?;
    let finished: Vec<String> =
        done.query_map(params![change.id], |row| row.get(0))?.collect::<Result<_, _>>()?;
    let remaining = targets.iter().filter(|target| !finished.contains(target)).cloned().collect();
    Ok(Admission::Apply { remaining, superseded_pending })
}

/// Records the outcome of the targets tried in this round and settles the change when no
/// target is left to retry. Returns the change's state afterwards, with the reason when rejected.
pub(crate) fn finish(
    conn: &Connection,
    change_id: &str,
    targets: &[String],
    results: &[TargetResult],
    now_ns: i64,
) -> Result<(ChangeState, Option<String>), LedgerError> {
    for result in results {
        conn.execute(
            "INSERT INTO target_results (change_id, target, state, reason, attempts, latency_us, updated_at_ns)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)
             ON CONFLICT (change_id, target) DO UPDATE SET
                state = excluded.state, reason = excluded.reason, attempts = attempts + 1,
                latency_us = excluded.latency_us, updated_at_ns = excluded.updated_at_ns",
            params![
                change_id,
                result.target,
                result.state.as_str(),
                result.reason,
                result.latency_us as i64,
                now_ns
            ],
        )?;
    }

    let mut rows =
        conn.prepare_cached("SELECT target, state, reason FROM target_results WHERE change_id = ?1")?;
    let recorded: Vec<(String, String, Option<String>)> = rows
        .query_map(params![change_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;

    let state_of = |target: &String| recorded.iter().find(|(name, _, _)| name == target);
    let mut rejections = Vec::new();
    let mut unsettled = false;
    for target in targets {
        match state_of(target) {
            Some((_, state, _)) if state == "applied" => {}
            Some((_, state, reason)) if state == "rejected" => {
                rejections.push(format!("{target}: {}", reason.as_deref().unwrap_or("rejected")));
            }
            _ => unsettled = true,
        }
    }

    let (state, reason) = if unsettled {
        (ChangeState::Pending, None)
    } else if rejections.is_empty() {
        (ChangeState::Applied, None)
    } else {
        (ChangeState::Rejected, Some(rejections.join("; ")))
    };
    if state != ChangeState::Pending {
        conn.execute(
            "UPDATE changes SET state = ?2, reason = ?3, settled_at_ns = ?4 WHERE id = ?1",
            params![change_id, state.as_str(), reason, now_ns],
        )?;
    }
    Ok((state, reason))
}

pub(crate) fn audit(conn: &Connection, event: &AuditEvent, now_ns: i64) -> Result<(), LedgerError> {
    conn.execute(
        "INSERT INTO audit (at_ns, event, client, peer, change_id, account_key, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            now_ns,
            event.event,
            event.client,
            event.peer,
            event.change_id,
            event.account_key,
            event.detail
        ],
    )?;
    Ok(())
}

/// The state of one change, or `None` when the ledger never saw it.
pub(crate) fn change_state(conn: &Connection, change_id: &str) -> Result<Option<ChangeState>, LedgerError> {
    let state: Option<String> = conn
        .query_row("SELECT state FROM changes WHERE id = ?1", params![change_id], |row| row.get(0))
        .optional()?;
    state.map(|state| ChangeState::parse(&state)).transpose()
}

pub(crate) fn counts_by_state(conn: &Connection) -> Result<Vec<(String, i64)>, LedgerError> {
    let mut statement = conn.prepare("SELECT state, COUNT(*) FROM changes GROUP BY state ORDER BY state")?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub(crate) fn audit_events(conn: &Connection, event: &str) -> Result<Vec<AuditEvent>, LedgerError> {
    let mut statement = conn.prepare(
        "SELECT event, client, peer, change_id, account_key, detail FROM audit WHERE event = ?1 ORDER BY seq",
    )?;
    let rows = statement
        .query_map(params![event], |row| {
            Ok(AuditEvent {
                event: row.get(0)?,
                client: row.get(1)?,
                peer: row.get(2)?,
                change_id: row.get(3)?,
                account_key: row.get(4)?,
                detail: row.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

impl TargetState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TargetState::Applied => "applied",
            TargetState::Rejected => "rejected",
            TargetState::Retry => "retry",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        conn
    }

    fn change(id: &str, t: i64) -> ChangeRecord {
        ChangeRecord {
            id: id.into(),
            account_key: "corp.example\\alice".into(),
            domain: "corp.example".into(),
            account: "alice".into(),
            captured_at_ns: t,
            origin: "dc1".into(),
            origin_seq: t as u64,
            source: "generic".into(),
            client: "dc1".into(),
            directory_version: None,
        }
    }

    fn versioned(id: &str, t: i64, version: u32) -> ChangeRecord {
        ChangeRecord { directory_version: Some(version), ..change(id, t) }
    }

    fn targets() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    fn result(target: &str, state: TargetState) -> TargetResult {
        TargetResult { target: target.into(), state, reason: Some("why".into()), latency_us: 5 }
    }

    #[test]
    fn a_new_change_goes_to_every_target_then_settles_applied() {
        let conn = ledger();
        let admission = admit(&conn, &change("c1", 10), &targets(), false, 1).unwrap();
        assert_eq!(admission, Admission::Apply { remaining: targets(), superseded_pending: 0 });
        let results = [result("a", TargetState::Applied), result("b", TargetState::Applied)];
        assert_eq!(finish(&conn, "c1", &targets(), &results, 2).unwrap().0, ChangeState::Applied);
        // Redelivery is answered from the ledger.
        assert_eq!(
            admit(&conn, &change("c1", 10), &targets(), false, 3).unwrap(),
            Admission::Settled(ChangeState::Applied, None)
        );
    }

    #[test]
    fn an_older_change_arriving_later_is_superseded() {
        let conn = ledger();
        admit(&conn, &change("new", 20), &targets(), false, 1).unwrap();
        let admission = admit(&conn, &change("old", 10), &targets(), false, 2).unwrap();
        assert_eq!(admission, Admission::Superseded { by: Some("new".into()) });
        assert_eq!(change_state(&conn, "old").unwrap(), Some(ChangeState::Superseded));
    }

    /// Found by the fault-injection test: a change answered `retry`, then deleted by its client
    /// because a newer record of the same account came into its spool, stayed pending forever.
    #[test]
    fn an_older_pending_change_is_superseded_when_a_newer_one_is_admitted() {
        let conn = ledger();
        admit(&conn, &change("old", 10), &targets(), false, 1).unwrap();
        let results = [result("a", TargetState::Applied), result("b", TargetState::Retry)];
        assert_eq!(finish(&conn, "old", &targets(), &results, 2).unwrap().0, ChangeState::Pending);
        let mut other_account = change("bob", 5);
        other_account.account_key = "corp.example\\bob".into();
        admit(&conn, &other_account, &targets(), false, 3).unwrap();

        admit(&conn, &change("new", 20), &targets(), false, 4).unwrap();
        assert_eq!(change_state(&conn, "old").unwrap(), Some(ChangeState::Superseded));
        let by: Option<String> = conn
            .query_row("SELECT superseded_by FROM changes WHERE id = 'old'", [], |row| row.get(0))
            .unwrap();
        assert_eq!(by.as_deref(), Some("new"));
        assert_eq!(change_state(&conn, "new").unwrap(), Some(ChangeState::Pending));
        assert_eq!(
            change_state(&conn, "bob").unwrap(),
            Some(ChangeState::Pending),
            "another account's change"
        );
        // Its redelivery is answered from the ledger, as before.
        assert_eq!(
            admit(&conn, &change("old", 10), &targets(), false, 5).unwrap(),
            Admission::Superseded { by: Some("new".into()) }
        );
    }

    #[test]
    fn a_newer_pending_change_is_left_alone_by_an_older_one() {
        let conn = ledger();
        admit(&conn, &change("new", 20), &targets(), false, 1).unwrap();
        admit(&conn, &change("old", 10), &targets(), false, 2).unwrap();
        assert_eq!(change_state(&conn, "new").unwrap(), Some(ChangeState::Pending));
    }

    #[test]
    fn a_newer_change_settles_an_older_one_left_pending_as_superseded() {
        let conn = ledger();
        admit(&conn, &change("old", 10), &targets(), false, 1).unwrap();
        // Its server stopped before any target answered: the row stays pending ...
        assert_eq!(change_state(&conn, "old").unwrap(), Some(ChangeState::Pending));
        // ... until a newer change of the account is admitted.
        let admission = admit(&conn, &change("new", 20), &targets(), false, 2).unwrap();
        assert_eq!(admission, Admission::Apply { remaining: targets(), superseded_pending: 1 });
        assert_eq!(change_state(&conn, "old").unwrap(), Some(ChangeState::Superseded));
        // Sent again, it is answered superseded by the newer one.
        let again = admit(&conn, &change("old", 10), &targets(), false, 3).unwrap();
        assert_eq!(again, Admission::Superseded { by: Some("new".into()) });
        // A newer pending change is never touched by an older one.
        admit(&conn, &change("newest", 30), &targets(), false, 4).unwrap();
        assert_eq!(change_state(&conn, "newest").unwrap(), Some(ChangeState::Pending));
    }

    #[test]
    fn only_targets_that_have_not_applied_are_retried() {
        let conn = ledger();
        admit(&conn, &change("c1", 10), &targets(), false, 1).unwrap();
        let results = [result("a", TargetState::Applied), result("b", TargetState::Retry)];
        assert_eq!(finish(&conn, "c1", &targets(), &results, 2).unwrap().0, ChangeState::Pending);
        let again = admit(&conn, &change("c1", 10), &targets(), false, 3).unwrap();
        assert_eq!(again, Admission::Apply { remaining: vec!["b".into()], superseded_pending: 0 });
    }

    #[test]
    fn a_rejection_settles_the_change_and_operator_retry_reopens_it() {
        let conn = ledger();
        admit(&conn, &change("c1", 10), &targets(), false, 1).unwrap();
        let results = [result("a", TargetState::Applied), result("b", TargetState::Rejected)];
        let (state, reason) = finish(&conn, "c1", &targets(), &results, 2).unwrap();
        assert_eq!(state, ChangeState::Rejected);
        assert_eq!(reason.as_deref(), Some("b: why"));
        assert!(matches!(
            admit(&conn, &change("c1", 10), &targets(), false, 3).unwrap(),
            Admission::Settled(ChangeState::Rejected, _)
        ));
        let reopened = admit(&conn, &change("c1", 10), &targets(), true, 4).unwrap();
        assert_eq!(reopened, Admission::Apply { remaining: vec!["b".into()], superseded_pending: 0 });
    }

    #[test]
    fn a_reused_change_id_for_another_account_is_a_conflict() {
        let conn = ledger();
        admit(&conn, &change("c1", 10), &targets(), false, 1).unwrap();
        let mut other = change("c1", 10);
        other.account_key = "corp.example\\bob".into();
        assert_eq!(admit(&conn, &other, &targets(), false, 2).unwrap(), Admission::IdConflict);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 7").unwrap();
        assert!(matches!(migrate(&conn), Err(LedgerError::NewerSchema { found: 7, .. })));
    }

    /// A reset on a DC whose clock is behind: captured "earlier", but the directory's version
    /// is higher, and the directory keeps it.
    #[test]
    fn a_higher_directory_version_wins_over_a_later_capture_time() {
        let conn = ledger();
        admit(&conn, &versioned("dc1-change", 180, 5), &targets(), false, 1).unwrap();
        let admission = admit(&conn, &versioned("dc2-reset", 10, 6), &targets(), false, 2).unwrap();
        assert_eq!(admission, Admission::Apply { remaining: targets(), superseded_pending: 1 });
        assert_eq!(change_state(&conn, "dc1-change").unwrap(), Some(ChangeState::Superseded));
        // The lower version arriving again, or late, is superseded whatever its time.
        let late = admit(&conn, &versioned("dc1-late", 200, 5), &targets(), false, 3).unwrap();
        assert_eq!(late, Admission::Superseded { by: Some("dc2-reset".into()) });
        let stored: Option<u32> = conn
            .query_row("SELECT directory_version FROM changes WHERE id = 'dc2-reset'", [], |row| row.get(0))
            .unwrap();
        assert_eq!(stored, Some(6), "the ledger keeps the version");
    }

    #[test]
    fn equal_or_missing_versions_fall_back_to_capture_time() {
        let conn = ledger();
        admit(&conn, &versioned("v5-late", 20, 5), &targets(), false, 1).unwrap();
        let same = admit(&conn, &versioned("v5-early", 10, 5), &targets(), false, 2).unwrap();
        assert_eq!(same, Admission::Superseded { by: Some("v5-late".into()) });
        let unversioned = admit(&conn, &change("pam", 30), &targets(), false, 3).unwrap();
        assert!(matches!(unversioned, Admission::Apply { .. }), "{unversioned:?}");
    }

    #[test]
    fn a_version_1_ledger_is_migrated_in_place_and_a_newer_one_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("schema.sql")).unwrap();
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
        admit_v1_row(&conn);
        migrate(&conn).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(change_state(&conn, "v1").unwrap(), Some(ChangeState::Applied), "kept");
        // Ordered by time against it, as before: it has no version.
        let admission = admit(&conn, &versioned("v2", 5, 3), &targets(), false, 9).unwrap();
        assert_eq!(admission, Admission::Superseded { by: Some("v1".into()) });
        // Every later start finds version 2 and leaves it so (found by the fault-injection test:
        // the version-1 script once reset the number, and the next start added the column again).
        for _ in 0..3 {
            migrate(&conn).unwrap();
            let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
            assert_eq!(version, SCHEMA_VERSION);
        }

        conn.execute_batch("PRAGMA user_version = 3").unwrap();
        assert!(matches!(migrate(&conn), Err(LedgerError::NewerSchema { found: 3, supported: 2 })));
    }

    /// A change applied by a version-1 program: the row as it wrote it.
    fn admit_v1_row(conn: &Connection) {
        conn.execute_batch(
            "INSERT INTO changes (id, account_key, domain, account, captured_at_ns, origin, origin_seq, source,
                                  client, received_at_ns, state, settled_at_ns)
             VALUES ('v1', 'corp.example\\alice', 'corp.example', 'alice', 10, 'dc1', 1, 'generic', 'dc1', 1,
                     'applied', 2);
             INSERT INTO newest (account_key, captured_at_ns, origin, origin_seq, change_id)
             VALUES ('corp.example\\alice', 10, 'dc1', 1, 'v1');",
        )
        .unwrap();
    }
}
