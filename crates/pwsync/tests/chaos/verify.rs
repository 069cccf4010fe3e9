//! The judgement after the storm: from the ledger, the target's final state (the emulator's
//! digests), the recorder target's log of applications in order, the clients' logs and the
//! spools, decide whether any captured change was lost, applied out of order or applied twice.
//!
//! "Newest" is exactly the server's order (`pwsync_server::ordering::OrderKey`): capture time,
//! then origin, origin sequence and change id — never arrival. Capture time is the origin's own
//! clock, so with one origin's clock skewed, its change can be the newest even if another DC
//! captured a change of the account later by the wall clock; that is correct, not a misorder.
//!
//! Must never trust the system's own account of itself where an independent one exists: the
//! expected password of an account comes from what the test fed the hooks.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use pwsync_server::ordering::OrderKey;

use crate::common::{failed_reasons, sha256_hex, Deployment};
use crate::emulator::{upn, Emulator};
use crate::hooks::HookOutcome;
use crate::storm::Storm;

/// One row of the ledger's `changes` table.
#[derive(Debug, Clone)]
struct LedgerRow {
    account: String,
    key: OrderKey,
    received_at_ns: i64,
    state: String,
    superseded_by: Option<String>,
}

#[derive(Debug, Default)]
pub struct Findings {
    pub acknowledged: usize,
    pub applied: usize,
    pub superseded_by_server: usize,
    pub superseded_locally: usize,
    pub killed_hooks: usize,
    pub killed_present: usize,
    pub losses: Vec<String>,
    pub misorderings: Vec<String>,
    pub wrongly_applied: Vec<String>,
    pub duplicates_answered: usize,
    pub redelivered_before_settled: usize,
    pub duplicate_applications: Vec<String>,
    pub failed_records: Vec<String>,
    /// Largest (capture time − server arrival) of the skewed origin's changes, in seconds.
    pub skew_observed_s: Option<f64>,
}

