//! The client's periodic status report to the server (`POST /v1/client-status`): version,
//! spool depth, oldest pending change, failed records. The answer lists the failed records an
//! operator asked to retry in the console; they are moved back into the spool here, exactly as
//! `pwsync failed retry` would, and the lanes are woken.
//!
//! A report carries counts, times and change ids only. A failed report is logged and tried
//! again at the next interval; it never touches the spool's pending records.

use std::sync::Arc;
use std::time::Duration;

use pwsync_proto::{ClientStatusReport, MAX_REPORTED_FAILED};
use pwsync_spool::Spool;
use tokio::sync::Notify;

use crate::sender::Sender;

pub async fn run(
    spool: Spool,
    sender: Arc<Sender>,
    interval: Duration,
    wakes: Vec<Arc<Notify>>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        report_once(&spool, &sender, &wakes).await;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = &mut shutdown => return,
        }
    }
}

async fn report_once(spool: &Spool, sender: &Sender, wakes: &[Arc<Notify>]) {
    let snapshot = {
        let spool = spool.clone();
        tokio::task::spawn_blocking(move || -> Result<ClientStatusReport, pwsync_spool::SpoolError> {
            let stats = spool.stats()?;
            let failed = spool.list_failed()?;
            Ok(ClientStatusReport {
                version: env!("CARGO_PKG_VERSION").to_string(),
                spool_depth: stats.pending as u64,
                oldest_pending_captured_at_ns: stats.oldest_captured_at_ns,
                failed: failed.len() as u64,
                failed_ids: failed
                    .iter()
                    .take(MAX_REPORTED_FAILED)
                    .map(|record| record.id.to_string())
                    .collect(),
            })
        })
        .await
    };
    let report = match snapshot {
        Ok(Ok(report)) => report,
        Ok(Err(error)) => return tracing::error!(%error, "cannot read the spool for the status report"),
        Err(error) => return tracing::error!(%error, "the status report task failed"),
    };
    let answer = match sender.report(&report).await {
        Ok(answer) => answer,
        Err(error) => {
            return tracing::warn!(%error, "status report not delivered; next try at the next interval")
        }
    };
    if answer.retry.is_empty() {
        return;
    }
    let failed = match spool.list_failed() {
        Ok(failed) => failed,
        Err(error) => return tracing::error!(%error, "cannot list failed records for an operator retry"),
    };
    let mut moved = 0;
    for change_id in &answer.retry {
        let Some(record) = failed.iter().find(|record| record.id.to_string().eq_ignore_ascii_case(change_id))
        else {
            tracing::warn!(%change_id, "the operator asked to retry a record that is no longer in failed/");
            continue;
        };
        match spool.retry_failed(&record.name) {
            Ok(()) => {
                moved += 1;
                crate::metrics::operator_retry();
                tracing::info!(%change_id, "failed record moved back for an operator retry from the console");
            }
            Err(error) => tracing::error!(%change_id, %error, "cannot move a failed record back"),
        }
    }
    if moved > 0 {
        wakes.iter().for_each(|wake| wake.notify_one());
    }
}
