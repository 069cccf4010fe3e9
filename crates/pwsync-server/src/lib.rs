//! The pwsync server: accepts changes from many client daemons over mutually authenticated
//! TLS 1.3, decides each one against the ledger (idempotence, newest wins), applies it to every
//! configured target, and answers with a verdict per change.
//!
//! The server keeps no password anywhere but in memory for the length of the target calls.

pub mod account_locks;
pub mod api;
pub mod client_status;
pub mod config;
pub mod dispatcher;
pub mod handshake_pool;
pub mod idle;
pub mod ledger;
pub mod listener;
pub mod metrics;
pub mod operator;
pub mod ordering;
pub mod redact;
pub mod revocation_guard;
pub mod service_manager;
pub mod targets;
pub mod tls_reload;
pub mod when;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use config::{ServerConfig, TargetConfig};
use targets::{DryRunTarget, ExecTarget, GraphTarget, LdapTarget, SharedTarget};

/// How long a stopping server lets open requests finish.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Tls(#[from] pwsync_tls::TlsError),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error("target {name}: {message}")]
    Target { name: String, message: String },
    #[error("cannot listen on {address}: {source}")]
    Bind { address: std::net::SocketAddr, source: std::io::Error },
    #[error(transparent)]
    OperatorToken(#[from] operator::auth::TokenFileError),
    #[error("cannot watch for SIGHUP (the reload signal): {source}")]
    Signal { source: std::io::Error },
    #[error("cannot write the ready file {path}: {source}")]
    ReadyFile { path: PathBuf, source: std::io::Error },
}

/// Builds the configured targets; fails when one cannot work at all (missing program, ...).
pub fn build_targets(configs: &[TargetConfig]) -> Result<Vec<SharedTarget>, ServerError> {
    configs
        .iter()
        .map(|config| -> Result<SharedTarget, ServerError> {
            let failed = |message: String| ServerError::Target { name: config.name().to_string(), message };
            Ok(match config {
                TargetConfig::DryRun(dry_run) => {
                    Arc::new(DryRunTarget::new(dry_run).map_err(|error| failed(error.to_string()))?)
                }
                TargetConfig::Exec(exec) => Arc::new(ExecTarget::new(exec).map_err(failed)?),
                TargetConfig::Ldap(ldap) => {
                    Arc::new(LdapTarget::new(ldap).map_err(|error| failed(error.to_string()))?)
                }
                TargetConfig::Graph(graph) => {
                    Arc::new(GraphTarget::new(graph).map_err(|error| failed(error.to_string()))?)
                }
            })
        })
        .collect()
}

/// Checks what the configuration names without side effects (no file is created): the TLS
/// files load and are valid, and every target could start. For `pwsync check-config`.
pub fn check(config: &ServerConfig) -> Result<(), ServerError> {
    pwsync_tls::install_crypto_provider();
    tls_reload::load(&config.tls)?;
    if let Some(operator) = &config.operator {
        // The operator listener's certificate and CA, and the token file (mode, length).
        pwsync_tls::operator_server_config(
            operator.certificate.as_deref().unwrap_or(&config.tls.certificate),
            operator.key.as_deref().unwrap_or(&config.tls.key),
            &config.tls.client_ca,
            operator.client_ca.as_deref(),
        )?;
        operator::auth::Credentials::load(operator.token_file.as_deref(), operator.client_names.clone())?;
    }
    check_targets(&config.targets)
}

/// Checks the target configurations without side effects (no file is created).
pub fn check_targets(configs: &[TargetConfig]) -> Result<(), ServerError> {
    for config in configs {
        match config {
            TargetConfig::DryRun(dry_run) => {
                let parent = dry_run.log.as_ref().and_then(|log| log.parent());
                if let Some(parent) = parent.filter(|parent| !parent.is_dir()) {
                    return Err(ServerError::Target {
                        name: dry_run.name.clone(),
                        message: format!("the log's directory {} does not exist", parent.display()),
                    });
                }
            }
            TargetConfig::Exec(exec) => {
                ExecTarget::new(exec)
                    .map_err(|message| ServerError::Target { name: exec.name.clone(), message })?;
            }
            TargetConfig::Ldap(ldap) => {
                // Reads the CA and bind password files and checks the filter; no network.
                LdapTarget::new(ldap).map_err(|error| ServerError::Target {
                    name: ldap.name.clone(),
                    message: error.to_string(),
                })?;
            }
            TargetConfig::Graph(graph) => {
                // Reads the credential and CA files; no network.
                GraphTarget::new(graph).map_err(|error| ServerError::Target {
                    name: graph.name.clone(),
                    message: error.to_string(),
                })?;
            }
        }
    }
    Ok(())
}

/// What `pwsync target test` asks: the account to look up, as a client would send it.
#[derive(Debug, Clone, Default)]
pub struct ProbeAccount {
    pub account: String,
    pub domain: String,
    pub identity: pwsync_proto::Identity,
}

