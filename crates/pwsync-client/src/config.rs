//! The client daemon's configuration file (TOML).
//!
//! Unknown keys are refused with their name (in every table, `[scope]` included); relative
//! paths are taken relative to the file's directory, made absolute even when the file itself
//! was named by a relative path. This module names key and certificate files but must never
//! read their content.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client: ClientSection,
    pub server: ServerSection,
    #[serde(default)]
    pub scope: ScopeConfig,
    #[serde(default)]
    pub retry: RetryConfig,
    /// Status reports to the server and the opt-in metrics listener.
    #[serde(default)]
    pub operations: crate::operations::OperationsConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSection {
    /// DNS name of the directory domain whose changes this client forwards (lowercase). Its
    /// certificate must be bound to it.
    pub domain: String,
    /// The spool directory the capture hooks write to.
    pub spool: PathBuf,
    /// Spool secret key files. During a key rotation list the new key and the old one: records
    /// name the key they were sealed to, and each is opened with the right one.
    pub spool_keys: Vec<PathBuf>,
    /// Most changes per request.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Requests in flight at once.
    #[serde(default = "default_parallel_batches")]
    pub parallel_batches: usize,
    /// Full rescan of the spool even without a file event (a safety net for missed events).
    #[serde(default = "default_rescan_interval_ms")]
    pub rescan_interval_ms: u64,
}

fn default_batch_size() -> usize {
    200
}
fn default_parallel_batches() -> usize {
    4
}
fn default_rescan_interval_ms() -> u64 {
    30_000
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Base URL of the server, e.g. `https://pwsync.corp.example:7443`.
    pub url: String,
    /// The deployment CA that issued the server's certificate.
    pub ca: PathBuf,
    /// This client's certificate and key, issued by `pwsync pki issue-client`.
    pub certificate: PathBuf,
    pub key: PathBuf,
    /// Longest wait for the server's answer to one request. At least 1.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
}

fn default_request_timeout_ms() -> u64 {
    60_000
}

/// Which accounts are forwarded: every one, or those an LDAP filter selects in the directory.
///
/// Read through `ScopeTable`: serde ignores `deny_unknown_fields` for the unit variant of an
/// internally tagged enum, so `[scope]` with `kind = "all"` would accept any other key.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(from = "ScopeTable", into = "ScopeTable")]
pub enum ScopeConfig {
    /// Every captured account is in scope.
    #[default]
    All,
    /// Ask the directory (the DC itself) about each account.
    Ldap(LdapScopeConfig),
}

/// The default filter: user accounts of people, so no computer, trust or managed service
/// account is forwarded.
pub const DEFAULT_SCOPE_FILTER: &str = "(&(objectCategory=person)(objectClass=user))";

/// `[scope] kind = "ldap"`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LdapScopeConfig {
    /// `ldaps://dc1.corp.example`, or `ldap://...` with `starttls = true` (plain only with
    /// `allow_plaintext = true`).
    pub url: String,
    #[serde(default)]
    pub starttls: bool,
    /// CA certificate(s) (PEM) the directory's certificate must chain to.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub allow_plaintext: bool,
    /// The account the client binds as: read access to users is enough.
    pub bind_dn: String,
    /// File holding its password (one line, not readable by others).
    pub bind_password_file: PathBuf,
    /// Where the search starts (subtree), e.g. `DC=corp,DC=example`.
    pub base_dn: String,
    /// RFC 4515 filter an account must match to be forwarded.
    #[serde(default = "default_scope_filter")]
    pub filter: String,
    /// The attribute holding the captured account name.
    #[serde(default = "default_account_attribute")]
    pub account_attribute: String,
    /// Longest wait for connecting and for each search.
    #[serde(default = "default_scope_timeout_ms")]
    pub timeout_ms: u64,
    /// How long a change captured before its commit (Samba's check password script) may wait
    /// for the directory to show it committed; then it is dropped as not committed.
    #[serde(default = "default_confirm_window_s")]
    pub confirm_window_s: u64,
    /// How much earlier than the capture the directory may stamp `pwdLastSet` (Samba stamps it
    /// when the change begins, before the script runs).
    #[serde(default = "default_commit_allowance_ms")]
    pub commit_allowance_ms: u64,
}

fn default_scope_filter() -> String {
    DEFAULT_SCOPE_FILTER.into()
}
fn default_account_attribute() -> String {
    "sAMAccountName".into()
}
fn default_scope_timeout_ms() -> u64 {
    5_000
}
fn default_confirm_window_s() -> u64 {
    300
}
fn default_commit_allowance_ms() -> u64 {
    10_000
}

