//! The web console: server-rendered pages on the operator listener (overview, clients,
//! changes, failures with a retry button), a login form for the operator token, and the
//! session and CSRF checks around them. No JavaScript framework: plain HTML, inline SVG, and
//! a few lines of script that refresh live pages.
//!
//! No page opens without a login (only `/login` itself and `/healthz`), no page shows a
//! password (they are built from the ledger, which holds none), and no state-changing request
//! is accepted without the session's CSRF token.

mod chart;
mod html;
mod pages;
pub mod session;

use axum::extract::{Extension, Form, Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::auth::OperatorPeer;
use super::OperatorState;
use crate::ledger::{AuditEvent, LedgerReader, RetryRefused};
use session::{ConsoleUser, Sessions};

/// Pages and actions behind the login.
pub fn protected_routes() -> Router<OperatorState> {
    Router::new()
        .route("/", get(overview))
        .route("/clients", get(clients))
        .route("/changes", get(changes))
        .route("/changes/{id}", get(change))
        .route("/failures", get(failures))
        .route("/failures/{id}/retry", post(retry))
        .route("/logout", post(logout))
}

/// The login form, open to all.
pub fn login_routes() -> Router<OperatorState> {
    Router::new().route("/login", get(login_form).post(login))
}

/// Who is asking: a live session, a named operator certificate (which gets a session, so that
/// its forms carry a CSRF token too), or the bearer token (scripts). Anyone else is sent to the
/// login page (GET) or refused (401).
pub async fn authenticate(State(state): State<OperatorState>, mut request: Request, next: Next) -> Response {
    if let Some(user) = session::session_cookie(request.headers()).and_then(|id| state.sessions.find(&id)) {
        request.extensions_mut().insert(user);
        return next.run(request).await;
    }
    let peer = request.extensions().get::<OperatorPeer>().cloned().unwrap_or_default();
    if state.credentials.certificate_allowed(&peer) {
        let name = peer.certificate_name.clone().unwrap_or_default();
        let (id, user) = state.sessions.create(&name);
        request.extensions_mut().insert(user);
        let mut response = next.run(request).await;
        if let Ok(value) = session::set_cookie(&id).parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        return response;
    }
    if state.credentials.bearer_matches(request.headers()) {
        request.extensions_mut().insert(ConsoleUser::by_token_header());
        return next.run(request).await;
    }
    tracing::info!(peer = ?peer.addr, path = %request.uri().path(), "operator request without valid credentials");
    if request.method() == Method::GET && request.uri().path() != super::METRICS_PATH {
        return Redirect::to("/login").into_response();
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"pwsync\"")],
        "operator credentials required\n",
    )
        .into_response()
}

