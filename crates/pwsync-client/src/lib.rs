//! The pwsync client daemon: one per domain controller or host. It watches the spool the
//! capture hooks write, opens each sealed record, checks the account against the scope, sends
//! in-scope changes to the server over mutually authenticated TLS 1.3, waits for the verdict,
//! and only then removes the record.
//!
//! The client must never drop a change without a final verdict, and never write a password
//! anywhere (it holds one in memory only between opening a record and the server's answer).

pub mod backoff;
pub mod config;
pub mod contact;
pub mod daemon;
pub mod metrics;
pub mod operations;
pub mod reporter;
pub mod scope;
pub mod sender;
pub mod service_manager;
pub mod watcher;

use std::path::Path;
use std::sync::Arc;

use pwsync_seal::SecretKey;
use pwsync_spool::Spool;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use config::{ClientConfig, ScopeConfig};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Spool(#[from] pwsync_spool::SpoolError),
    #[error(transparent)]
    Tls(#[from] pwsync_tls::TlsError),
    #[error("cannot set up the HTTPS client: {0}")]
    Http(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("[scope]: {0}")]
    Scope(String),
    #[error("spool key {path}: {message}")]
    SpoolKey { path: String, message: String },
    #[error("the client certificate {path} is bound to {bound:?}, not to client.domain {domain:?}; issue one with `pwsync pki issue-client --domain {domain}`")]
    DomainNotInCertificate { path: String, domain: String, bound: Vec<String> },
}

/// Reads the spool secret keys, refusing files that others can read.
pub fn load_spool_keys(paths: &[std::path::PathBuf]) -> Result<Vec<SecretKey>, ClientError> {
    paths
        .iter()
        .map(|path| {
            let failed =
                |message: String| ClientError::SpoolKey { path: path.display().to_string(), message };
            check_private(path).map_err(failed)?;
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(path).map_err(|error| failed(error.to_string()))?,
            );
            SecretKey::parse_file_text(&text).map_err(|error| failed(error.to_string()))
        })
        .collect()
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map_err(|error| error.to_string())?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "mode {:o} lets others read it; run `chmod 600 {}`",
            mode & 0o777,
            path.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), String> {
    Ok(())
}

/// Checks that this client's own certificate is bound to the configured domain, so that a
/// mismatch is reported at start-up and not as a rejection of every change.
fn check_certificate_domain(config: &ClientConfig) -> Result<(), ClientError> {
    let path = &config.server.certificate;
    let der = CertificateDer::from_pem_file(path).map_err(|error| ClientError::SpoolKey {
        path: path.display().to_string(),
        message: format!("cannot read the certificate: {error}"),
    })?;
    let identity = pwsync_tls::peer_identity(der.as_ref())?;
    if !identity.domains.contains(&config.client.domain) {
        return Err(ClientError::DomainNotInCertificate {
            path: path.display().to_string(),
            domain: config.client.domain.clone(),
            bound: identity.domains,
        });
    }
    Ok(())
}

/// Checks what the configuration names without changing anything: the spool keys load, the
/// certificate is valid, issued by the CA and bound to the domain. For `pwsync check-config`.
pub fn check(config: &ClientConfig) -> Result<(), ClientError> {
    pwsync_tls::install_crypto_provider();
    load_spool_keys(&config.client.spool_keys)?;
    check_certificate_domain(config)?;
    build_scope(config)?;
    pwsync_tls::client_config(&config.server.ca, &config.server.certificate, &config.server.key)?;
    Ok(())
}

/// Independent workers on one spool (records are shared out by change id), so that one lane
/// opens records while another waits for the server's answer: on two cores this overlaps the
/// client's CPU work with the server's.
pub const LANES: usize = 2;

