//! A local stand-in for Microsoft Entra ID's token endpoint and the Microsoft Graph users API,
//! faithful to the documented behaviour a password sync meets (see docs/target-graph.md):
//! client-credentials tokens for a client secret or a certificate assertion (signature,
//! thumbprint, audience and validity checked), `GET /v1.0/users` with `$filter`, and
//! `PATCH /v1.0/users/{id}` with a `passwordProfile` — bearer token, permission, directory
//! role, content type, body shape, synced accounts, complexity and a write budget answered
//! with 429 and `Retry-After`. Faults (latency, chosen errors, dropped requests, an echoed
//! password, revoked tokens) are injected through [`Faults`] or the control API.
//!
//! It is test support: it is the only stand-in for the real service, so it must never be
//! more lenient than the documentation says the service is. It never stores a password in
//! clear, only a digest for tests to compare.

mod access_token;
mod assertion;
mod config;
mod control;
mod directory;
mod faults;
mod graph_error;
mod password_rules;
mod registration;
mod server;
mod state;
mod throttle;
mod token_endpoint;
mod users_api;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{get, post, put};
use axum::Router;
use tokio::sync::watch;

pub use config::{EmulatorConfig, EmulatorConfigError, WriteBudget};
pub use directory::{password_digest, DirectoryUser, PasswordRecord};
pub use faults::{FaultUpdate, Faults, InjectedFailure};
pub use registration::{
    thumbprint_s256, AppRegistration, RegistrationError, GLOBAL_ADMINISTRATOR, PASSWORD_PROFILE_PERMISSION,
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR, USER_ADMINISTRATOR,
};
pub use server::{tls_config, TlsSetupError};
pub use state::StatsSnapshot;

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(transparent)]
    Config(#[from] EmulatorConfigError),
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    #[error("cannot listen on {address}: {message}")]
    Bind { address: SocketAddr, message: String },
}

/// A running emulator; stops when dropped or [`RunningEmulator::stop`]ped.
pub struct RunningEmulator {
    address: SocketAddr,
    tenant: Arc<state::Tenant>,
    stop: watch::Sender<bool>,
}

/// Starts the emulator for `config` on `listen` (port 0 picks a free port).
pub async fn start(
    config: &EmulatorConfig,
    listen: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
) -> Result<RunningEmulator, EmulatorError> {
    config.check()?;
    let tenant = Arc::new(state::Tenant::new(config)?);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| EmulatorError::Bind { address: listen, message: error.to_string() })?;
    let address = listener
        .local_addr()
        .map_err(|error| EmulatorError::Bind { address: listen, message: error.to_string() })?;
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(server::serve(listener, tls, router(tenant.clone()), tenant.clone(), stopped));
    Ok(RunningEmulator { address, tenant, stop })
}

fn router(tenant: Arc<state::Tenant>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint::token))
        .route("/v1.0/users", get(users_api::list))
        .route("/v1.0/users/{key}", get(users_api::get_one).patch(users_api::patch))
        .route("/_emulator/faults", post(control::faults))
        .route("/_emulator/budget", put(control::budget))
        .route("/_emulator/users", put(control::put_user))
        .route("/_emulator/users/{key}/password", get(control::password))
        .route("/_emulator/stats", get(control::stats))
        .with_state(tenant)
}

impl RunningEmulator {
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `https://127.0.0.1:PORT`: both the authority and the Graph base URL.
    pub fn url(&self) -> String {
        format!("https://{}", self.address)
    }

    pub fn faults(&self) -> &Faults {
        &self.tenant.faults
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.tenant.stats.snapshot()
    }

    /// What is known of the passwords set for the user `key` (object id or UPN).
    pub fn password_record(&self, key: &str) -> Option<PasswordRecord> {
        self.tenant.directory().find(key).map(|user| user.password.clone())
    }

    /// Adds or replaces a user (e.g. one that directory sync has just brought in).
    pub fn put_user(&self, user: DirectoryUser) {
        self.tenant.directory().add(user);
    }

    pub fn set_budget(&self, budget: WriteBudget) {
        self.tenant.throttle.set_budget(budget);
    }

    pub fn set_token_lifetime(&self, lifetime: std::time::Duration) {
        self.tenant.tokens.set_lifetime(lifetime);
    }

    pub fn revoke_tokens(&self) {
        self.tenant.tokens.revoke_all();
    }

    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.stop();
    }
}