impl LdapScopeConfig {
    pub fn directory_settings(&self) -> pwsync_ldap::DirectorySettings {
        pwsync_ldap::DirectorySettings {
            url: self.url.clone(),
            starttls: self.starttls,
            ca_file: self.ca_file.clone(),
            allow_plaintext: self.allow_plaintext,
            bind_dn: self.bind_dn.clone(),
            bind_password_file: self.bind_password_file.clone(),
            timeout: std::time::Duration::from_millis(self.timeout_ms),
        }
    }

    /// Every check that needs neither files nor network.
    fn check(&self) -> Result<(), String> {
        self.directory_settings().check_values().map_err(|error| format!("[scope] {error}"))?;
        pwsync_ldap::check_filter(&self.filter).map_err(|error| format!("[scope] filter: {error}"))?;
        let attribute = &self.account_attribute;
        let descriptor = attribute.starts_with(|c: char| c.is_ascii_alphabetic())
            && attribute.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let oid = !attribute.is_empty()
            && attribute.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
        if !descriptor && !oid {
            return Err(format!("[scope] account_attribute {attribute:?} is not an attribute name"));
        }
        if self.base_dn.trim().is_empty() {
            return Err("[scope] base_dn must not be empty".into());
        }
        if self.confirm_window_s == 0 {
            return Err("[scope] confirm_window_s must be at least 1".into());
        }
        Ok(())
    }
}

/// The `[scope]` table as written: one struct variant per kind, so that unknown keys of every
/// kind are refused with their name.
#[derive(Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum ScopeTable {
    All {},
    Ldap(LdapScopeConfig),
}

impl From<ScopeTable> for ScopeConfig {
    fn from(table: ScopeTable) -> Self {
        match table {
            ScopeTable::All {} => ScopeConfig::All,
            ScopeTable::Ldap(config) => ScopeConfig::Ldap(config),
        }
    }
}

impl From<ScopeConfig> for ScopeTable {
    fn from(scope: ScopeConfig) -> Self {
        match scope {
            ScopeConfig::All => ScopeTable::All {},
            ScopeConfig::Ldap(config) => ScopeTable::Ldap(config),
        }
    }
}

/// Back-off after a failed or "retry" delivery: exponential with jitter, capped.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
        }
    }
}

fn default_initial_backoff_ms() -> u64 {
    500
}
fn default_max_backoff_ms() -> u64 {
    60_000
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl ClientConfig {
    pub fn load(path: &Path) -> Result<ClientConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        ClientConfig::from_toml(&text, path)
    }

    /// Parses and checks configuration text as if read from the file at `path` (which names it
    /// in errors and anchors its relative paths); nothing is read from disk.
    pub fn from_toml(text: &str, path: &Path) -> Result<ClientConfig, ConfigError> {
        let mut config: ClientConfig = toml::from_str(text)
            .map_err(|error| ConfigError::Parse { path: path.to_path_buf(), message: error.to_string() })?;
        let base = resolve_base(path);
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        resolve(&mut config.client.spool);
        config.client.spool_keys.iter_mut().for_each(resolve);
        resolve(&mut config.server.ca);
        resolve(&mut config.server.certificate);
        resolve(&mut config.server.key);
        if let ScopeConfig::Ldap(scope) = &mut config.scope {
            resolve(&mut scope.bind_password_file);
            if let Some(ca_file) = &mut scope.ca_file {
                resolve(ca_file);
            }
        }
        config.check().map_err(|message| ConfigError::Invalid { path: path.to_path_buf(), message })?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        let domain = &self.client.domain;
        if domain.is_empty() || *domain != domain.to_lowercase() || domain.contains(char::is_whitespace) {
            return Err(format!("client.domain {domain:?} must be a lowercase DNS name"));
        }
        if self.client.spool_keys.is_empty() {
            return Err("client.spool_keys must name at least one spool secret key file".into());
        }
        if !(1..=pwsync_proto::MAX_BATCH_CHANGES).contains(&self.client.batch_size) {
            return Err(format!("client.batch_size must be 1 to {}", pwsync_proto::MAX_BATCH_CHANGES));
        }
        if self.client.parallel_batches == 0 || self.client.rescan_interval_ms == 0 {
            return Err("client.parallel_batches and client.rescan_interval_ms must be positive".into());
        }
        self.operations.check()?;
        if self.server.request_timeout_ms == 0 {
            return Err("server.request_timeout_ms must be at least 1".into());
        }
        if !self.server.url.starts_with("https://") {
            return Err(format!(
                "server.url {:?} must start with https:// (there is no plain-text mode)",
                self.server.url
            ));
        }
        if self.retry.initial_backoff_ms == 0 || self.retry.max_backoff_ms < self.retry.initial_backoff_ms {
            return Err("retry.initial_backoff_ms must be positive and at most retry.max_backoff_ms".into());
        }
        if let ScopeConfig::Ldap(scope) = &self.scope {
            scope.check()?;
        }
        Ok(())
    }
}

