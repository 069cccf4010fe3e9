//! The client daemon's Prometheus metrics and their opt-in listener. docs/metrics.md documents
//! each metric; keep both in step.
//!
//! Spool gauges are read from the spool at scrape time; request and verdict counters are
//! recorded by the sender. Labels hold outcomes only — never an account or a password.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use pwsync_spool::Spool;

pub const SPOOL_DEPTH: &str = "pwsync_client_spool_depth";
pub const OLDEST_PENDING_AGE: &str = "pwsync_client_oldest_pending_age_seconds";
pub const FAILED_RECORDS: &str = "pwsync_client_failed_records";
pub const VERDICTS: &str = "pwsync_client_verdicts_total";
pub const REQUESTS: &str = "pwsync_client_requests_total";
pub const REQUEST_DURATION: &str = "pwsync_client_request_seconds";
pub const LAST_CONTACT: &str = "pwsync_client_last_contact_timestamp_seconds";
pub const OPERATOR_RETRIES: &str = "pwsync_client_operator_retries_total";

const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Installs the process's Prometheus recorder once and returns its handle.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "a metrics recorder was installed already; the client's metrics may be missing"
                );
            }
            describe_gauge!(SPOOL_DEPTH, "Records waiting in the spool.");
            describe_gauge!(
                OLDEST_PENDING_AGE,
                Unit::Seconds,
                "Age of the oldest waiting record (0 when none)."
            );
            describe_gauge!(FAILED_RECORDS, "Records in the spool's failed/ directory.");
            describe_counter!(VERDICTS, "Verdicts received from the server, by verdict.");
            describe_counter!(REQUESTS, "Requests to the server, by result (ok, error).");
            describe_histogram!(REQUEST_DURATION, Unit::Seconds, "Duration of one request to the server.");
            describe_gauge!(LAST_CONTACT, Unit::Seconds, "Unix time of the server's last answer.");
            describe_counter!(
                OPERATOR_RETRIES,
                "Failed records moved back for a retry an operator asked for in the console."
            );
            handle
        })
        .clone()
}

pub fn request(ok: bool, seconds: f64) {
    counter!(REQUESTS, "result" => if ok { "ok" } else { "error" }).increment(1);
    histogram!(REQUEST_DURATION).record(seconds);
    if ok {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        gauge!(LAST_CONTACT).set(now.as_secs_f64());
    }
}

pub fn verdict(name: &'static str) {
    counter!(VERDICTS, "verdict" => name).increment(1);
}

pub fn operator_retry() {
    counter!(OPERATOR_RETRIES).increment(1);
}

/// Serves `/metrics` on `listen` until `shutdown` resolves.
pub async fn serve(
    listen: SocketAddr,
    spool: Spool,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<SocketAddr> {
    let handle = install();
    let tcp = tokio::net::TcpListener::bind(listen).await?;
    let bound = tcp.local_addr()?;
    let router = Router::new().route("/metrics", get(render)).with_state((handle, spool));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(tcp, router).with_graceful_shutdown(shutdown).await {
            tracing::warn!(%error, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

async fn render(
    State((handle, spool)): State<(PrometheusHandle, Spool)>,
) -> ([(&'static str, &'static str); 1], String) {
    let text = tokio::task::spawn_blocking(move || {
        match spool.stats() {
            Ok(stats) => {
                gauge!(SPOOL_DEPTH).set(stats.pending as f64);
                gauge!(FAILED_RECORDS).set(stats.failed as f64);
                let now =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                let age = stats
                    .oldest_captured_at_ns
                    .map_or(0.0, |at| (now.as_nanos() as i64 - at).max(0) as f64 / 1e9);
                gauge!(OLDEST_PENDING_AGE).set(age);
            }
            Err(error) => tracing::warn!(%error, "cannot read the spool for the metrics"),
        }
        handle.render()
    })
    .await
    .unwrap_or_default();
    ([("content-type", "text/plain; version=0.0.4")], text)
}
