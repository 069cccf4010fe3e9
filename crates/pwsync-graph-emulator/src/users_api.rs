//! The part of Graph's users API a password sync uses: `GET /v1.0/users?$filter=…&$select=…`,
//! `GET /v1.0/users/{id | userPrincipalName}` and `PATCH /v1.0/users/{id | userPrincipalName}`
//! with a `passwordProfile`. Checks what Graph checks: the bearer token, the application's
//! permission and its directory role, the content type, the body's shape (unknown or missing
//! properties are a 400), the write budget, synced accounts and the complexity rule.
//!
//! Must never keep or log the password; it only reaches an answer when a test turns `echo` on.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::access_token::{TokenClaims, TokenRefusal};
use crate::graph_error::{GraphError, COMPLEXITY, SYNCED_OBJECT, TOKEN_EXPIRED};
use crate::registration::PASSWORD_PROFILE_PERMISSION;
use crate::state::{Stats, Tenant};
use crate::throttle::Admission;

/// Permissions that let an application read users.
const READ_PERMISSIONS: [&str; 4] =
    ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];
/// Permissions that let an application write a password profile (with a directory role).
const WRITE_PERMISSIONS: [&str; 3] =
    [PASSWORD_PROFILE_PERMISSION, "User.ReadWrite.All", "Directory.ReadWrite.All"];
/// The properties a `passwordProfile` has.
const PASSWORD_PROFILE_PROPERTIES: [&str; 3] =
    ["password", "forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa"];

fn authenticate(tenant: &Tenant, headers: &HeaderMap) -> Result<TokenClaims, GraphError> {
    let authorization = headers.get("authorization").and_then(|value| value.to_str().ok());
    tenant.tokens.check(authorization).map_err(|refusal| {
        Stats::count(&tenant.stats.unauthorized);
        let message = match refusal {
            TokenRefusal::Missing => "Access token is empty.",
            TokenRefusal::Expired => TOKEN_EXPIRED,
            TokenRefusal::Invalid => "Access token validation failure. Invalid audience.",
        };
        GraphError::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message)
    })
}

fn has_any(claims: &TokenClaims, wanted: &[&str]) -> bool {
    claims.roles.iter().any(|role| wanted.contains(&role.as_str()))
}

pub async fn list(
    State(tenant): State<Arc<Tenant>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, GraphError> {
    let claims = authenticate(&tenant, &headers)?;
    if !has_any(&claims, &READ_PERMISSIONS) {
        return Err(GraphError::forbidden());
    }
    Stats::count(&tenant.stats.lookups);
    let select = selected(&query);
    let filter = match query.get("$filter") {
        Some(text) => Some(parse_filter(text)?),
        None => None,
    };
    let directory = tenant.directory();
    let value: Vec<serde_json::Value> = directory
        .all()
        .filter(|user| {
            filter.as_ref().is_none_or(|(property, wanted)| {
                let json = user.to_json(&[]);
                json.get(property.as_str()).and_then(|value| value.as_str()).is_some_and(|actual| {
                    // Graph compares UPN and mail case-insensitively, the anchor exactly.
                    if property == "onPremisesImmutableId" {
                        actual == wanted
                    } else {
                        actual.eq_ignore_ascii_case(wanted)
                    }
                })
            })
        })
        .map(|user| user.to_json(&select))
        .collect();
    Ok(Json(serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
        "value": value,
    }))
    .into_response())
}

pub async fn get_one(
    State(tenant): State<Arc<Tenant>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, GraphError> {
    let claims = authenticate(&tenant, &headers)?;
    if !has_any(&claims, &READ_PERMISSIONS) {
        return Err(GraphError::forbidden());
    }
    Stats::count(&tenant.stats.lookups);
    let directory = tenant.directory();
    let user = directory.find(&key).ok_or_else(|| GraphError::not_found(&key))?;
    Ok(Json(user.to_json(&selected(&query))).into_response())
}

fn selected(query: &HashMap<String, String>) -> Vec<String> {
    query
        .get("$select")
        .map(|select| {
            select.split(',').map(|name| name.trim().to_string()).filter(|name| !name.is_empty()).collect()
        })
        .unwrap_or_default()
}

/// `<property> eq '<value>'`, the one filter form a sync needs; `''` stands for `'`.
fn parse_filter(text: &str) -> Result<(String, String), GraphError> {
    let unsupported = || {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            format!("Unsupported Query: {text}"),
        )
    };
    let (property, rest) = text.trim().split_once(' ').ok_or_else(unsupported)?;
    let value = rest.trim_start().strip_prefix("eq ").ok_or_else(unsupported)?.trim();
    let inner =
        value.strip_prefix('\'').and_then(|value| value.strip_suffix('\'')).ok_or_else(unsupported)?;
    if !["id", "userPrincipalName", "mail", "onPremisesImmutableId"].contains(&property) {
        return Err(unsupported());
    }
    if inner.replace("''", "").contains('\'') {
        return Err(unsupported());
    }
    Ok((property.to_string(), inner.replace("''", "'")))
}

pub async fn patch(
    State(tenant): State<Arc<Tenant>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    Stats::count(&tenant.stats.writes_received);
    let echo = tenant.faults.echo_password();
    match set_password(&tenant, &key, &headers, &body) {
        Ok(response) => response,
        Err(error) if echo => error.echo(&String::from_utf8_lossy(&body)).into_response(),
        Err(error) => error.into_response(),
    }
}