/// Probes the configured targets (or the one named) for `account` without changing anything:
/// one `(target name, outcome)` per target.
pub async fn probe_targets(
    config: &ServerConfig,
    only: Option<&str>,
    account: &ProbeAccount,
) -> Result<Vec<(String, Result<String, String>)>, ServerError> {
    let chosen: Vec<TargetConfig> = config
        .targets
        .iter()
        .filter(|target| only.is_none_or(|name| target.name() == name))
        .cloned()
        .collect();
    if chosen.is_empty() {
        return Err(ServerError::Target {
            name: only.unwrap_or_default().to_string(),
            message: "no target of that name in the configuration".into(),
        });
    }
    // Built from a copy without dry-run logs, so that probing creates no file.
    let quiet: Vec<TargetConfig> = chosen
        .into_iter()
        .map(|target| match target {
            TargetConfig::DryRun(mut dry_run) => {
                dry_run.log = None;
                TargetConfig::DryRun(dry_run)
            }
            other => other,
        })
        .collect();
    let request = targets::ApplyRequest {
        change_id: "0".repeat(32),
        domain: account.domain.clone(),
        account: account.account.clone(),
        identity: account.identity.clone(),
        password: pwsync_proto::SecretString::new(String::new()),
        captured_at_ns: ledger::now_ns(),
        origin: "pwsync target test".into(),
    };
    let mut results = Vec::new();
    for target in build_targets(&quiet)? {
        results.push((target.name().to_string(), target.probe(&request).await));
    }
    Ok(results)
}

/// Runs the server until `shutdown` resolves. When `ready_file` is given, the bound address is
/// written there once the listener accepts connections (useful with port 0).
pub async fn run(
    config: ServerConfig,
    ready_file: Option<PathBuf>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServerError> {
    pwsync_tls::install_crypto_provider();
    let metrics_handle = metrics::install();
    let (tls_sender, tls) = tokio::sync::watch::channel(Arc::new(tls_reload::load(&config.tls)?));
    let ledger = ledger::Ledger::open(&config.ledger.path)?;
    let reloader = tls_reload::reload_on_hangup(
        config.tls.clone(),
        config.loaded_from.clone(),
        tls_sender,
        ledger.clone(),
    )
    .map_err(|source| ServerError::Signal { source })?;
    let targets = build_targets(&config.targets)?;
    let target_names: Vec<&str> = targets.iter().map(|target| target.name()).collect();
    let owned_target_names: Vec<String> = target_names.iter().map(|name| name.to_string()).collect();
    let dispatcher = Arc::new(dispatcher::Dispatcher::new(ledger.clone(), targets.clone()));
    let router = api::router(api::ApiState {
        dispatcher,
        request_deadline: Duration::from_millis(config.server.request_deadline_ms),
        limits: config.server.request_limits(),
    })
    .merge(client_status::router(ledger.clone(), Duration::from_millis(config.server.body_read_timeout_ms)))
    .layer(axum::middleware::from_fn_with_state(
        revocation_guard::RevocationGuard { tls: tls.clone(), ledger: ledger.clone() },
        revocation_guard::refuse_revoked,
    ));
    let address = config.server.listen;
    let tcp = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ServerError::Bind { address, source })?;
    let bound = tcp.local_addr().map_err(|source| ServerError::Bind { address, source })?;

    // One stop signal, fanned out to both listeners.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wait_stop = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let operator_task = match &config.operator {
        Some(operator_config) => {
            let operator_tls = pwsync_tls::operator_server_config(
                operator_config.certificate.as_deref().unwrap_or(&config.tls.certificate),
                operator_config.key.as_deref().unwrap_or(&config.tls.key),
                &config.tls.client_ca,
                operator_config.client_ca.as_deref(),
            )?;
            let credentials = operator::auth::Credentials::load(
                operator_config.token_file.as_deref(),
                operator_config.client_names.clone(),
            )?;
            let address = operator_config.listen;
            let operator_tcp = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|source| ServerError::Bind { address, source })?;
            let operator_bound =
                operator_tcp.local_addr().map_err(|source| ServerError::Bind { address, source })?;
            let state = operator::OperatorState {
                ledger: ledger.clone(),
                ledger_path: config.ledger.path.clone(),
                metrics: metrics_handle.clone(),
                credentials: Arc::new(credentials),
                target_names: Arc::new(owned_target_names.clone()),
                sessions: operator::console::sessions(),
            };
            if let Some(path) = &ready_file {
                let operator_ready = operator_ready_file(path);
                write_ready_file(&operator_ready, &operator_bound.to_string())
                    .map_err(|source| ServerError::ReadyFile { path: operator_ready.clone(), source })?;
            }
            tracing::info!(bound = %operator_bound, "operator listener ready (console, /metrics, /healthz)");
            Some(tokio::spawn(operator::listener::serve(
                operator_tcp,
                operator_tls,
                operator::router(state),
                wait_stop(stopped.clone()),
                SHUTDOWN_DRAIN,
            )))
        }
        None => None,
    };
    if let Some(path) = &ready_file {
        write_ready_file(path, &bound.to_string())
            .map_err(|source| ServerError::ReadyFile { path: path.clone(), source })?;
    }
    tracing::info!(%bound, targets = ?target_names, ledger = %config.ledger.path.display(), "pwsync server ready");
    service_manager::ready();
    let limits = config.server.connection_limits();
    let listener = listener::Listener { tcp, tls, router, ledger, limits };
    listener
        .serve(
            async move {
                shutdown.await;
                service_manager::stopping();
                let _ = stop.send(true);
            },
            SHUTDOWN_DRAIN,
        )
        .await;
    if let Some(task) = operator_task {
        let _ = task.await;
    }
    reloader.abort();
    tracing::info!("pwsync server stopped");
    Ok(())
}

/// Where the operator listener's bound address is written beside the ready file: the same
/// name with `.operator` appended.
pub fn operator_ready_file(ready_file: &std::path::Path) -> PathBuf {
    let mut name = ready_file.as_os_str().to_owned();
    name.push(".operator");
    PathBuf::from(name)
}

/// Written via rename so a reader never sees a half-written address.
fn write_ready_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}
