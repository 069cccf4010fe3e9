//! The `[operations]` table of the client configuration: how often the daemon reports its
//! state to the server, and the opt-in listener for Prometheus (`/metrics`, plain HTTP on
//! loopback by default: it shows counts only).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OperationsConfig {
    /// How often the daemon sends its status report (spool depth, oldest pending change,
    /// failed records) to the server, which also hands back operator retries.
    #[serde(default = "default_status_interval_ms")]
    pub status_interval_ms: u64,
    /// Serve `/metrics` (Prometheus text) here; off when absent. Plain HTTP: keep it on
    /// loopback or a management network.
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for OperationsConfig {
    fn default() -> Self {
        OperationsConfig { status_interval_ms: default_status_interval_ms(), metrics_listen: None }
    }
}

fn default_status_interval_ms() -> u64 {
    30_000
}

impl OperationsConfig {
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.status_interval_ms < 100 {
            return Err("operations.status_interval_ms must be at least 100".into());
        }
        Ok(())
    }
}
