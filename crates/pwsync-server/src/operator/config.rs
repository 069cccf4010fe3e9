//! The `[operator]` table of the server configuration: where the operator listener (web
//! console and `/metrics`) listens, its certificate, and how operators authenticate (a token
//! file, operator client certificates, or both). Absent table: no operator listener.
//!
//! This module names the token file but must never read or print the token.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    /// Address of the operator listener; loopback by default, so that reaching it from
    /// elsewhere is a deliberate choice (or goes through an SSH tunnel).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The listener's certificate and key (PEM); by default the server's `[tls]` ones.
    pub certificate: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// A file holding the operator token (one line, at least 32 characters, mode 0600).
    pub token_file: Option<PathBuf>,
    /// CA of operator client certificates; a verified certificate whose name is in
    /// `client_names` logs in without a token.
    pub client_ca: Option<PathBuf>,
    #[serde(default)]
    pub client_names: Vec<String>,
}

pub fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9443))
}

impl OperatorConfig {
    pub(crate) fn resolve_paths(&mut self, resolve: &impl Fn(&mut PathBuf)) {
        for path in [&mut self.certificate, &mut self.key, &mut self.token_file, &mut self.client_ca]
            .into_iter()
            .flatten()
        {
            resolve(path);
        }
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        if self.token_file.is_none() && self.client_ca.is_none() {
            return Err(
                "[operator] needs token_file or client_ca (with client_names): no operator could log in"
                    .into(),
            );
        }
        if self.client_ca.is_some() && self.client_names.is_empty() {
            return Err(
                "[operator] client_ca is set but client_names is empty: name the operator certificates"
                    .into(),
            );
        }
        if self.certificate.is_some() != self.key.is_some() {
            return Err("[operator] certificate and key go together".into());
        }
        Ok(())
    }
}
