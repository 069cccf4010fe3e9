//! `POST /v1/client-status`: a client daemon's periodic report (version, spool depth, oldest
//! pending change, failed records), stored in the ledger so that `pwsync status`, the console
//! and the metrics show every client's backlog; the answer hands the client the retries an
//! operator asked for.
//!
//! Served behind the same mutual-TLS listener as the change API: the client is the one its
//! certificate names. Refusals name the rule, never a value.

use axum::body::Bytes;
use axum::extract::{Extension, FromRequest, Request, State};
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

async fn report(
    State(ledger): State<Ledger>,
    Extension(peer): Extension<Peer>,
    request: Request,
) -> Response {
    let refuse = |message: String| {
        (StatusCode::BAD_REQUEST, Json(ApiError::new("malformed_body", message))).into_response()
    };
    // Read here rather than by an extractor: the framework answers its own refusals (a body
    // over the limit) in plain text, and every refusal of this API is an `ApiError`.
    let body = match Bytes::from_request(request, &()).await {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let message = format!("the report is larger than {MAX_REPORT_BYTES} bytes");
            return (StatusCode::PAYLOAD_TOO_LARGE, Json(ApiError::new(crate::api::BODY_TOO_LARGE, message)))
                .into_response();
        }
        Err(_) => return refuse("the report body could not be read".into()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    async fn post(body: Vec<u8>) -> (StatusCode, serde_json::Value) {
        let peer = Peer::test_client();
        let app = router(Ledger::in_memory().unwrap(), std::time::Duration::from_secs(5));
        let request = Request::builder()
            .method("POST")
            .uri(CLIENT_STATUS_PATH)
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .extension(peer)
            .body(Body::from(body))
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).expect("a JSON answer"))
    }

    #[tokio::test]
    async fn a_report_is_recorded_and_an_oversized_one_is_a_json_413() {
        let (status, json) = post(br#"{"version":"0.1.0","spool_depth":0,"failed":0}"#.to_vec()).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json, serde_json::json!({"retry": []}));
        let ids: Vec<String> = vec!["0".repeat(32); 3000];
        let big = serde_json::json!({"version": "0.1.0", "spool_depth": 0, "failed": 0, "failed_ids": ids});
        let (status, json) = post(big.to_string().into_bytes()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(json["error"]["code"], crate::api::BODY_TOO_LARGE, "{json}");
    }
}
