//! The change API: `POST /v1/changes`, `POST /v1/notices` and `GET /v1/health`, behind the TLS
//! listener.
//!
//! Every request here already passed the mutual TLS handshake; this layer checks what the
//! certificate allows (the domains it is bound to), validates the body, and hands each change
//! to the dispatcher. It must never echo request content in an error: a malformed body could
//! carry a password in any field.
//!
//! Every refusal of a request as a whole is an `ApiError` JSON body with a stable code, also
//! those the HTTP framework would otherwise answer in plain text (a body over the size limit, a
//! body that could not be read), and a warning in the log with the peer (never the body). The
//! request limits ([`RequestLimits`]) come from `[server]`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pwsync_proto::{
    ApiError, BatchVerdicts, ChangeBatch, DecodeError, NoticeBatch, NoticeReceipt, Verdict, VerdictEntry,
    CHANGES_PATH, HEALTH_PATH, NOTICES_PATH,
};
use pwsync_tls::PeerIdentity;

use crate::dispatcher::{Dispatcher, Submitter};
use crate::ledger::AuditEvent;

/// Error code of a body that is not a JSON `ChangeBatch` (syntax, type, key, encoding, media
/// type) or that could not be read.
pub const MALFORMED_BODY: &str = "malformed_body";
/// Error code of a body larger than `server.max_body_bytes` (status 413).
pub const BODY_TOO_LARGE: &str = "body_too_large";
/// Error code of a body that did not arrive within `server.body_read_timeout_ms` (status 408).
pub const BODY_TIMEOUT: &str = "body_timeout";

/// The limits on one request, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    pub max_body_bytes: usize,
    pub max_batch_changes: usize,
    pub max_json_depth: usize,
    pub body_read_timeout: Duration,
}

impl Default for RequestLimits {
    /// The protocol's limits, and 30 s to read a body.
    fn default() -> RequestLimits {
        RequestLimits {
            max_body_bytes: pwsync_proto::MAX_BODY_BYTES,
            max_batch_changes: pwsync_proto::MAX_BATCH_CHANGES,
            max_json_depth: pwsync_proto::MAX_JSON_DEPTH,
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

/// The verified client behind a connection, attached to each of its requests.
#[derive(Debug, Clone)]
pub struct Peer {
    pub identity: PeerIdentity,
    pub addr: SocketAddr,
}

#[cfg(test)]
impl Peer {
    /// The client `dc1` of `corp.example`, as the handshake would attach it (unit tests).
    pub(crate) fn test_client() -> Peer {
        Peer {
            identity: PeerIdentity {
                name: "dc1".into(),
                domains: vec!["corp.example".into()],
                serial: "01".into(),
                not_after: i64::MAX,
            },
            addr: "127.0.0.1:50000".parse().unwrap(),
        }
    }
}

#[derive(Clone)]
pub struct ApiState {
    pub dispatcher: Arc<Dispatcher>,
    pub request_deadline: Duration,
    pub limits: RequestLimits,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route(CHANGES_PATH, post(post_changes))
        .route(NOTICES_PATH, post(post_notices))
        .route(HEALTH_PATH, get(health))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(ApiError::new(code, message))).into_response()
}

/// Answers a refusal of a whole request, and leaves a warning with the peer for the operator
/// (the message names limits and positions, never a value).
fn refuse(peer: &Peer, status: StatusCode, code: &str, message: String) -> Response {
    tracing::warn!(peer = %peer.addr, client = %peer.identity.name, status = status.as_u16(), %code,
        %message, "refused a request");
    error(status, code, message)
}

/// True for `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json_media_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Reads the whole body within `server.max_body_bytes` and `server.body_read_timeout_ms`,
/// answering a refusal as an `ApiError`: the framework's own rejections are plain text.
async fn read_body(request: Request, state: &ApiState, peer: &Peer) -> Result<Bytes, Response> {
    if !is_json_media_type(request.headers()) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            MALFORMED_BODY,
            "the request body must be sent with Content-Type: application/json",
        ));
    }
    let limits = state.limits;
    let read = tokio::time::timeout(limits.body_read_timeout, Bytes::from_request(request, state)).await;
    let Ok(read) = read else {
        let seconds = limits.body_read_timeout.as_secs_f64();
        let message =
            format!("the request body did not arrive within {seconds} s (server.body_read_timeout_ms)");
        return Err(refuse(peer, StatusCode::REQUEST_TIMEOUT, BODY_TIMEOUT, message));
    };
    read.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            let limit = limits.max_body_bytes;
            let message = format!("the request body is larger than {limit} bytes (server.max_body_bytes)");
            refuse(peer, StatusCode::PAYLOAD_TOO_LARGE, BODY_TOO_LARGE, message)
        } else {
            // The connection broke or the body was not framed correctly; the rejection's text
            // names no request value, but there is nothing in it for the client either.
            tracing::debug!(%rejection, "cannot read a request body");
            error(StatusCode::BAD_REQUEST, MALFORMED_BODY, "the request body could not be read")
        }
    })
}

