//! Access tokens for Graph (client-credentials grant), cached and renewed before they expire:
//! one request at a time obtains a token, every caller shares it, and a token Graph refused
//! (401) is replaced once — by the first caller that reports it, not by every one.
//!
//! Tokens and the credential are never logged; an error from the token endpoint is scrubbed
//! of the client secret before it goes anywhere.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use zeroize::Zeroizing;

use super::assertion;
use super::config::AssertionAlgorithm;
use super::credential::Credential;
use crate::redact::scrub;

/// Renew this long before expiry at most (a fraction of the lifetime for short-lived tokens).
const RENEW_MARGIN: Duration = Duration::from_secs(300);

/// A token and which one it is, so that a 401 invalidates only the token it was met with.
#[derive(Clone)]
pub struct AccessToken {
    pub value: Arc<Zeroizing<String>>,
    pub generation: u64,
}

/// Why no token could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    pub reason: String,
    /// The identity platform refused the request (tenant, client id, credential): an
    /// operator must fix the configuration.
    pub configuration_error: bool,
}

struct Cached {
    token: AccessToken,
    renew_at: Instant,
}

pub struct TokenCache {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    scope: String,
    algorithm: AssertionAlgorithm,
    credential: Credential,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct TokenFailure {
    error: Option<String>,
    error_description: Option<String>,
}

impl TokenCache {
    pub fn new(
        http: reqwest::Client,
        token_url: String,
        client_id: String,
        scope: String,
        algorithm: AssertionAlgorithm,
        credential: Credential,
    ) -> TokenCache {
        TokenCache {
            http,
            token_url,
            client_id,
            scope,
            algorithm,
            credential,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// A valid token: the cached one, or a new one when it is near expiry or was refused.
    pub async fn get(&self) -> Result<AccessToken, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref().filter(|current| Instant::now() < current.renew_at) {
            return Ok(current.token.clone());
        }
        let generation = cached.as_ref().map_or(1, |current| current.token.generation + 1);
        let obtained_at = Instant::now();
        let (value, lifetime) = self.request().await?;
        let margin = RENEW_MARGIN.min(lifetime / 4);
        let token = AccessToken { value: Arc::new(value), generation };
        *cached = Some(Cached { token: token.clone(), renew_at: obtained_at + lifetime - margin });
        tracing::debug!(generation, lifetime_s = lifetime.as_secs(), "obtained a Graph access token");
        Ok(token)
    }

    /// Graph refused `token` (401): the next `get` obtains a new one, unless another caller
    /// already did.
    pub async fn invalidate(&self, token: &AccessToken) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|current| current.token.generation == token.generation) {
            if let Some(current) = cached.as_mut() {
                current.renew_at = Instant::now();
            }
        }
    }

    async fn request(&self) -> Result<(Zeroizing<String>, Duration), TokenError> {
        let mut form: Vec<(&str, Zeroizing<String>)> = vec![
            ("grant_type", Zeroizing::new("client_credentials".into())),
            ("client_id", Zeroizing::new(self.client_id.clone())),
            ("scope", Zeroizing::new(self.scope.clone())),
        ];
        let secret = match &self.credential {
            Credential::Secret(secret) => {
                form.push(("client_secret", secret.clone()));
                secret.as_str()
            }
            Credential::Certificate { thumbprint_s256, key } => {
                let jwt =
                    assertion::sign(self.algorithm, thumbprint_s256, key, &self.token_url, &self.client_id)
                        .map_err(|reason| TokenError { reason, configuration_error: true })?;
                form.push((
                    "client_assertion_type",
                    Zeroizing::new("urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into()),
                ));
                form.push(("client_assertion", Zeroizing::new(jwt)));
                ""
            }
        };
        let mut body = Zeroizing::new(String::new());
        for (index, (name, value)) in form.iter().enumerate() {
            if index > 0 {
                body.push('&');
            }
            body.push_str(name);
            body.push('=');
            append_form_encoded(&mut body, value);
        }
        let response = self
            .http
            .post(&self.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(super::secret_body(body.as_bytes()))
            .send()
            .await
            .map_err(|error| TokenError {
                reason: format!(
                    "cannot reach the token endpoint {}: {}",
                    self.token_url,
                    scrub(&super::describe_reqwest_error(&error), secret)
                ),
                configuration_error: false,
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            let answer: TokenAnswer = serde_json::from_str(&text).map_err(|error| TokenError {
                reason: format!("the token endpoint's answer is not a token: {error}"),
                configuration_error: false,
            })?;
            let lifetime = Duration::from_secs(answer.expires_in.max(1));
            return Ok((Zeroizing::new(answer.access_token), lifetime));
        }
        let failure: Option<TokenFailure> = serde_json::from_str(&text).ok();
        let (code, description) = match failure {
            Some(TokenFailure { error, error_description }) => {
                (error.unwrap_or_default(), error_description.unwrap_or_default())
            }
            None => (String::new(), text),
        };
        let description = scrub(&description, secret);
        // The identity platform answers 4xx for what only the configuration can fix.
        let configuration_error = status.is_client_error() && status.as_u16() != 429;
        let hint = hint_for(&description).map(|hint| format!(" ({hint})")).unwrap_or_default();
        Err(TokenError {
            reason: format!("the token endpoint answered {status} {code}: {description}{hint}"),
            configuration_error,
        })
    }
}

/// What an operator most likely got wrong, for the common AADSTS errors.
fn hint_for(description: &str) -> Option<&'static str> {
    let known = [
        ("AADSTS90002", "check tenant_id: no such tenant in this cloud"),
        ("AADSTS900023", "check tenant_id: it is neither a GUID nor a domain of a tenant"),
        ("AADSTS700016", "check client_id, and that tenant_id is the app's own tenant"),
        ("AADSTS7000215", "check the client secret: use the secret's Value, not its Secret ID, and that it has not expired"),
        ("AADSTS7000222", "the client secret has expired: create a new one"),
        ("AADSTS700027", "upload this certificate (the .pem, not the key) to the app registration's Certificates & secrets"),
        ("AADSTS7000274", "the key does not match the uploaded certificate"),
        ("AADSTS700024", "check this machine's clock"),
        ("AADSTS700023", "check authority: the assertion's audience is the token URL built from it"),
    ];
    known.iter().find(|(code, _)| description.contains(code)).map(|(_, hint)| *hint)
}

/// Appends `value` application/x-www-form-urlencoded to `out` (no temporary copy of it).
fn append_form_encoded(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(byte as char),
            b' ' => out.push('+'),
            other => {
                out.push('%');
                out.push(HEX[usize::from(other >> 4)] as char);
                out.push(HEX[usize::from(other & 15)] as char);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_encoded() {
        let mut out = String::new();
        append_form_encoded(&mut out, "https://graph.microsoft.com/.default");
        assert_eq!(out, "https%3A%2F%2Fgraph.microsoft.com%2F.default");
        out.clear();
        append_form_encoded(&mut out, "a b+c~é");
        assert_eq!(out, "a+b%2Bc%7E%C3%A9");
    }

    #[test]
    fn common_mistakes_get_a_hint() {
        assert!(hint_for("AADSTS90002: Tenant 'x' not found.").unwrap().contains("tenant_id"));
        assert!(hint_for("AADSTS7000215: Invalid client secret provided.").unwrap().contains("Value"));
        assert_eq!(hint_for("something else"), None);
    }
}
