//! `pwsync client` and `pwsync server`: load the configuration, start the runtime, run until
//! SIGTERM or Ctrl-C, then stop gracefully (in-flight requests finish).

use anyhow::Context;

use std::path::Path;

use crate::cli::ServerArgs;

pub fn run_client(config: &Path) -> anyhow::Result<()> {
    pwsync_capture::forbid_core_dumps();
    let config = pwsync_client::config::ClientConfig::load(config)?;
    runtime()?.block_on(async { pwsync_client::run(config, shutdown_signal()).await })?;
    Ok(())
}

pub fn run_server(args: ServerArgs) -> anyhow::Result<()> {
    pwsync_capture::forbid_core_dumps();
    let config = pwsync_server::config::ServerConfig::load(&args.config)?;
    runtime()?.block_on(async { pwsync_server::run(config, args.ready_file, shutdown_signal()).await })?;
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// Resolves on Ctrl-C, or on SIGTERM where there are signals (systemd stops services with it).
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the daemon");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("stopping");
}
