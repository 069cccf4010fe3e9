//! The change listener's TLS material, and its reload on SIGHUP: the server certificate and
//! key, the deployment CA and its revocation list. A certificate rotation or a revocation takes
//! effect without a restart; connections that are still allowed are not dropped, and new
//! handshakes use the new material at once.
//!
//! Must never replace working material with files that do not load: a failed reload is logged
//! and audited, and the server goes on with what it had.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pwsync_tls::{ServerTls, TlsError};
use tokio::sync::watch;

use crate::config::{ServerConfig, ServerTlsConfig};
use crate::ledger::{AuditEvent, Ledger};

/// The material in force; every new handshake and every request reads the current value.
pub type CurrentTls = watch::Receiver<Arc<ServerTls>>;

/// Loads the files that `config` names.
pub fn load(config: &ServerTlsConfig) -> Result<ServerTls, TlsError> {
    ServerTls::load(&config.certificate, &config.key, &config.client_ca, config.revocation_list.as_deref())
}

/// Reloads the material each time the process receives SIGHUP (`systemctl reload`), until the
/// returned task is aborted. With `loaded_from`, the `[tls]` table is read again from that
/// configuration file first, so that a rotation may name new files; the other tables are only
/// read at start.
pub fn reload_on_hangup(
    config: ServerTlsConfig,
    loaded_from: Option<PathBuf>,
    current: watch::Sender<Arc<ServerTls>>,
    ledger: Ledger,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        let mut config = config;
        while hangups.recv().await.is_some() {
            reload(&mut config, loaded_from.as_deref(), &current, &ledger).await;
        }
    }))
}

async fn reload(
    config: &mut ServerTlsConfig,
    loaded_from: Option<&Path>,
    current: &watch::Sender<Arc<ServerTls>>,
    ledger: &Ledger,
) {
    let reloaded = match loaded_from {
        Some(path) => ServerConfig::load(path).map(|fresh| fresh.tls).map_err(|error| error.to_string()),
        None => Ok(config.clone()),
    }
    .and_then(|fresh| load(&fresh).map(|tls| (fresh, tls)).map_err(|error| error.to_string()));
    let (event, detail) = match reloaded {
        Ok((fresh, tls)) => {
            let revoked = tls.revoked.len();
            current.send_replace(Arc::new(tls));
            *config = fresh;
            tracing::info!(certificate = %config.certificate.display(), revoked,
                "reloaded the TLS material; new connections use it, revoked clients are refused from their next request");
            ("tls_reloaded", format!("certificate {}; {revoked} revoked", config.certificate.display()))
        }
        Err(error) => {
            tracing::error!(%error, "cannot reload the TLS material; the server keeps the material it had");
            ("tls_reload_failed", error)
        }
    };
    if let Err(error) =
        ledger.audit(AuditEvent { event: event.into(), detail, ..AuditEvent::default() }).await
    {
        tracing::error!(%error, "cannot write the reload to the audit trail");
    }
}
