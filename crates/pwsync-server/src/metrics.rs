//! The server's Prometheus metrics: names, help texts, and the few calls that record them.
//! docs/metrics.md documents each one; keep both in step.
//!
//! Event counters and histograms are recorded where things happen (dispatcher, listener);
//! gauges that describe the ledger (changes by state, clients and their backlogs) are read
//! from the ledger at scrape time, so they are right even just after a restart. Labels hold
//! target and client names and outcomes only — never an account, and never a password.

use std::sync::OnceLock;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::ledger::LedgerReader;

pub const CHANGES_SETTLED: &str = "pwsync_server_changes_settled_total";
pub const VERDICTS: &str = "pwsync_server_verdicts_total";
pub const CHANGE_LATENCY: &str = "pwsync_server_change_latency_seconds";
pub const TARGET_CALLS: &str = "pwsync_server_target_calls_total";
pub const TARGET_CALL_DURATION: &str = "pwsync_server_target_call_seconds";
pub const TARGET_THROTTLED: &str = "pwsync_server_target_throttled_total";
pub const CLIENT_CONNECTIONS: &str = "pwsync_server_client_connections";
pub const TLS_REFUSED: &str = "pwsync_server_tls_refused_total";
pub const LEDGER_CHANGES: &str = "pwsync_ledger_changes";
pub const CLIENTS_SEEN: &str = "pwsync_server_clients_seen";
pub const CLIENT_LAST_CONTACT: &str = "pwsync_server_client_last_contact_timestamp_seconds";
pub const CLIENT_SPOOL_DEPTH: &str = "pwsync_server_client_spool_depth";
pub const CLIENT_OLDEST_PENDING_AGE: &str = "pwsync_server_client_oldest_pending_age_seconds";
pub const CLIENT_FAILED: &str = "pwsync_server_client_failed_records";

/// Buckets of latency histograms, seconds: 1 ms … 10 min.
const LATENCY_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0];

/// Installs the process's Prometheus recorder once and returns its handle.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "a metrics recorder was installed already; the server's metrics may be missing"
                );
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(
        CHANGES_SETTLED,
        "Changes this server process settled, by outcome (applied, rejected)."
    );
    describe_counter!(VERDICTS, "Verdicts answered to clients, by verdict (redeliveries included).");
    describe_histogram!(
        CHANGE_LATENCY,
        Unit::Seconds,
        "Capture on the client's host to applied at every target."
    );
    describe_counter!(TARGET_CALLS, "Calls to a target, by target and outcome (applied, rejected, retry).");
    describe_histogram!(TARGET_CALL_DURATION, Unit::Seconds, "Duration of one call to a target, by target.");
    describe_counter!(
        TARGET_THROTTLED,
        "Calls a target answered with a pause request (HTTP 429 / Retry-After), by target."
    );
    describe_gauge!(CLIENT_CONNECTIONS, "Open TLS connections from clients.");
    describe_counter!(TLS_REFUSED, "Connections refused during the TLS handshake.");
    describe_gauge!(
        LEDGER_CHANGES,
        "Changes in the ledger, by state (pending, applied, superseded, rejected)."
    );
    describe_gauge!(CLIENTS_SEEN, "Clients the server has heard from.");
    describe_gauge!(
        CLIENT_LAST_CONTACT,
        Unit::Seconds,
        "Unix time of the last change or status report of a client."
    );
    describe_gauge!(CLIENT_SPOOL_DEPTH, "Records waiting in a client's spool, from its last status report.");
    describe_gauge!(
        CLIENT_OLDEST_PENDING_AGE,
        Unit::Seconds,
        "Age of the oldest record waiting in a client's spool (0 when none)."
    );
    describe_gauge!(CLIENT_FAILED, "Records in a client's failed/ directory, from its last status report.");
}

pub fn change_settled(outcome: &'static str) {
    counter!(CHANGES_SETTLED, "outcome" => outcome).increment(1);
}

pub fn verdict(name: &'static str) {
    counter!(VERDICTS, "verdict" => name).increment(1);
}

pub fn change_latency(captured_at_ns: i64, now_ns: i64) {
    histogram!(CHANGE_LATENCY).record((now_ns - captured_at_ns).max(0) as f64 / 1e9);
}

pub fn target_call(target: &str, outcome: &'static str, seconds: f64, throttled: bool) {
    counter!(TARGET_CALLS, "target" => target.to_string(), "outcome" => outcome).increment(1);
    histogram!(TARGET_CALL_DURATION, "target" => target.to_string()).record(seconds);
    if throttled {
        counter!(TARGET_THROTTLED, "target" => target.to_string()).increment(1);
        let mut pauses = PAUSES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *pauses.entry(target.to_string()).or_default() += 1;
    }
}

/// Pauses (429 / Retry-After) per target since the process started, for the console.
static PAUSES: std::sync::Mutex<std::collections::BTreeMap<String, u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

pub fn throttle_pauses() -> std::collections::BTreeMap<String, u64> {
    PAUSES.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
}

pub fn connection_opened() {
    gauge!(CLIENT_CONNECTIONS).increment(1.0);
}

pub fn connection_closed() {
    gauge!(CLIENT_CONNECTIONS).decrement(1.0);
}

pub fn tls_refused() {
    counter!(TLS_REFUSED).increment(1);
}

/// The metrics text: the ledger's gauges are read first, then everything is rendered.
pub fn render(handle: &PrometheusHandle, ledger: &std::path::Path) -> String {
    if let Err(error) = ledger_gauges(ledger) {
        tracing::warn!(%error, "cannot read the ledger for the metrics");
    }
    handle.render()
}

fn ledger_gauges(path: &std::path::Path) -> Result<(), crate::ledger::LedgerError> {
    let summary = crate::ledger::summarize(path)?;
    for (state, count) in [
        ("pending", summary.pending),
        ("applied", summary.applied),
        ("superseded", summary.superseded),
        ("rejected", summary.rejected),
    ] {
        gauge!(LEDGER_CHANGES, "state" => state).set(count as f64);
    }
    let reader = LedgerReader::open(path)?;
    let clients = reader.clients()?;
    gauge!(CLIENTS_SEEN).set(clients.len() as f64);
    let now_ns = crate::ledger::now_ns();
    for client in clients {
        let name = client.name.clone();
        if let Some(at) = client.last_contact_ns() {
            gauge!(CLIENT_LAST_CONTACT, "client" => name.clone()).set(at as f64 / 1e9);
        }
        if let Some(depth) = client.spool_depth {
            gauge!(CLIENT_SPOOL_DEPTH, "client" => name.clone()).set(depth as f64);
            let age =
                client.oldest_pending_captured_at_ns.map_or(0.0, |at| (now_ns - at).max(0) as f64 / 1e9);
            gauge!(CLIENT_OLDEST_PENDING_AGE, "client" => name.clone()).set(age);
        }
        if let Some(failed) = client.failed {
            gauge!(CLIENT_FAILED, "client" => name).set(failed as f64);
        }
    }
    Ok(())
}