/// Reads and decodes a JSON body (see `pwsync_proto::decode_json`), answering any refusal as
/// an `ApiError`. The raw body is dropped before returning: for changes it holds passwords.
async fn read_json<T: serde::de::DeserializeOwned>(
    request: Request,
    state: &ApiState,
    peer: &Peer,
) -> Result<T, Response> {
    let body = read_body(request, state, peer).await?;
    pwsync_proto::decode_json(&body, state.limits.max_json_depth).map_err(|refusal| {
        let status = StatusCode::BAD_REQUEST;
        match refusal {
            // A deep body is an attack more often than a mistake: the operator hears of it.
            DecodeError::TooDeep { .. } => refuse(peer, status, refusal.code(), refusal.to_string()),
            _ => error(status, refusal.code(), refusal.to_string()),
        }
    })
}

/// Records each notice (a change the client does not forward) in the audit trail and answers
/// with the ids recorded, so that the client deletes only what is on record.
async fn post_notices(
    State(state): State<ApiState>,
    Extension(peer): Extension<Peer>,
    request: Request,
) -> Response {
    let batch: NoticeBatch = match read_json(request, &state, &peer).await {
        Ok(batch) => batch,
        Err(refusal) => return refusal,
    };
    if let Err(invalid) = batch.validate_within(state.limits.max_batch_changes) {
        return refuse(&peer, StatusCode::BAD_REQUEST, invalid.code(), invalid.to_string());
    }
    let ledger = state.dispatcher.ledger();
    let mut recorded = Vec::with_capacity(batch.notices.len());
    for notice in batch.notices {
        let allowed = peer.identity.domains.contains(&notice.domain);
        let (event, detail) = if allowed {
            let captured = utc_time(notice.captured_at_ns);
            (notice.kind.event(), format!("captured {captured} on {}: {}", notice.origin, notice.reason))
        } else {
            tracing::warn!(client = %peer.identity.name, change_id = %notice.id, domain = %notice.domain,
                "refused a notice for a domain the client certificate is not bound to");
            (
                "domain_not_allowed",
                format!(
                    "notice for domain {:?}, which the client certificate is not bound to",
                    notice.domain
                ),
            )
        };
        let event = AuditEvent {
            event: event.into(),
            client: Some(peer.identity.name.clone()),
            peer: Some(peer.addr.to_string()),
            change_id: Some(notice.id.clone()),
            account_key: Some(notice.account_key()),
            detail,
        };
        match ledger.audit(event).await {
            Ok(()) if allowed => {
                tracing::info!(change_id = %notice.id, account = %notice.account_key(),
                    notice = notice.kind.event(), "change not forwarded by the client");
                recorded.push(notice.id);
            }
            Ok(()) => {}
            // Not recorded: the client keeps the record and sends the notice again.
            Err(ledger_error) => tracing::error!(%ledger_error, "cannot record a notice"),
        }
    }
    (StatusCode::OK, Json(NoticeReceipt { recorded })).into_response()
}

/// RFC 3339 UTC text of a Unix time in nanoseconds, or the number itself if out of range.
fn utc_time(ns: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()
        .and_then(|time| time.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("{ns} ns"))
}

