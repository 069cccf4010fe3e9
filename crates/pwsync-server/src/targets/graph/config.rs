//! The `kind = "graph"` target's configuration (Microsoft Entra ID through Microsoft Graph) and
//! its checks at start-up.
//!
//! Every check that needs no network runs here, so a mistake is refused with its name before
//! the server accepts a change. This module names the secret's and the key's files; it must
//! never hold or print their content.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which national cloud: sets the default authority and Graph base URL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GraphCloud {
    #[default]
    Global,
    UsGovernment,
    China,
}

impl GraphCloud {
    pub fn authority(self) -> &'static str {
        match self {
            GraphCloud::Global => "https://login.microsoftonline.com",
            GraphCloud::UsGovernment => "https://login.microsoftonline.us",
            GraphCloud::China => "https://login.chinacloudapi.cn",
        }
    }

    pub fn graph_url(self) -> &'static str {
        match self {
            GraphCloud::Global => "https://graph.microsoft.com",
            GraphCloud::UsGovernment => "https://graph.microsoft.us",
            GraphCloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }
}

/// How a change's account is found in Entra ID.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchBy {
    /// The change's userPrincipalName (after `upn_suffix_rewrite`), used directly in the URL.
    #[default]
    UserPrincipalName,
    /// The change's mail, looked up with `$filter=mail eq '…'`.
    Mail,
    /// `onPremisesImmutableId` = base64 of the change's objectGUID, looked up and cached.
    SourceAnchor,
}

/// The signature algorithm of the client assertion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AssertionAlgorithm {
    #[default]
    Ps256,
    Rs256,
}

/// Rewrites the UPN's suffix, e.g. `@corp.local` → `@corp.com`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SuffixRewrite {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GraphConfig {
    /// Name of the target in the ledger and in verdicts.
    pub name: String,
    /// The directory (tenant) id: a GUID, or the tenant's initial domain.
    pub tenant_id: String,
    /// The application (client) id of the app registration.
    pub client_id: String,
    /// File holding a client secret's value (one line). Give this or `certificate_file`.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// The certificate (PEM) uploaded to the app registration, for a client assertion.
    #[serde(default)]
    pub certificate_file: Option<PathBuf>,
    /// Its RSA private key (PEM, mode 0600).
    #[serde(default)]
    pub certificate_key_file: Option<PathBuf>,
    /// PS256 (default) or RS256.
    #[serde(default)]
    pub assertion_algorithm: AssertionAlgorithm,
    #[serde(default)]
    pub cloud: GraphCloud,
    /// Overrides the cloud's authority (`https://login.microsoftonline.com`).
    #[serde(default)]
    pub authority: Option<String>,
    /// Overrides the cloud's Graph base URL (`https://graph.microsoft.com`).
    #[serde(default)]
    pub graph_url: Option<String>,
    /// Trust only this CA (PEM) for both URLs instead of the system's roots (an inspecting
    /// proxy, or the emulator).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub match_by: MatchBy,
    #[serde(default)]
    pub upn_suffix_rewrite: Option<SuffixRewrite>,
    /// Sent as `forceChangePasswordNextSignIn`. A sync sends false: the user just chose it.
    #[serde(default)]
    pub force_change_password_next_sign_in: bool,
    /// How long a change for an account Graph does not know is retried (directory sync may
    /// not have brought it in yet), counted from the capture; then it is rejected.
    #[serde(default = "default_not_found_retry_s")]
    pub not_found_retry_s: u64,
    /// Writes allowed per `write_window_s` (the service's documented limit per app and tenant).
    #[serde(default = "default_write_budget")]
    pub write_budget: u32,
    #[serde(default = "default_write_window_s")]
    pub write_window_s: u64,
    /// The share of the write budget pwsync aims at, so that it runs just under the limit.
    #[serde(default = "default_budget_share")]
    pub budget_share: f64,
    /// Most requests in flight at once; the adaptive limit stays at or below it.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Longest wait for one HTTP request; then the change is retried later.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_not_found_retry_s() -> u64 {
    24 * 3600
}
fn default_write_budget() -> u32 {
    3000
}
fn default_write_window_s() -> u64 {
    150
}
fn default_budget_share() -> f64 {
    0.98
}
fn default_concurrency() -> usize {
    8
}
fn default_timeout_ms() -> u64 {
    30_000
}

/// The credential the configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialFiles {
    Secret(PathBuf),
    Certificate { certificate: PathBuf, key: PathBuf },
}

/// A configuration mistake, found at start-up without contacting the service.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GraphConfigError {
    #[error("tenant_id and client_id must not be empty")]
    EmptyIds,
    #[error(
        "give exactly one credential: client_secret_file, or certificate_file with certificate_key_file"
    )]
    CredentialChoice,
    #[error("{what} {url:?} must be an https:// URL without a path, query or trailing slash")]
    BadUrl { what: &'static str, url: String },
    #[error("upn_suffix_rewrite: from and to must both start with '@'")]
    BadSuffixRewrite,
    #[error("concurrency, timeout_ms, write_budget and write_window_s must be positive")]
    ZeroLimit,
    #[error("budget_share must be above 0 and at most 1")]
    BadBudgetShare,
    #[error("cannot use {path}: {message}")]
    BadFile { path: PathBuf, message: String },
    #[error("{path} can be read by any user (mode {mode:o}): chmod o-rwx")]
    ReadableByOthers { path: PathBuf, mode: u32 },
    #[error("{path} is empty")]
    EmptySecret { path: PathBuf },
}