/// Runs a page builder on a read-only ledger connection, off the async threads.
async fn render<F>(state: &OperatorState, build: F) -> Response
where
    F: FnOnce(&LedgerReader, &std::path::Path) -> Result<Option<String>, crate::ledger::LedgerError>
        + Send
        + 'static,
{
    let path = state.ledger_path.clone();
    let built = tokio::task::spawn_blocking(move || {
        let reader = LedgerReader::open(&path)?;
        build(&reader, &path)
    })
    .await;
    let headers = [
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    match built {
        Ok(Ok(Some(html))) => (headers, Html(html)).into_response(),
        Ok(Ok(None)) => {
            (StatusCode::NOT_FOUND, headers, Html("<p>Not found. <a href=\"/\">Overview</a></p>".to_string()))
                .into_response()
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "cannot read the ledger for a console page");
            (StatusCode::SERVICE_UNAVAILABLE, "the ledger cannot be read; see the server log\n")
                .into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn overview(State(state): State<OperatorState>, Extension(user): Extension<ConsoleUser>) -> Response {
    render(&state, move |reader, path| pages::overview(reader, path, &user).map(Some)).await
}

async fn clients(State(state): State<OperatorState>, Extension(user): Extension<ConsoleUser>) -> Response {
    render(&state, move |reader, _| pages::clients(reader, &user).map(Some)).await
}

#[derive(Deserialize)]
struct ChangesQuery {
    account: Option<String>,
}

async fn changes(
    State(state): State<OperatorState>,
    Extension(user): Extension<ConsoleUser>,
    Query(query): Query<ChangesQuery>,
) -> Response {
    render(&state, move |reader, _| pages::changes(reader, &user, query.account.as_deref()).map(Some)).await
}

async fn change(
    State(state): State<OperatorState>,
    Extension(user): Extension<ConsoleUser>,
    Path(id): Path<String>,
) -> Response {
    render(&state, move |reader, _| pages::change(reader, &user, &id)).await
}

#[derive(Deserialize)]
struct FailuresQuery {
    notice: Option<String>,
}

async fn failures(
    State(state): State<OperatorState>,
    Extension(user): Extension<ConsoleUser>,
    Query(query): Query<FailuresQuery>,
) -> Response {
    render(&state, move |reader, _| pages::failures(reader, &user, query.notice.as_deref()).map(Some)).await
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Queues an operator retry of a rejected change; the answer goes back to the failures page.
async fn retry(
    State(state): State<OperatorState>,
    Extension(user): Extension<ConsoleUser>,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !user.csrf_matches(&form.csrf) {
        tracing::warn!(change_id = %id, "refused a retry without the session's CSRF token");
        return (StatusCode::FORBIDDEN, "missing or wrong CSRF token; reload the page\n").into_response();
    }
    let notice = match state.ledger.request_retry(id.clone()).await {
        Ok(Ok(client)) => {
            tracing::info!(change_id = %id, %client, operator = %user.operator, "operator retry queued");
            let _ = state
                .ledger
                .audit(AuditEvent {
                    event: "operator_retry".into(),
                    client: Some(client.clone()),
                    change_id: Some(id.clone()),
                    detail: format!("requested by {} in the console", user.operator),
                    ..AuditEvent::default()
                })
                .await;
            format!("Retry queued: {client} sends the change again after its next status report.")
        }
        Ok(Err(
            refused @ (RetryRefused::Unknown | RetryRefused::NotRejected(_) | RetryRefused::NoClientHoldsIt),
        )) => {
            format!("Not retried: {refused}.")
        }
        Err(error) => {
            tracing::error!(change_id = %id, %error, "cannot queue an operator retry");
            "Not retried: the ledger is unavailable.".into()
        }
    };
    let mut location = String::from("/failures?notice=");
    for byte in notice.bytes() {
        if byte.is_ascii_alphanumeric() {
            location.push(byte as char);
        } else {
            location.push_str(&format!("%{byte:02X}"));
        }
    }
    Redirect::to(&location).into_response()
}

async fn logout(
    headers: HeaderMap,
    State(state): State<OperatorState>,
    Extension(user): Extension<ConsoleUser>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !user.csrf_matches(&form.csrf) {
        return (StatusCode::FORBIDDEN, "missing or wrong CSRF token\n").into_response();
    }
    if let Some(id) = session::session_cookie(&headers) {
        state.sessions.end(&id);
    }
    ([(header::SET_COOKIE, session::clear_cookie())], Redirect::to("/login")).into_response()
}

async fn login_form() -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Html(html::login_page(None))).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
}

async fn login(
    State(state): State<OperatorState>,
    Extension(peer): Extension<OperatorPeer>,
    Form(form): Form<LoginForm>,
) -> Response {
    let token = zeroize::Zeroizing::new(form.token);
    if !state.credentials.token_matches(token.trim()) {
        tracing::warn!(peer = ?peer.addr, "console login with a wrong token");
        let _ = state
            .ledger
            .audit(AuditEvent {
                event: "operator_login_failed".into(),
                peer: peer.addr.map(|addr| addr.to_string()),
                detail: "wrong operator token".into(),
                ..AuditEvent::default()
            })
            .await;
        // Slows down guessing; the token's length makes guessing hopeless anyway.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        return (StatusCode::UNAUTHORIZED, Html(html::login_page(Some("Wrong token.")))).into_response();
    }
    let (id, _) = state.sessions.create("token");
    tracing::info!(peer = ?peer.addr, "operator logged in to the console");
    let _ = state
        .ledger
        .audit(AuditEvent {
            event: "operator_login".into(),
            peer: peer.addr.map(|addr| addr.to_string()),
            detail: "console login with the operator token".into(),
            ..AuditEvent::default()
        })
        .await;
    ([(header::SET_COOKIE, session::set_cookie(&id))], Redirect::to("/")).into_response()
}

/// The sessions of one operator listener.
pub fn sessions() -> std::sync::Arc<Sessions> {
    std::sync::Arc::new(Sessions::default())
}
