//! The fault-injection suite: a storm of faults over a real deployment, then a judgement.
//!
//! A real `pwsync server` (targets: dry-run, an exec recorder, and Microsoft Graph served by
//! `pwsync graph-emulator`), three `pwsync client` daemons (DCs `dc1`, `dc2`, `dc3`, one origin
//! each) and real `pwsync-capture` hooks capturing changes of eight accounts from all three DCs.
//! A seeded scheduler (`chaos/storm.rs`) injects, one after another: SIGKILL of a client, of the
//! server, and of hooks mid-capture; the server down for a stretch (minutes in a long run); the
//! target answering 429 with Retry-After, 503, timing out and dropping connections; dc2's spool
//! (on a tmpfs of its own) full or read-only; and sealed records redelivered, some twice at
//! once. dc3's hooks run with their clock skewed by minutes (libfaketime). Then every fault ends,
//! every process comes back, the spools drain, and `chaos/verify.rs` judges:
//!
//! - **Lost**: an acknowledged capture (the hook exited 0, so the DC was told it is safe)
//!   without exactly one final state: `applied` or `superseded` in the ledger, or superseded
//!   locally by a later capture of the same account in the same spool (logged by its client).
//!   A ledger row left `pending` or `rejected`, or a record in `failed/`, also fails the test.
//! - **Misordered**: "newest" is the server's order and nothing else — capture time, then
//!   origin, origin sequence and change id (`pwsync_server::ordering::OrderKey`), never arrival
//!   time. Capture time is the origin's own clock, so a change from dc3 with its clock ahead can
//!   legitimately beat a change another DC captured later by the wall clock. Per account, a
//!   misordering is: the newest change not `applied`, the ledger's watermark naming another
//!   change, the target (emulator) holding any other password than the newest change's, the
//!   recorder target's last application being another change, or the recorder applying a
//!   change after a newer one; per origin, an acknowledged capture stamped before one the DC
//!   captured ahead of it.
//! - A SIGKILLed hook's change was never acknowledged, so it may be absent; if present, it is
//!   whole and carries exactly the password that hook was given (counted apart).
//! - A redelivered record of a settled change is answered from the ledger: the recorder target
//!   does not see it again.
//! - No password in any file or log of the run.
//!
//! `PWSYNC_CHAOS_SEED` (default random, always printed) replays a schedule;
//! `PWSYNC_CHAOS_SECONDS` (default 60, the CI budget) is the storm's length. The summary is
//! printed as a line and as JSON, even when the test output is captured.

mod common;
#[path = "chaos/emulator.rs"]
mod emulator;
#[path = "chaos/hooks.rs"]
mod hooks;
#[path = "chaos/leak_scan.rs"]
mod leak_scan;
#[path = "chaos/processes.rs"]
mod processes;
#[path = "chaos/settings.rs"]
mod settings;
#[path = "chaos/spool_fs.rs"]
mod spool_fs;
#[path = "chaos/storm.rs"]
mod storm;
#[path = "chaos/tally.rs"]
mod tally;
#[path = "chaos/verify.rs"]
mod verify;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;
use hooks::HookOutcome;

/// Accounts every DC captures changes of, so that origins race each other on each account.
const ACCOUNTS: usize = 8;

