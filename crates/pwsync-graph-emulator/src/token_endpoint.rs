//! `POST /{tenant}/oauth2/v2.0/token`: the client-credentials grant, with a client secret or
//! a certificate assertion, answered as the identity platform answers (AADSTS errors in
//! `error_description`, 400 for requests it cannot place, 401 for bad credentials).
//!
//! Must never echo a client secret or an assertion back.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};

use crate::registration::{
    secrets_equal, GLOBAL_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR, USER_ADMINISTRATOR,
};
use crate::state::{Stats, Tenant};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub async fn token(
    State(tenant): State<Arc<Tenant>>,
    Path(tenant_name): Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    Stats::count(&tenant.stats.token_requests);
    let answer = issue(&tenant, &tenant_name, &token_url(&headers, &uri, &tenant_name), &form);
    if answer.is_err() {
        Stats::count(&tenant.stats.token_refusals);
    }
    answer.unwrap_or_else(Refusal::into_response)
}

/// The URL the client posted to, as the assertion's `aud` must name it.
fn token_url(headers: &HeaderMap, uri: &axum::http::Uri, tenant_name: &str) -> String {
    let host = uri
        .authority()
        .map(|authority| authority.to_string())
        .or_else(|| headers.get("host").and_then(|host| host.to_str().ok()).map(str::to_string))
        .unwrap_or_default();
    format!("https://{host}/{tenant_name}/oauth2/v2.0/token")
}

fn issue(
    tenant: &Tenant,
    tenant_name: &str,
    token_url: &str,
    form: &HashMap<String, String>,
) -> Result<Response, Refusal> {
    if !tenant.is_this_tenant(tenant_name) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!(
                "AADSTS90002: Tenant '{tenant_name}' not found. Check to make sure you have the correct \
                 tenant ID and are signing into the correct cloud."
            ),
        ));
    }
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        ));
    }
    if !field("scope").ends_with("/.default") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have \
             a scope value with /.default suffixed to the resource identifier.",
        ));
    }
    let client_id = field("client_id");
    let Some(app) = tenant.app(client_id) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            &format!(
                "AADSTS700016: Application with identifier '{client_id}' was not found in the directory \
                 '{}'.",
                tenant.tenant_id
            ),
        ));
    };
    if let Some(secret) = form.get("client_secret") {
        let matches =
            app.registration.client_secret.as_deref().is_some_and(|known| secrets_equal(secret, known));
        if !matches {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                &format!(
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the \
                     request is the client secret value, not the client secret ID, for a secret added to \
                     app '{client_id}'."
                ),
            ));
        }
    } else if let Some(assertion) = form.get("client_assertion") {
        if field("client_assertion_type") != ASSERTION_TYPE {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "AADSTS50027: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            ));
        }
        crate::assertion::verify(assertion, app, token_url)
            .map_err(|refusal| error(StatusCode::UNAUTHORIZED, "invalid_client", &refusal.description))?;
    } else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or \
             'client_secret'.",
        ));
    }
    let (access_token, expires_in) = tenant.tokens.issue(
        &tenant.tenant_id,
        &app.registration.client_id,
        app.registration.permissions.clone(),
        app.role_ids.clone(),
    );
    Stats::count(&tenant.stats.tokens_issued);
    Ok(Json(serde_json::json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
    }))
    .into_response())
}

/// A refused token request: the identity platform's status, error code and AADSTS text.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    description: String,
}

fn error(status: StatusCode, code: &'static str, description: &str) -> Refusal {
    Refusal { status, code, description: description.to_string() }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        refusal_response(self.status, self.code, &self.description)
    }
}

fn refusal_response(status: StatusCode, code: &str, description: &str) -> Response {
    let trace_id = format!("{:032x}", rand::random::<u128>());
    let body = serde_json::json!({
        "error": code,
        "error_description": format!("{description} Trace ID: {trace_id}"),
        "error_codes": [description.trim_start_matches("AADSTS").split(':').next().unwrap_or_default().parse::<u64>().unwrap_or(0)],
        "trace_id": trace_id,
    });
    (status, Json(body)).into_response()
}

/// Whether the roles allow resetting a password of a (privileged or not) user.
pub fn roles_allow_reset(wids: &[String], privileged_user: bool) -> bool {
    let has = |id: &str| wids.iter().any(|wid| wid == id);
    if privileged_user {
        has(PRIVILEGED_AUTHENTICATION_ADMINISTRATOR) || has(GLOBAL_ADMINISTRATOR)
    } else {
        has(USER_ADMINISTRATOR) || has(PRIVILEGED_AUTHENTICATION_ADMINISTRATOR) || has(GLOBAL_ADMINISTRATOR)
    }
}
