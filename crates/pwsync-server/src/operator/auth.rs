//! Who may use the operator listener: a request is an operator's when it carries the token
//! (`Authorization: Bearer …`), a valid console session, or came over a connection whose
//! verified client certificate is named in `client_names`. Only `/healthz` is open to all.
//!
//! Tokens are compared in constant time (on their SHA-256 digests, so that the length does
//! not leak either). The token is never logged, and never put in a page or an error.

use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shortest operator token accepted.
pub const MIN_TOKEN_CHARS: usize = 32;

/// What a connection proved in its TLS handshake, attached to each of its requests.
#[derive(Debug, Clone, Default)]
pub struct OperatorPeer {
    /// The name of a verified operator client certificate, if one was presented.
    pub certificate_name: Option<String>,
    pub addr: Option<std::net::SocketAddr>,
}

pub struct Credentials {
    token_digest: Option<[u8; 32]>,
    client_names: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("operator token file {path}: {message}")]
    Bad { path: String, message: String },
}

impl Credentials {
    pub fn new(token: Option<&str>, client_names: Vec<String>) -> Credentials {
        Credentials { token_digest: token.map(digest), client_names }
    }

    /// Reads the token file, refusing one that others can read or that is too short.
    pub fn load(token_file: Option<&Path>, client_names: Vec<String>) -> Result<Credentials, TokenFileError> {
        let Some(path) = token_file else { return Ok(Credentials::new(None, client_names)) };
        let bad = |message: String| TokenFileError::Bad { path: path.display().to_string(), message };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map_err(|error| bad(error.to_string()))?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(bad(format!(
                    "mode {:o} lets others read it; run `chmod 600 {}`",
                    mode & 0o777,
                    path.display()
                )));
            }
        }
        let text =
            zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|error| bad(error.to_string()))?);
        let token = text.trim();
        if token.chars().count() < MIN_TOKEN_CHARS
            || token.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad(format!(
                "the token must be one line of at least {MIN_TOKEN_CHARS} characters without spaces \
                 (e.g. `head -c 32 /dev/urandom | base64 > {}`)",
                path.display()
            )));
        }
        Ok(Credentials::new(Some(token), client_names))
    }

    pub fn token_matches(&self, candidate: &str) -> bool {
        match &self.token_digest {
            Some(expected) => bool::from(expected.ct_eq(&digest(candidate))),
            None => false,
        }
    }

    pub fn certificate_allowed(&self, peer: &OperatorPeer) -> bool {
        peer.certificate_name
            .as_ref()
            .is_some_and(|name| self.client_names.iter().any(|allowed| allowed == name))
    }

    /// True when the request carries `Authorization: Bearer <the token>`.
    pub fn bearer_matches(&self, headers: &axum::http::HeaderMap) -> bool {
        headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|token| self.token_matches(token.trim()))
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_matches() {
        let credentials = Credentials::new(Some("a-token-that-is-long-enough-000000"), vec![]);
        assert!(credentials.token_matches("a-token-that-is-long-enough-000000"));
        assert!(!credentials.token_matches("a-token-that-is-long-enough-00000"));
        assert!(!credentials.token_matches(""));
        assert!(!Credentials::new(None, vec![]).token_matches(""));
    }

    #[test]
    fn a_certificate_counts_only_when_named() {
        let credentials = Credentials::new(None, vec!["admin".into()]);
        let named = |name: &str| OperatorPeer { certificate_name: Some(name.into()), addr: None };
        assert!(credentials.certificate_allowed(&named("admin")));
        assert!(!credentials.certificate_allowed(&named("dc1")));
        assert!(!credentials.certificate_allowed(&OperatorPeer::default()));
    }
}