/// Everything the daemon needs, checked: keys readable, certificate valid and bound to the
/// domain, spool usable. Returns one daemon per lane.
pub fn build(config: ClientConfig) -> Result<Vec<daemon::Daemon>, ClientError> {
    pwsync_tls::install_crypto_provider();
    let keys = Arc::new(load_spool_keys(&config.client.spool_keys)?);
    check_certificate_domain(&config)?;
    let sender = Arc::new(
        sender::Sender::new(&config.server)?.with_contact_log(contact::ContactLog::new(&config.client.spool)),
    );
    let spool = Spool::open(&config.client.spool)?;
    let (scope, confirmer) = build_scope(&config)?;
    Ok((0..LANES)
        .map(|lane| {
            let lane = daemon::Lane { index: lane, count: LANES };
            daemon::Daemon::new(
                config.clone(),
                spool.clone(),
                keys.clone(),
                scope.clone(),
                confirmer.clone(),
                sender.clone(),
                lane,
            )
        })
        .collect())
}

type BuiltScope = (Arc<dyn scope::Scope>, Option<Arc<scope::CommitConfirmer>>);

/// The configured scope, and with a directory scope the commit confirmer all lanes share.
fn build_scope(config: &ClientConfig) -> Result<BuiltScope, ClientError> {
    Ok(match &config.scope {
        ScopeConfig::All => (Arc::new(scope::AllAccounts), None),
        ScopeConfig::Ldap(ldap) => {
            let directory =
                scope::DirectoryScope::new(ldap).map_err(|error| ClientError::Scope(error.to_string()))?;
            let confirmer = scope::CommitConfirmer::new(
                std::time::Duration::from_secs(ldap.confirm_window_s),
                std::time::Duration::from_millis(ldap.commit_allowance_ms),
            );
            (Arc::new(directory), Some(Arc::new(confirmer)))
        }
    })
}

/// The directory scope of `config`, for `pwsync client test-scope`.
pub fn directory_scope(config: &ClientConfig) -> Result<scope::DirectoryScope, ClientError> {
    pwsync_tls::install_crypto_provider();
    match &config.scope {
        ScopeConfig::Ldap(ldap) => {
            scope::DirectoryScope::new(ldap).map_err(|error| ClientError::Scope(error.to_string()))
        }
        ScopeConfig::All => Err(ClientError::Scope(
            "[scope] is not kind = \"ldap\": every account is in scope, there is nothing to test".into(),
        )),
    }
}

/// Runs the daemon until `shutdown` resolves.
pub async fn run(
    config: ClientConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ClientError> {
    let spool_path = config.client.spool.clone();
    let operations = config.operations.clone();
    let lanes = build(config)?;
    let sender = lanes[0].sender();
    let spool = Spool::open(&spool_path)?;
    let wakes: Vec<Arc<tokio::sync::Notify>> =
        lanes.iter().map(|_| Arc::new(tokio::sync::Notify::new())).collect();
    let _watch = match watcher::watch(&spool_path, wakes.clone()) {
        Ok(watch) => Some(watch),
        Err(error) => {
            tracing::warn!(%error, "cannot watch the spool; relying on the periodic rescan");
            None
        }
    };
    tracing::info!(spool = %spool_path.display(), lanes = LANES, "pwsync client ready");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let lanes = lanes.into_iter().zip(wakes.clone()).map(|(lane, wake)| {
        let mut stopped = stopped.clone();
        lane.run(wake, async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
    });
    if let Some(listen) = operations.metrics_listen {
        let mut stopped = stopped.clone();
        let bound = metrics::serve(listen, spool.clone(), async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await
        .map_err(|error| ClientError::Internal(format!("cannot serve metrics on {listen}: {error}")))?;
        tracing::info!(%bound, "metrics listener ready");
    }
    let reporter = {
        let mut stopped = stopped.clone();
        tokio::spawn(reporter::run(
            spool,
            sender,
            std::time::Duration::from_millis(operations.status_interval_ms),
            wakes.clone(),
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        ))
    };
    service_manager::ready();
    let all_lanes = futures_util::future::join_all(lanes);
    tokio::pin!(all_lanes);
    tokio::select! {
        _ = &mut all_lanes => {}
        _ = shutdown => {
            service_manager::stopping();
            let _ = stop.send(true);
            all_lanes.await;
        }
    }
    let _ = stop.send(true);
    let _ = reporter.await;
    Ok(())
}