/// The absolute directory of the configuration file at `path`, against which its relative
/// paths are resolved. `client.toml` alone has the empty parent: the working directory.
fn resolve_base(path: &Path) -> PathBuf {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::path::absolute(parent).unwrap_or_else(|_| {
        // Only when the working directory is unknown (deleted); join is the best left to do.
        std::env::current_dir().map(|cwd| cwd.join(parent)).unwrap_or_else(|_| parent.to_path_buf())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[client]
domain = "corp.example"
spool = "spool"
spool_keys = ["spool.key"]
[server]
url = "https://127.0.0.1:7443"
ca = "ca.pem"
certificate = "client.pem"
key = "client.key"
"#;

    fn parse(text: &str) -> Result<ClientConfig, ConfigError> {
        let dir = std::env::temp_dir().join(format!("pwsync-client-config-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("client.toml");
        std::fs::write(&path, text).unwrap();
        ClientConfig::load(&path)
    }

    #[test]
    fn defaults_apply_and_paths_become_absolute() {
        let config = parse(GOOD).unwrap();
        assert!(config.client.spool.is_absolute());
        assert_eq!(config.client.batch_size, 200);
        assert!(matches!(config.scope, ScopeConfig::All));
    }

    #[test]
    fn unknown_keys_and_plain_http_are_refused() {
        let error = parse(&GOOD.replace("[server]", "[server]\nurll = 1")).unwrap_err().to_string();
        assert!(error.contains("urll"), "{error}");
        let error = parse(&GOOD.replace("https://", "http://")).unwrap_err().to_string();
        assert!(error.contains("https://"), "{error}");
        let error = parse(&format!("{GOOD}\n[scope]\nkind = \"ldap-maybe\"\n")).unwrap_err().to_string();
        assert!(error.contains("ldap-maybe"), "{error}");
    }

    #[test]
    fn unknown_keys_in_scope_are_refused_by_name() {
        let error =
            parse(&format!("{GOOD}\n[scope]\nkind = \"all\"\nfilter = \"x\"\n")).unwrap_err().to_string();
        assert!(error.contains("filter"), "{error}");
        let error = parse(&format!("{GOOD}\n[scope]\nfilter = \"x\"\n")).unwrap_err().to_string();
        assert!(error.contains("kind"), "a [scope] table needs its kind: {error}");
        let config = parse(&format!("{GOOD}\n[scope]\nkind = \"all\"\n")).unwrap();
        assert!(matches!(config.scope, ScopeConfig::All));
        let written = toml::to_string(&config.scope).unwrap();
        assert_eq!(written.trim(), "kind = \"all\"");
    }

    const LDAP_SCOPE: &str = r#"
[scope]
kind = "ldap"
url = "ldaps://dc1.corp.example"
ca_file = "dc-ca.pem"
bind_dn = "CN=pwsync,CN=Users,DC=corp,DC=example"
bind_password_file = "scope.secret"
base_dn = "DC=corp,DC=example"
"#;

    #[test]
    fn an_ldap_scope_gets_its_defaults_and_absolute_paths() {
        let config = parse(&format!("{GOOD}{LDAP_SCOPE}")).unwrap();
        let ScopeConfig::Ldap(scope) = config.scope else { panic!("not an ldap scope") };
        assert_eq!(scope.filter, DEFAULT_SCOPE_FILTER);
        assert_eq!(scope.account_attribute, "sAMAccountName");
        assert!(scope.bind_password_file.is_absolute());
        assert!(scope.ca_file.unwrap().is_absolute());
    }

    #[test]
    fn a_bad_scope_filter_is_pointed_at() {
        let text = format!("{GOOD}{LDAP_SCOPE}filter = \"(&(objectClass=user)(memberOf=x)\"\n");
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("column 1") && error.contains("never closed"), "{error}");
        let text = format!("{GOOD}{LDAP_SCOPE}account_attribute = \"uid)(x\"\n");
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("account_attribute"), "{error}");
        let plain = LDAP_SCOPE.replace("ldaps://", "ldap://");
        let error = parse(&format!("{GOOD}{plain}")).unwrap_err().to_string();
        assert!(error.contains("allow_plaintext"), "{error}");
    }

    #[test]
    fn a_zero_request_timeout_is_refused_by_name() {
        let error =
            parse(&GOOD.replace("key = \"client.key\"", "key = \"client.key\"\nrequest_timeout_ms = 0"))
                .unwrap_err()
                .to_string();
        assert!(error.contains("server.request_timeout_ms must be at least 1"), "{error}");
    }

    #[test]
    fn the_base_of_a_relative_config_path_is_absolute() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(resolve_base(Path::new("client.toml")), cwd);
        assert_eq!(resolve_base(Path::new("conf/client.toml")), cwd.join("conf"));
        assert_eq!(resolve_base(Path::new("/etc/pwsync/client.toml")), Path::new("/etc/pwsync"));
        assert!(resolve_base(Path::new("../client.toml")).is_absolute());
    }
}
