//! The control API, for tests that drive the emulator from another process (the `pwsync`
//! binary's tests): `POST /_emulator/faults`, `PUT /_emulator/budget`, `PUT /_emulator/users`
//! (add or replace a user), `GET /_emulator/users/{key}/password` (the digest of the last
//! password set) and `GET /_emulator/stats`.
//!
//! Test support only: it has no authentication, and it never returns a password.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::config::WriteBudget;
use crate::directory::DirectoryUser;
use crate::faults::FaultUpdate;
use crate::state::Tenant;

pub async fn faults(State(tenant): State<Arc<Tenant>>, Json(update): Json<FaultUpdate>) -> StatusCode {
    tenant.faults.apply(&update);
    if update.revoke_tokens {
        tenant.tokens.revoke_all();
    }
    if let Some(lifetime) = update.token_lifetime_s {
        tenant.tokens.set_lifetime(std::time::Duration::from_secs(lifetime));
    }
    StatusCode::NO_CONTENT
}

pub async fn budget(State(tenant): State<Arc<Tenant>>, Json(budget): Json<WriteBudget>) -> Response {
    if budget.writes == 0 || budget.window_s == 0 {
        return (StatusCode::BAD_REQUEST, "writes and window_s must be positive").into_response();
    }
    tenant.throttle.set_budget(budget);
    StatusCode::NO_CONTENT.into_response()
}

pub async fn put_user(State(tenant): State<Arc<Tenant>>, Json(user): Json<DirectoryUser>) -> StatusCode {
    tenant.directory().add(user);
    StatusCode::NO_CONTENT
}

pub async fn password(State(tenant): State<Arc<Tenant>>, Path(key): Path<String>) -> Response {
    match tenant.directory().find(&key) {
        Some(user) => Json(user.password.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub async fn stats(State(tenant): State<Arc<Tenant>>) -> Json<crate::state::StatsSnapshot> {
    Json(tenant.stats.snapshot())
}