async fn post_changes(
    State(state): State<ApiState>,
    Extension(peer): Extension<Peer>,
    request: Request,
) -> Response {
    let batch: ChangeBatch = match read_json(request, &state, &peer).await {
        Ok(batch) => batch,
        Err(refusal) => return refusal,
    };
    if let Err(invalid) = batch.validate_within(state.limits.max_batch_changes) {
        return refuse(&peer, StatusCode::BAD_REQUEST, invalid.code(), invalid.to_string());
    }

    let submitter = Submitter { client: peer.identity.name.clone(), peer: peer.addr.to_string() };
    let mut pending = Vec::with_capacity(batch.changes.len());
    for change in batch.changes {
        let id = change.id.clone();
        if let Err(invalid) = change.validate() {
            // The id is logged only when well formed: a malformed field may hold anything.
            let well_formed = id.len() == 32 && id.bytes().all(|byte| byte.is_ascii_hexdigit());
            let change_id = if well_formed { id.as_str() } else { "(malformed)" };
            tracing::warn!(%change_id, client = %peer.identity.name, code = invalid.code(), %invalid, "refused an invalid change");
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
        crate::metrics::verdict(verdict.name());
        verdicts.push(VerdictEntry { id, verdict });
    }
    (StatusCode::OK, Json(BatchVerdicts { verdicts })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use pwsync_proto::MAX_BODY_BYTES;
    use tower::ServiceExt;

    use crate::ledger::Ledger;
    use crate::targets::{DryRunConfig, DryRunTarget, SharedTarget};

    const CANARY: &str = "pwsync-canary-API";

    fn app() -> Router {
        let preview: SharedTarget =
            Arc::new(DryRunTarget::new(&DryRunConfig { name: "preview".into(), log: None }).unwrap());
        let dispatcher = Arc::new(Dispatcher::new(Ledger::in_memory().unwrap(), vec![preview]));
        router(ApiState {
            dispatcher,
            request_deadline: Duration::from_secs(10),
            limits: RequestLimits::default(),
        })
    }

    fn peer() -> Peer {
        Peer::test_client()
    }

    fn batch_json() -> String {
        serde_json::json!({"changes": [{
            "id": "0123456789abcdef0123456789abcdef", "domain": "corp.example", "account": "alice",
            "password": CANARY, "captured_at_ns": 1_700_000_000_000_000_000i64, "origin": "dc1",
            "origin_seq": 1, "source": "generic"
        }]})
        .to_string()
    }

    /// Posts `body` and returns the status, the answer's content type and its JSON body.
    async fn post(content_type: Option<&str>, body: Vec<u8>) -> (StatusCode, String, serde_json::Value) {
        let mut request = Request::builder().method("POST").uri(CHANGES_PATH).extension(peer());
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response = app().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|value| value.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not a JSON answer: {}", String::from_utf8_lossy(&bytes)));
        (status, content_type, json)
    }

    /// The `ApiError` of an answer, checked to name no request value.
    fn api_error(json: serde_json::Value) -> ApiError {
        let api: ApiError = serde_json::from_value(json).expect("an ApiError body");
        assert!(!api.error.message.contains(CANARY), "{}", api.error.message);
        api
    }

    #[tokio::test]
    async fn a_valid_batch_is_applied() {
        let (status, _, json) = post(Some("application/json"), batch_json().into_bytes()).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["verdicts"][0]["verdict"], "applied", "{json}");
    }

    #[tokio::test]
    async fn an_oversized_body_is_answered_413_as_a_json_api_error() {
        let body = vec![b' '; MAX_BODY_BYTES + 1];
        let (status, content_type, json) = post(Some("application/json"), body).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(content_type, "application/json");
        let api = api_error(json);
        assert_eq!(api.error.code, BODY_TOO_LARGE);
        assert!(api.error.message.contains(&MAX_BODY_BYTES.to_string()), "{}", api.error.message);
    }

    #[tokio::test]
    async fn a_body_of_exactly_the_limit_is_read() {
        let mut body = batch_json().into_bytes();
        body.resize(MAX_BODY_BYTES, b' ');
        let (status, _, json) = post(Some("application/json; charset=utf-8"), body).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["verdicts"][0]["verdict"], "applied", "{json}");
    }

    #[tokio::test]
    async fn a_body_that_is_not_declared_json_is_a_json_400() {
        for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
            let (status, content_type_back, json) = post(content_type, batch_json().into_bytes()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{content_type:?}");
            assert_eq!(content_type_back, "application/json");
            let api = api_error(json);
            assert_eq!(api.error.code, MALFORMED_BODY);
            assert!(api.error.message.contains("application/json"), "{}", api.error.message);
        }
        let (status, _, json) = post(Some("Application/JSON"), batch_json().into_bytes()).await;
        assert_eq!(status, StatusCode::OK, "the media type is case-insensitive: {json}");
    }

    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_a_json_400() {
        let mut body = batch_json().into_bytes();
        let at = body.windows(CANARY.len()).position(|window| window == CANARY.as_bytes()).unwrap();
        body.insert(at + CANARY.len(), 0xff);
        let (status, _, json) = post(Some("application/json"), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let api = api_error(json);
        assert_eq!(api.error.code, MALFORMED_BODY);
        assert!(api.error.message.contains("not valid UTF-8"), "{}", api.error.message);
    }

    #[tokio::test]
    async fn a_syntax_error_is_a_json_400_that_quotes_no_value() {
        let broken = batch_json().replace(&format!("\"{CANARY}\""), &format!("{CANARY}\""));
        let (status, _, json) = post(Some("application/json"), broken.into_bytes()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(api_error(json).error.code, MALFORMED_BODY);
    }
}
