//! `POST /v1/client-status`: a client daemon's periodic report (version, spool depth, oldest
//! pending change, failed records), stored in the ledger so that `pwsync status`, the console
//! and the metrics show every client's backlog; the answer hands the client the retries an
//! operator asked for.
//!
//! Served behind the same mutual-TLS listener as the change API: the client is the one its
//! certificate names. Refusals name the rule, never a value.

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use pwsync_proto::{ApiError, ClientStatusAnswer, ClientStatusReport, CLIENT_STATUS_PATH};

use crate::api::Peer;
use crate::ledger::Ledger;

/// Largest report body: the failed ids dominate (1000 × 35 bytes).
const MAX_REPORT_BYTES: usize = 64 * 1024;

/// The route, with its own body limit; a body that does not arrive within `body_read_timeout`
/// fails to read (`server.body_read_timeout_ms`).
pub fn router(ledger: Ledger, body_read_timeout: std::time::Duration) -> Router {
    Router::new()
        .route(CLIENT_STATUS_PATH, post(report))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REPORT_BYTES))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(body_read_timeout))
        .with_state(ledger)
}

async fn report(State(ledger): State<Ledger>, Extension(peer): Extension<Peer>, body: Bytes) -> Response {
    let refuse = |message: String| {
        (StatusCode::BAD_REQUEST, Json(ApiError::new("malformed_body", message))).into_response()
    };
    let report: ClientStatusReport = match serde_json::from_slice(&body) {
        Ok(report) => report,
        Err(error) => {
            return refuse(format!(
                "not a client status report (line {} column {}, {:?} error)",
                error.line(),
                error.column(),
                error.classify()
            ))
        }
    };
    if let Err(message) = report.validate() {
        return refuse(message);
    }
    let client = peer.identity.name.clone();
    tracing::debug!(%client, spool_depth = report.spool_depth, failed = report.failed, "client status report");
    match ledger.record_client_report(client.clone(), report).await {
        Ok(retry) => {
            for change_id in &retry {
                tracing::info!(%client, %change_id, "operator retry handed to the client");
            }
            Json(ClientStatusAnswer { retry }).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "cannot record a client status report");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(ApiError::new("ledger_unavailable", "the ledger is unavailable")),
            )
                .into_response()
        }
    }
}
