//! The operator listener: `/healthz` for load balancers and service managers (the only thing
//! served without authentication), `/metrics` for Prometheus, and the web console. Its own
//! TLS listener, loopback by default, separate from the change API so that the two can be
//! exposed (or not) independently.
//!
//! Nothing served here may ever contain a password: every page and metric is built from the
//! ledger, which holds none.

pub mod auth;
pub mod config;
pub mod console;
pub mod listener;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::ledger::Ledger;
use auth::Credentials;

/// What every operator request handler can reach.
#[derive(Clone)]
pub struct OperatorState {
    pub ledger: Ledger,
    pub ledger_path: PathBuf,
    pub metrics: PrometheusHandle,
    pub credentials: Arc<Credentials>,
    pub target_names: Arc<Vec<String>>,
    pub sessions: Arc<console::session::Sessions>,
}

pub const HEALTHZ_PATH: &str = "/healthz";
pub const METRICS_PATH: &str = "/metrics";

pub fn router(state: OperatorState) -> Router {
    let protected = console::protected_routes()
        .route(METRICS_PATH, get(metrics))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), console::authenticate));
    Router::new()
        .route(HEALTHZ_PATH, get(healthz))
        .merge(console::login_routes())
        .merge(protected)
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics(State(state): State<OperatorState>) -> Response {
    let path = state.ledger_path.clone();
    let handle = state.metrics.clone();
    match tokio::task::spawn_blocking(move || crate::metrics::render(&handle, &path)).await {
        Ok(text) => ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