pub fn judge(deployment: &Deployment, emulator: &Emulator, storm: &Storm) -> Findings {
    let mut findings = Findings::default();
    let rows = ledger_rows(deployment);
    let newest = ledger_newest(deployment);
    let recorded = deployment.recorded();
    let locally = superseded_locally(storm);

    // Every row of the ledger has settled into a final state.
    for (id, row) in &rows {
        if row.state != "applied" && row.state != "superseded" {
            findings
                .losses
                .push(format!("change {id} of {} ended {:?} in the ledger", row.account, row.state));
        }
        if let Some(by) = &row.superseded_by {
            match rows.get(by) {
                Some(newer) if newer.key > row.key => {}
                _ => findings
                    .misorderings
                    .push(format!("change {id} marked superseded by {by}, which is not newer")),
            }
        }
    }

    // Every acknowledged capture: one final state (in the ledger, or superseded locally by a
    // later capture of the same account on the same DC).
    let mut known: HashMap<&str, usize> = HashMap::new();
    for (index, capture) in storm.captures.iter().enumerate() {
        let HookOutcome::Acknowledged(id) = &capture.outcome else { continue };
        findings.acknowledged += 1;
        known.insert(id.as_str(), index);
        match rows.get(id) {
            Some(row) if row.state == "applied" => findings.applied += 1,
            Some(row) if row.state == "superseded" => findings.superseded_by_server += 1,
            Some(_) => {} // reported above
            None if locally.contains(id.as_str()) => {
                let later = storm.captures[index + 1..].iter().any(|other| {
                    other.client == capture.client
                        && other.account == capture.account
                        && !matches!(other.outcome, HookOutcome::Refused(_))
                });
                if later {
                    findings.superseded_locally += 1;
                } else {
                    findings
                        .losses
                        .push(format!("change {id} superseded locally with no later capture of its account"));
                }
            }
            None => findings.losses.push(format!(
                "acknowledged change {id} ({} on {}) has no final state anywhere",
                capture.account, capture.origin
            )),
        }
    }

    // Changes in the ledger the DC never heard about: only SIGKILLed hooks may have left them,
    // whole, with the password that hook was given.
    let killed: Vec<&crate::storm::Capture> =
        storm.captures.iter().filter(|capture| capture.outcome == HookOutcome::Killed).collect();
    findings.killed_hooks = killed.len();
    let mut killed_password_of: HashMap<String, String> = HashMap::new();
    for (id, row) in &rows {
        if known.contains_key(id.as_str()) {
            continue;
        }
        let candidates: Vec<&&crate::storm::Capture> = killed
            .iter()
            .filter(|capture| capture.origin == row.key.origin && capture.account == row.account)
            .collect();
        if candidates.is_empty() {
            findings.wrongly_applied.push(format!("change {id} in the ledger was never captured"));
            continue;
        }
        findings.killed_present += 1;
        for (recorded_id, _, digest) in recorded.iter().filter(|(recorded_id, _, _)| recorded_id == id) {
            match candidates.iter().find(|capture| sha256_hex(&capture.password) == *digest) {
                Some(capture) => {
                    killed_password_of.insert(recorded_id.clone(), capture.password.clone());
                }
                None => findings.wrongly_applied.push(format!(
                    "change {id} of a killed hook was applied with a password it was not given"
                )),
            }
        }
    }

    // Per account: the newest change (by the server's order) is applied, the ledger's
    // watermark names it, the target holds its password, and no target got an older one last.
    let password_of = |id: &str| -> Option<String> {
        match known.get(id) {
            Some(&index) => Some(storm.captures[index].password.clone()),
            None => killed_password_of.get(id).cloned(),
        }
    };
    for account in &storm.accounts {
        let (emulator_digest, times_set) = emulator.password_of(&upn(account));
        let Some((winner_id, winner)) =
            rows.iter().filter(|(_, row)| row.account == *account).max_by(|a, b| a.1.key.cmp(&b.1.key))
        else {
            if times_set != 0 {
                findings
                    .misorderings
                    .push(format!("{account}: the target was set though no change reached the ledger"));
            }
            continue;
        };
        let expected = password_of(winner_id).map(|password| sha256_hex(&password));
        if expected.is_none() {
            findings
                .misorderings
                .push(format!("{account}: the newest change {winner_id} has no known password"));
        }
        if winner.state != "applied" {
            findings
                .misorderings
                .push(format!("{account}: the newest change {winner_id} is {}", winner.state));
        }
        if newest.get(account).map(String::as_str) != Some(winner_id.as_str()) {
            findings.misorderings.push(format!(
                "{account}: the ledger's newest is {:?}, the newest by order is {winner_id}",
                newest.get(account)
            ));
        }
        if expected.is_some() && emulator_digest != expected {
            findings.misorderings.push(format!(
                "{account}: the target does not hold the password of the newest change {winner_id}"
            ));
        }
        let history: Vec<&(String, String, String)> =
            recorded.iter().filter(|(_, recorded_account, _)| recorded_account == account).collect();
        match history.last() {
            Some((last_id, _, digest)) if last_id == winner_id && Some(digest) == expected.as_ref() => {}
            _ => findings.misorderings.push(format!(
                "{account}: the recorder target's last application is not the newest change {winner_id}"
            )),
        }
        let mut newest_applied: Option<&OrderKey> = None;
        for (id, _, _) in history {
            let Some(row) = rows.get(id) else {
                findings.wrongly_applied.push(format!("{account}: applied change {id} is not in the ledger"));
                continue;
            };
            if let Some(previous) = newest_applied {
                if row.key < *previous {
                    findings.misorderings.push(format!(
                        "{account}: change {id} applied after the newer change {}",
                        previous.change_id
                    ));
                }
            }
            if newest_applied.is_none_or(|previous| row.key > *previous) {
                newest_applied = Some(&row.key);
            }
        }
    }

    // Each origin stamped its acknowledged captures in the order the DC made them.
    let mut last_per_origin: BTreeMap<&str, &OrderKey> = BTreeMap::new();
    for capture in &storm.captures {
        let HookOutcome::Acknowledged(id) = &capture.outcome else { continue };
        let Some(row) = rows.get(id) else { continue };
        if let Some(previous) = last_per_origin.get(capture.origin.as_str()) {
            if row.key.captured_at_ns <= previous.captured_at_ns || row.key.origin_seq <= previous.origin_seq
            {
                findings.misorderings.push(format!(
                    "{}: change {id} stamped before the change captured ahead of it",
                    capture.origin
                ));
            }
        }
        last_per_origin.insert(capture.origin.as_str(), &row.key);
    }

    // Redelivered records of settled changes were answered from the ledger, not applied again.
    for redelivery in &storm.redeliveries {
        let settled = matches!(redelivery.state_before.as_deref(), Some("applied") | Some("superseded"));
        if !settled {
            findings.redelivered_before_settled += 1;
            continue;
        }
        let applications = recorded.iter().filter(|(id, _, _)| *id == redelivery.id).count();
        if applications == redelivery.applications_before {
            findings.duplicates_answered += redelivery.copies;
        } else {
            findings.duplicate_applications.push(format!(
                "settled change {} applied again after redelivery ({} → {applications})",
                redelivery.id, redelivery.applications_before
            ));
        }
    }

    for client in &storm.clients {
        for reason in failed_reasons(client.spool()) {
            findings.failed_records.push(format!("{}: {}", client.setup.name, reason.trim()));
        }
    }

    if storm.skew.is_some() {
        let skewed = &storm.clients[crate::storm::SKEWED_CLIENT].setup.name;
        // captured − received = skew − transit delay; the promptest delivery shows the skew.
        findings.skew_observed_s = rows
            .values()
            .filter(|row| row.key.origin == *skewed)
            .map(|row| (row.key.captured_at_ns - row.received_at_ns) as f64 / 1e9)
            .max_by(f64::total_cmp);
    }
    findings
}