impl GraphConfig {
    pub fn authority(&self) -> &str {
        self.authority.as_deref().unwrap_or(self.cloud.authority())
    }

    pub fn graph_url(&self) -> &str {
        self.graph_url.as_deref().unwrap_or(self.cloud.graph_url())
    }

    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.authority(), self.tenant_id)
    }

    /// The `.default` scope of the configured Graph: the permissions granted to the app.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.graph_url())
    }

    pub fn window(&self) -> Duration {
        Duration::from_secs(self.write_window_s)
    }

    /// The checks that need neither files nor network.
    pub fn check_values(&self) -> Result<CredentialFiles, GraphConfigError> {
        if self.tenant_id.trim().is_empty() || self.client_id.trim().is_empty() {
            return Err(GraphConfigError::EmptyIds);
        }
        if self.tenant_id.contains(['/', '?', '#', ' ']) {
            return Err(GraphConfigError::EmptyIds);
        }
        for (what, url) in [("authority", self.authority()), ("graph_url", self.graph_url())] {
            let rest = url.strip_prefix("https://").unwrap_or("");
            if rest.is_empty() || rest.contains(['/', '?', '#', ' ', '@']) {
                return Err(GraphConfigError::BadUrl { what, url: url.to_string() });
            }
        }
        if let Some(rewrite) = &self.upn_suffix_rewrite {
            if !rewrite.from.starts_with('@') || !rewrite.to.starts_with('@') {
                return Err(GraphConfigError::BadSuffixRewrite);
            }
        }
        if self.concurrency == 0 || self.timeout_ms == 0 || self.write_budget == 0 || self.write_window_s == 0
        {
            return Err(GraphConfigError::ZeroLimit);
        }
        if !(self.budget_share > 0.0 && self.budget_share <= 1.0) {
            return Err(GraphConfigError::BadBudgetShare);
        }
        match (&self.client_secret_file, &self.certificate_file, &self.certificate_key_file) {
            (Some(secret), None, None) => Ok(CredentialFiles::Secret(secret.clone())),
            (None, Some(certificate), Some(key)) => {
                Ok(CredentialFiles::Certificate { certificate: certificate.clone(), key: key.clone() })
            }
            _ => Err(GraphConfigError::CredentialChoice),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> GraphConfig {
        toml::from_str(
            r#"
name = "entra"
tenant_id = "11111111-2222-3333-4444-555555555555"
client_id = "66666666-7777-8888-9999-000000000000"
client_secret_file = "/etc/pwsync/graph.secret"
"#,
        )
        .unwrap()
    }

    #[test]
    fn defaults_are_the_global_cloud_and_the_documented_budget() {
        let config = sample();
        assert_eq!(
            config.token_url(),
            "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token"
        );
        assert_eq!(config.scope(), "https://graph.microsoft.com/.default");
        assert_eq!((config.write_budget, config.write_window_s), (3000, 150));
        assert_eq!(config.not_found_retry_s, 86_400);
        assert!(!config.force_change_password_next_sign_in);
        assert_eq!(config.match_by, MatchBy::UserPrincipalName);
        let china = GraphConfig { cloud: GraphCloud::China, ..sample() };
        assert_eq!(china.scope(), "https://microsoftgraph.chinacloudapi.cn/.default");
        assert!(china.token_url().starts_with("https://login.chinacloudapi.cn/"));
        let us = GraphConfig { cloud: GraphCloud::UsGovernment, ..sample() };
        assert_eq!(us.graph_url(), "https://graph.microsoft.us");
    }

    #[test]
    fn mistakes_are_named() {
        let both = GraphConfig { certificate_file: Some("c.pem".into()), ..sample() };
        assert_eq!(both.check_values(), Err(GraphConfigError::CredentialChoice));
        let half =
            GraphConfig { client_secret_file: None, certificate_file: Some("c.pem".into()), ..sample() };
        assert_eq!(half.check_values(), Err(GraphConfigError::CredentialChoice));
        let plain = GraphConfig { graph_url: Some("http://graph.example".into()), ..sample() };
        assert!(matches!(plain.check_values(), Err(GraphConfigError::BadUrl { what: "graph_url", .. })));
        let slash = GraphConfig { authority: Some("https://login.example/".into()), ..sample() };
        assert!(matches!(slash.check_values(), Err(GraphConfigError::BadUrl { what: "authority", .. })));
        let rewrite = GraphConfig {
            upn_suffix_rewrite: Some(SuffixRewrite { from: "corp.local".into(), to: "@corp.com".into() }),
            ..sample()
        };
        assert_eq!(rewrite.check_values(), Err(GraphConfigError::BadSuffixRewrite));
        assert_eq!(
            GraphConfig { budget_share: 1.5, ..sample() }.check_values(),
            Err(GraphConfigError::BadBudgetShare)
        );
        assert_eq!(
            GraphConfig { concurrency: 0, ..sample() }.check_values(),
            Err(GraphConfigError::ZeroLimit)
        );
        assert!(toml::from_str::<GraphConfig>("name='x'\ntenant_id='t'\nclient_id='c'\nsecret='s'").is_err());
    }
}
