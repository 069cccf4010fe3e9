//! Graph's error answers: `{"error":{"code","message","innerError":{date, request-id,
//! client-request-id}}}`, with the status and (for throttling) the headers the
//! documentation lists, and the documented messages of the errors a password reset meets.
//!
//! The only place a password can enter an answer is `echo`, used when a test asks the
//! emulator to behave badly.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

pub const COMPLEXITY: &str = "The specified password does not comply with password complexity requirements. \
                              Please provide a different password.";
pub const SYNCED_OBJECT: &str =
    "Unable to update the specified properties for on-premises mastered Directory \
                                 Sync objects or objects currently undergoing migration.";
pub const INSUFFICIENT_PRIVILEGES: &str = "Insufficient privileges to complete the operation.";
pub const TOKEN_EXPIRED: &str = "Access token has expired or is not valid yet.";

/// One Graph error answer under construction.
pub struct GraphError {
    status: StatusCode,
    code: String,
    message: String,
    retry_after: Option<Duration>,
    throttle_scope: Option<String>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> GraphError {
        GraphError {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
            throttle_scope: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> GraphError {
        GraphError::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    pub fn forbidden() -> GraphError {
        GraphError::new(StatusCode::FORBIDDEN, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)
    }

    pub fn not_found(key: &str) -> GraphError {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
        )
    }

    /// The answer for an injected failure of this status, with Graph's code for it.
    pub fn for_status(status: u16) -> GraphError {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (code, message) = match status.as_u16() {
            409 | 412 => (
                "Directory_ConcurrencyViolation",
                "Another operation is updating this object. Please retry the operation.",
            ),
            429 => ("TooManyRequests", "Too many requests. Please try again later."),
            503 => ("ServiceUnavailable", "The service is temporarily unavailable. Please try again later."),
            504 => {
                ("GatewayTimeout", "The gateway did not receive a timely response. Please try again later.")
            }
            _ => ("generalException", "An unexpected error occurred."),
        };
        GraphError::new(status, code, message)
    }

    pub fn throttled(retry_after: Duration, scope: String) -> GraphError {
        GraphError {
            retry_after: Some(retry_after),
            throttle_scope: Some(scope),
            ..GraphError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests. Write requests for this application in this tenant exceed the limit.",
            )
        }
    }

    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> GraphError {
        self.retry_after = retry_after.or(self.retry_after);
        self
    }

    /// Appends the request body to the message, as a careless service might.
    pub fn echo(mut self, body: &str) -> GraphError {
        self.message = format!("{} Request payload: {body}", self.message);
        self
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let request_id = format!("{:032x}", rand::random::<u128>());
        let body = serde_json::json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": crate::access_token::unix_now().to_string(),
                    "request-id": request_id,
                    "client-request-id": request_id,
                }
            }
        });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(retry_after) = self.retry_after {
            headers.insert("retry-after", HeaderValue::from(retry_after.as_secs()));
        }
        if let Some(scope) = self.throttle_scope.and_then(|scope| HeaderValue::from_str(&scope).ok()) {
            headers.insert("x-ms-throttle-scope", scope);
            headers.insert("x-ms-throttle-information", HeaderValue::from_static("WriteLimitExceeded"));
        }
        response
    }
}
