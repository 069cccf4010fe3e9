//! The change API: `POST /v1/changes` and `GET /v1/health`, behind the TLS listener.
//!
//! Every request here already passed the mutual TLS handshake; this layer checks what the
//! certificate allows (the domains it is bound to), validates the body, and hands each change
//! to the dispatcher. It must never echo request content in an error: a malformed body could
//! carry a password in any field.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pwsync_proto::{ApiError, BatchVerdicts, ChangeBatch, Verdict, VerdictEntry, CHANGES_PATH, HEALTH_PATH};
use pwsync_tls::PeerIdentity;

use crate::dispatcher::{Dispatcher, Submitter};
use crate::ledger::AuditEvent;

/// The verified client behind a connection, attached to each of its requests.
#[derive(Debug, Clone)]
pub struct Peer {
    pub identity: PeerIdentity,
    pub addr: SocketAddr,
}

#[derive(Clone)]
pub struct ApiState {
    pub dispatcher: Arc<Dispatcher>,
    pub request_deadline: Duration,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route(CHANGES_PATH, post(post_changes))
        .route(HEALTH_PATH, get(health))
        .layer(DefaultBodyLimit::max(pwsync_proto::MAX_BODY_BYTES))
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(ApiError::new(code, message))).into_response()
}

/// Describes a JSON error by position and kind only: serde's own message may quote a value.
fn describe_json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let names_a_field = text.starts_with("unknown field") || text.starts_with("missing field");
    if names_a_field {
        // These quote a key name and the list of expected keys, never a value.
        text
    } else {
        format!(
            "malformed request body at line {} column {} ({:?} error)",
            error.line(),
            error.column(),
            error.classify()
        )
    }
}

async fn post_changes(
    State(state): State<ApiState>,
    Extension(peer): Extension<Peer>,
    body: Bytes,
) -> Response {
    let batch: ChangeBatch = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(json_error) => {
            return error(StatusCode::BAD_REQUEST, "malformed_body", describe_json_error(&json_error));
        }
    };
    drop(body);
    if let Err(invalid) = batch.validate() {
        return error(StatusCode::BAD_REQUEST, invalid.code(), invalid.to_string());
    }

    let submitter = Submitter { client: peer.identity.name.clone(), peer: peer.addr.to_string() };
    let mut pending = Vec::with_capacity(batch.changes.len());
    for change in batch.changes {
        let id = change.id.clone();
        if let Err(invalid) = change.validate() {
            tracing::warn!(client = %peer.identity.name, code = invalid.code(), %invalid, "refused an invalid change");
            let reason = format!("invalid change ({}): {invalid}", invalid.code());
            pending.push((id, None, Some(Verdict::Rejected { reason })));
            continue;
        }
        if !peer.identity.domains.contains(&change.domain) {
            let reason = format!(
                "the client certificate of {:?} is not bound to domain {:?}",
                peer.identity.name, change.domain
            );
            tracing::warn!(client = %peer.identity.name, change_id = %id, domain = %change.domain,
                "refused a change for a domain the client certificate is not bound to");
            let event = AuditEvent {
                event: "domain_not_allowed".into(),
                client: Some(peer.identity.name.clone()),
                peer: Some(peer.addr.to_string()),
                change_id: Some(id.clone()),
                account_key: Some(change.account_key()),
                detail: reason.clone(),
            };
            let _ = state.dispatcher.ledger().audit(event).await;
            pending.push((id, None, Some(Verdict::Rejected { reason })));
            continue;
        }
        // Each change runs as its own task: it finishes (and is recorded) even if the client
        // goes away or the deadline below passes.
        let dispatcher = state.dispatcher.clone();
        let submitter = submitter.clone();
        let task = tokio::spawn(async move { dispatcher.process(change, &submitter).await });
        pending.push((id, Some(task), None));
    }

    let deadline = tokio::time::Instant::now() + state.request_deadline;
    let mut verdicts = Vec::with_capacity(pending.len());
    for (id, task, decided) in pending {
        let verdict = match (task, decided) {
            (_, Some(verdict)) => verdict,
            (Some(task), None) => match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(verdict)) => verdict,
                Ok(Err(join_error)) => {
                    tracing::error!(change_id = %id, %join_error, "change processing failed");
                    Verdict::Retry { after_ms: 5_000, reason: "internal error while processing".into() }
                }
                Err(_) => Verdict::Retry { after_ms: 1_000, reason: "still being applied".into() },
            },
            (None, None) => unreachable!("every change has a task or a verdict"),
        };
        verdicts.push(VerdictEntry { id, verdict });
    }
    (StatusCode::OK, Json(BatchVerdicts { verdicts })).into_response()
}