/// Prints past the test harness's output capture, so that CI logs always show the summary.
fn report(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

#[test]
fn a_storm_of_faults_loses_no_change_and_misorders_none() {
    let settings = settings::Settings::from_env();
    report(&format!(
        "chaos: seed {} storm {} s; replay with: {}",
        settings.seed,
        settings.storm.as_secs(),
        settings.replay_command()
    ));
    let started = Instant::now();
    let dir = TestDir::new("chaos");
    let deployment = Deployment::new(&dir.path, true);
    let accounts: Vec<String> = (0..ACCOUNTS).map(|index| format!("user{index}")).collect();
    let emulator = emulator::Emulator::start(&deployment, &accounts);
    let server = processes::ServerProcess::start(&deployment);

    let mount = spool_fs::SpoolMount::mount(&dir.path.join("fs-dc2"));
    let mut clients = Vec::new();
    for (index, name) in ["dc1", "dc2", "dc3"].into_iter().enumerate() {
        let spool = match &mount {
            Ok(mount) if index == storm::MOUNTED_CLIENT => mount.spool.clone(),
            _ => dir.path.join(format!("spool-{name}")),
        };
        let setup = processes::add_client(&deployment, name, &server.address, &spool);
        clients.push(processes::ClientProcess::start(setup));
    }

    let mut storm = storm::Storm::new(settings, &deployment, &emulator, server, clients, mount, accounts);
    storm.run();
    let (_, longest_down) = settings.server_down_range();
    let settle = storm.settle(Duration::from_secs(60) + longest_down);
    let findings = verify::judge(&deployment, &emulator, &storm);
    storm.stop_processes();

    let killed = storm.captures.iter().filter(|capture| capture.outcome == HookOutcome::Killed).count();
    let refused =
        storm.captures.iter().filter(|capture| matches!(capture.outcome, HookOutcome::Refused(_))).count();
    let problems_total = findings.losses.len()
        + findings.misorderings.len()
        + findings.wrongly_applied.len()
        + findings.duplicate_applications.len()
        + findings.failed_records.len();
    let survived = if problems_total == 0 { storm.tally.total() } else { 0 };
    let summary = serde_json::json!({
        "seed": settings.seed,
        "storm_s": settings.storm.as_secs(),
        "changes": storm.captures.len(),
        "acknowledged": findings.acknowledged,
        "applied": findings.applied,
        "superseded_by_server": findings.superseded_by_server,
        "superseded_locally": findings.superseded_locally,
        "hooks_killed": killed,
        "hooks_killed_change_present": findings.killed_present,
        "captures_refused": refused,
        "captures_refused_outside_spool_fault": storm.captures.iter()
            .filter(|capture| matches!(capture.outcome, HookOutcome::Refused(_)) && !capture.during_spool_fault)
            .count(),
        "faults_injected": storm.tally.total(),
        "faults_survived": survived,
        "faults_by_kind": storm.tally.injected,
        "faults_skipped": storm.tally.skipped,
        "observed": storm.tally.observed,
        "clock_skew_s": storm.skew.as_ref().map(|skew| skew.offset_s),
        "clock_skew_observed_s": findings.skew_observed_s.map(|s| (s * 10.0).round() / 10.0),
        "losses": findings.losses.len(),
        "misorderings": findings.misorderings.len(),
        "wrongly_applied": findings.wrongly_applied.len(),
        "duplicates_answered": findings.duplicates_answered,
        "redelivered_before_settled": findings.redelivered_before_settled,
        "duplicate_applications": findings.duplicate_applications.len(),
        "failed_records": findings.failed_records.len(),
        "unexpected_exits": storm.unexpected_exits(),
        "settle_s": (settle.as_secs_f64() * 10.0).round() / 10.0,
        "wall_s": started.elapsed().as_secs(),
        "emulator": emulator.stats(),
    });
    report(&format!(
        "chaos summary: seed={} storm={}s changes={} acknowledged={} faults_injected={} faults_survived={} \
         losses={} misorderings={} duplicates_answered={} hooks_killed={} (change present: {}) settle={:.1}s",
        settings.seed,
        settings.storm.as_secs(),
        storm.captures.len(),
        findings.acknowledged,
        storm.tally.total(),
        survived,
        findings.losses.len(),
        findings.misorderings.len(),
        findings.duplicates_answered,
        killed,
        findings.killed_present,
        settle.as_secs_f64(),
    ));
    report(&format!("chaos summary json: {summary}"));
    for (kind, reason) in &storm.tally.skipped {
        report(&format!("chaos: FAULT SKIPPED on this machine: {kind}: {reason}"));
    }
    for note in &storm.tally.notes {
        report(&format!("chaos: note: {note}"));
    }
    let problems: Vec<&String> = findings
        .losses
        .iter()
        .chain(&findings.misorderings)
        .chain(&findings.wrongly_applied)
        .chain(&findings.duplicate_applications)
        .chain(&findings.failed_records)
        .collect();
    assert!(
        problems.is_empty(),
        "the storm broke an invariant ({}):\n{problems:#?}",
        settings.replay_command()
    );

    // The storm must have been one: a quiet run proves nothing.
    assert!(findings.acknowledged >= 50, "too few changes captured: {}", findings.acknowledged);
    assert!(storm.tally.total() >= 10, "too few faults injected: {}", storm.tally.total());
    if let (Some(skew), Some(observed)) = (&storm.skew, findings.skew_observed_s) {
        assert!(
            (observed - skew.offset_s as f64).abs() < 30.0,
            "dc3's clock skew of {} s did not reach the ledger (observed {observed:.1} s)",
            skew.offset_s
        );
    }

    let mut passwords: Vec<String> = storm.captures.iter().map(|capture| capture.password.clone()).collect();
    passwords.push(emulator::Emulator::secret().to_string());
    let mount = storm.take_mount();
    drop(storm);
    drop(emulator);
    // The secret's own files hold it by design; nothing else may.
    std::fs::remove_file(deployment.dir.join("graph.secret")).unwrap();
    std::fs::remove_file(deployment.dir.join("tenant.toml")).unwrap();
    let scanned = leak_scan::assert_no_secret_under(&deployment.dir, &passwords);
    assert!(scanned >= 10, "the leak scan must have read the logs, the ledger and the spools");
    // The harness's own scan too, with a sample (it searches once per password).
    let sample: Vec<String> = passwords.iter().rev().take(8).cloned().collect();
    deployment.assert_no_password_anywhere(&sample);
    drop(mount); // unmounts the spool filesystem before the test directory goes
}