fn set_password(
    tenant: &Tenant,
    key: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, GraphError> {
    let claims = authenticate(tenant, headers)?;
    let content_type = headers.get("content-type").and_then(|value| value.to_str().ok()).unwrap_or_default();
    if !content_type.trim().to_ascii_lowercase().starts_with("application/json") {
        return Err(GraphError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BadRequest",
            "A supported MIME type could not be found that matches the content type of the response. \
             Use Content-Type: application/json.",
        ));
    }
    let (password, force_change) = parse_password_profile(body)?;
    if !has_any(&claims, &WRITE_PERMISSIONS) {
        return Err(GraphError::forbidden());
    }
    let used = match tenant.throttle.admit(&claims.appid) {
        Admission::Accepted { used } => used,
        Admission::Throttled { retry_after } => {
            Stats::count(&tenant.stats.throttled);
            let scope = format!("Tenant_Application/ReadWrite/{}/{}", claims.tid, claims.appid);
            return Err(GraphError::throttled(retry_after, scope));
        }
    };
    if let Some(failure) = tenant.faults.take_write_failure() {
        return Err(GraphError::for_status(failure.status)
            .with_retry_after(failure.retry_after_s.map(std::time::Duration::from_secs)));
    }
    let mut directory = tenant.directory();
    let user = directory.find_mut(key).ok_or_else(|| GraphError::not_found(key))?;
    if user.user.on_premises_sync_enabled {
        return Err(GraphError::bad_request(SYNCED_OBJECT));
    }
    let role_ok = crate::token_endpoint::roles_allow_reset(&claims.wids, user.user.privileged);
    // User.ReadWrite.All alone does not reach passwords: a directory role is needed with it.
    if !role_ok {
        return Err(GraphError::forbidden());
    }
    if !crate::password_rules::is_complex_enough(&password) {
        return Err(GraphError::bad_request(COMPLEXITY));
    }
    user.record_password(&password, force_change);
    Stats::count(&tenant.stats.passwords_set);
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert("x-ms-resource-unit", HeaderValue::from_static("1"));
    if used > 0.8 {
        if let Ok(value) = HeaderValue::from_str(&format!("{used:.2}")) {
            response.headers_mut().insert("x-ms-throttle-limit-percentage", value);
        }
    }
    Ok(response)
}

/// The body must be exactly `{"passwordProfile":{"password":"…", "forceChangePasswordNextSignIn":bool}}`
/// (the second property, and `…WithMfa`, optional): anything unknown or missing is a 400.
fn parse_password_profile(body: &[u8]) -> Result<(String, bool), GraphError> {
    let invalid_profile = || {
        GraphError::bad_request("Invalid value specified for property 'passwordProfile' of resource 'User'.")
    };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of \
             valid JSON format.",
        )
    })?;
    let object = value.as_object().ok_or_else(invalid_profile)?;
    if let Some(unknown) = object.keys().find(|key| key.as_str() != "passwordProfile") {
        return Err(GraphError::bad_request(format!(
            "Property '{unknown}' does not exist as a declared property or extension property."
        )));
    }
    let profile =
        object.get("passwordProfile").and_then(|profile| profile.as_object()).ok_or_else(invalid_profile)?;
    if let Some(unknown) = profile.keys().find(|key| !PASSWORD_PROFILE_PROPERTIES.contains(&key.as_str())) {
        return Err(GraphError::bad_request(format!(
            "Property '{unknown}' does not exist as a declared property or extension property."
        )));
    }
    let password =
        profile.get("password").and_then(|password| password.as_str()).ok_or_else(invalid_profile)?;
    let force_change = match profile.get("forceChangePasswordNextSignIn") {
        None => true, // Graph's default when the property is left out.
        Some(serde_json::Value::Bool(force)) => *force,
        Some(_) => return Err(invalid_profile()),
    };
    if profile.get("forceChangePasswordNextSignInWithMfa").is_some_and(|value| !value.is_boolean()) {
        return Err(invalid_profile());
    }
    Ok((password.to_string(), force_change))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_forms_a_sync_uses_parse() {
        assert_eq!(
            parse_filter("onPremisesImmutableId eq 'AbC+/w=='").ok().unwrap(),
            ("onPremisesImmutableId".to_string(), "AbC+/w==".to_string())
        );
        assert_eq!(parse_filter("mail eq 'o''brien@x.org'").ok().unwrap().1, "o'brien@x.org");
        assert!(parse_filter("displayName eq 'x'").is_err());
        assert!(parse_filter("mail eq 'a' or mail eq 'b'").is_err());
    }

    #[test]
    fn the_body_shape_is_checked() {
        let ok = br#"{"passwordProfile":{"password":"x","forceChangePasswordNextSignIn":false}}"#;
        assert_eq!(parse_password_profile(ok).ok().unwrap(), ("x".to_string(), false));
        for bad in [
            &br#"{"passwordProfile":{"password":"x"},"displayName":"y"}"#[..],
            br#"{"passwordProfile":{"password":"x","extra":1}}"#,
            br#"{"passwordProfile":{"forceChangePasswordNextSignIn":false}}"#,
            br#"{"passwordProfile":{"password":"x","forceChangePasswordNextSignIn":"no"}}"#,
            br#"{}"#,
            br#"not json"#,
        ] {
            assert!(parse_password_profile(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