fn open_ledger(deployment: &Deployment) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(&deployment.ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
}

fn ledger_rows(deployment: &Deployment) -> BTreeMap<String, LedgerRow> {
    let connection = open_ledger(deployment);
    let mut statement = connection
        .prepare(
            "SELECT id, account, captured_at_ns, origin, origin_seq, received_at_ns, state, superseded_by,
                    directory_version FROM changes",
        )
        .unwrap();
    statement
        .query_map([], |row| {
            let id: String = row.get(0)?;
            Ok((
                id.clone(),
                LedgerRow {
                    account: row.get::<_, String>(1)?.to_lowercase(),
                    key: OrderKey {
                        directory_version: row.get(8)?,
                        captured_at_ns: row.get(2)?,
                        origin: row.get(3)?,
                        origin_seq: row.get::<_, i64>(4)? as u64,
                        change_id: id,
                    },
                    received_at_ns: row.get(5)?,
                    state: row.get(6)?,
                    superseded_by: row.get(7)?,
                },
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// account (case-folded, without the domain) → the change id of the ledger's watermark.
fn ledger_newest(deployment: &Deployment) -> BTreeMap<String, String> {
    let connection = open_ledger(deployment);
    let mut statement = connection.prepare("SELECT account_key, change_id FROM newest").unwrap();
    statement
        .query_map([], |row| {
            let key: String = row.get(0)?;
            let account = key.rsplit('\\').next().unwrap_or(&key).to_lowercase();
            Ok((account, row.get(1)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Change ids the clients logged as superseded locally by a newer record of their spool.
fn superseded_locally(storm: &Storm) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for client in &storm.clients {
        let log = std::fs::read_to_string(&client.setup.log).unwrap_or_default();
        for line in log.lines().filter(|line| line.contains("superseded locally")) {
            if let Some(start) = line.find("change_id=") {
                let id: String = line[start + "change_id=".len()..].chars().take(32).collect();
                ids.insert(id);
            }
        }
    }
    ids
}
