//! The server's configuration file (TOML): listener, TLS files, ledger and targets.
//!
//! Unknown keys are refused with their name, so a typo never silently turns a setting off.
//! Relative paths are taken relative to the configuration file's directory, made absolute even
//! when the file itself was named by a relative path. This module must never read a secret's
//! content: it only names the files that hold them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::targets::{DryRunConfig, ExecConfig, GraphConfig, LdapConfig};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub server: ListenConfig,
    pub tls: ServerTlsConfig,
    pub ledger: LedgerConfig,
    #[serde(default, rename = "target")]
    pub targets: Vec<TargetConfig>,
    /// The operator listener (console, metrics); none when absent.
    #[serde(default)]
    pub operator: Option<crate::operator::config::OperatorConfig>,
    /// The file this configuration was read from; SIGHUP re-reads its `[tls]` table.
    #[serde(skip)]
    pub loaded_from: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// Address of the change API (TLS 1.3 with client certificates only).
    pub listen: SocketAddr,
    /// Longest time a request waits for its changes before answering "retry" for the rest.
    #[serde(default = "default_request_deadline_ms")]
    pub request_deadline_ms: u64,
    /// Most authenticated client connections open at once; a newly authenticated one waits up
    /// to `handshake_timeout_ms` for a place, then is closed.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Most connections whose TLS handshake is unfinished; when full, the oldest is dropped.
    #[serde(default = "default_max_handshakes")]
    pub max_handshakes: usize,
    /// Time a new connection has to finish its TLS handshake.
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
    /// Time a client has to send a request's complete headers (HTTP/1.1; against slow-loris).
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// Time a client has to send a request's complete body.
    #[serde(default = "default_body_read_timeout_ms")]
    pub body_read_timeout_ms: u64,
    /// Silence, with no request in flight, after which a connection is closed.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// Largest request body, in bytes (413 `body_too_large` beyond).
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Most changes (or notices) in one request (400 `batch_too_large` beyond).
    #[serde(default = "default_max_batch_changes")]
    pub max_batch_changes: usize,
    /// Deepest nesting of JSON arrays and objects in a body (400 `json_too_deep` beyond).
    #[serde(default = "default_max_json_depth")]
    pub max_json_depth: usize,
}

fn default_request_deadline_ms() -> u64 {
    20_000
}

fn default_max_connections() -> usize {
    1024
}

fn default_max_handshakes() -> usize {
    256
}

fn default_handshake_timeout_ms() -> u64 {
    5_000
}

fn default_header_read_timeout_ms() -> u64 {
    10_000
}

fn default_body_read_timeout_ms() -> u64 {
    30_000
}

fn default_idle_timeout_ms() -> u64 {
    120_000
}

fn default_max_body_bytes() -> usize {
    pwsync_proto::MAX_BODY_BYTES
}

fn default_max_batch_changes() -> usize {
    pwsync_proto::MAX_BATCH_CHANGES
}

fn default_max_json_depth() -> usize {
    pwsync_proto::MAX_JSON_DEPTH
}

/// Largest `max_body_bytes` accepted: a body is held in memory whole.
const MAX_BODY_BYTES_CEILING: usize = 64 * 1024 * 1024;
/// Largest `max_batch_changes` accepted: each change of a batch is a task and a ledger row.
const MAX_BATCH_CHANGES_CEILING: usize = 10_000;
/// The protocol's documents nest 4 deep; serde_json stops at 128 on its own.
const JSON_DEPTH_RANGE: std::ops::RangeInclusive<usize> = 4..=128;

impl ListenConfig {
    /// The connection limits the listener enforces.
    pub fn connection_limits(&self) -> crate::listener::ConnectionLimits {
        crate::listener::ConnectionLimits {
            max_connections: self.max_connections,
            max_handshakes: self.max_handshakes,
            handshake_timeout: std::time::Duration::from_millis(self.handshake_timeout_ms),
            header_read_timeout: std::time::Duration::from_millis(self.header_read_timeout_ms),
            idle_timeout: std::time::Duration::from_millis(self.idle_timeout_ms),
        }
    }

    /// The request limits the change API enforces.
    pub fn request_limits(&self) -> crate::api::RequestLimits {
        crate::api::RequestLimits {
            max_body_bytes: self.max_body_bytes,
            max_batch_changes: self.max_batch_changes,
            max_json_depth: self.max_json_depth,
            body_read_timeout: std::time::Duration::from_millis(self.body_read_timeout_ms),
        }
    }

    fn check(&self) -> Result<(), String> {
        let positive = [
            ("request_deadline_ms", self.request_deadline_ms),
            ("max_connections", self.max_connections as u64),
            ("max_handshakes", self.max_handshakes as u64),
            ("handshake_timeout_ms", self.handshake_timeout_ms),
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("body_read_timeout_ms", self.body_read_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("server.{name} must be positive"));
        }
        if !(1..=MAX_BODY_BYTES_CEILING).contains(&self.max_body_bytes) {
            return Err(format!("server.max_body_bytes must be 1 to {MAX_BODY_BYTES_CEILING}"));
        }
        if !(1..=MAX_BATCH_CHANGES_CEILING).contains(&self.max_batch_changes) {
            return Err(format!("server.max_batch_changes must be 1 to {MAX_BATCH_CHANGES_CEILING}"));
        }
        if !JSON_DEPTH_RANGE.contains(&self.max_json_depth) {
            let (low, high) = (JSON_DEPTH_RANGE.start(), JSON_DEPTH_RANGE.end());
            return Err(format!("server.max_json_depth must be {low} to {high}"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTlsConfig {
    /// The server's certificate (PEM), issued by the deployment CA.
    pub certificate: PathBuf,
    /// Its private key (PEM, mode 0600).
    pub key: PathBuf,
    /// The CA whose client certificates are accepted.
    pub client_ca: PathBuf,
    /// The CA's revocation list (`pwsync pki revoke` writes it as `revoked.crl.pem` in the CA
    /// directory). Certificates it names are refused; re-read with the other files on SIGHUP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_list: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    /// SQLite file of the ledger (created if missing).
    pub path: PathBuf,
}

/// One `[[target]]` table; `kind` selects the implementation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TargetConfig {
    DryRun(DryRunConfig),
    Exec(ExecConfig),
    Ldap(LdapConfig),
    Graph(GraphConfig),
}

impl TargetConfig {
    pub fn name(&self) -> &str {
        match self {
            TargetConfig::DryRun(config) => &config.name,
            TargetConfig::Exec(config) => &config.name,
            TargetConfig::Ldap(config) => &config.name,
            TargetConfig::Graph(config) => &config.name,
        }
    }
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

impl ServerConfig {
    /// Reads, parses and checks a configuration file; relative paths become absolute.
    pub fn load(path: &Path) -> Result<ServerConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        ServerConfig::from_toml(&text, path)
    }

    /// Parses and checks configuration text as if read from the file at `path` (which names it
    /// in errors and anchors its relative paths); nothing is read from disk.
    pub fn from_toml(text: &str, path: &Path) -> Result<ServerConfig, ConfigError> {
        let mut config: ServerConfig = toml::from_str(text)
            .map_err(|error| ConfigError::Parse { path: path.to_path_buf(), message: error.to_string() })?;
        config.resolve_paths(&resolve_base(path));
        config.check().map_err(|message| ConfigError::Invalid { path: path.to_path_buf(), message })?;
        config.loaded_from = Some(path.to_path_buf());
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        resolve(&mut self.tls.certificate);
        resolve(&mut self.tls.key);
        resolve(&mut self.tls.client_ca);
        if let Some(list) = &mut self.tls.revocation_list {
            resolve(list);
        }
        resolve(&mut self.ledger.path);
        if let Some(operator) = &mut self.operator {
            operator.resolve_paths(&resolve);
        }
        for target in &mut self.targets {
            match target {
                TargetConfig::DryRun(config) => {
                    if let Some(log) = &mut config.log {
                        resolve(log)
                    }
                }
                TargetConfig::Exec(config) => resolve(&mut config.program),
                TargetConfig::Ldap(config) => {
                    resolve(&mut config.bind_password_file);
                    if let Some(ca_file) = &mut config.ca_file {
                        resolve(ca_file)
                    }
                }
                TargetConfig::Graph(config) => {
                    let files = [
                        &mut config.client_secret_file,
                        &mut config.certificate_file,
                        &mut config.certificate_key_file,
                        &mut config.ca_file,
                    ];
                    for path in files.into_iter().flatten() {
                        resolve(path)
                    }
                }
            }
        }
    }

    fn check(&self) -> Result<(), String> {
        if self.targets.is_empty() {
            return Err("no [[target]] is configured: add at least one (kind = \"dry-run\" to start)".into());
        }
        let mut names = std::collections::HashSet::new();
        for target in &self.targets {
            let name = target.name();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(format!("target name {name:?} must be letters, digits, '-' or '_'"));
            }
            if !names.insert(name) {
                return Err(format!("two targets are named {name:?}"));
            }
        }
        if let Some(operator) = &self.operator {
            operator.check()?;
        }
        self.server.check()
    }
}

/// The absolute directory of the configuration file at `path`, against which its relative
/// paths are resolved. `server.toml` alone has the empty parent: the working directory.
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
[server]
listen = "127.0.0.1:7443"
[tls]
certificate = "server.pem"
key = "server.key"
client_ca = "ca.pem"
[ledger]
path = "ledger.sqlite"
[[target]]
kind = "dry-run"
name = "preview"
[[target]]
kind = "exec"
name = "script"
program = "/bin/true"
"#;

    fn parse(text: &str) -> Result<ServerConfig, ConfigError> {
        let dir = std::env::temp_dir().join(format!("pwsync-config-test-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("server.toml");
        std::fs::write(&path, text).unwrap();
        ServerConfig::load(&path)
    }

    #[test]
    fn a_good_file_loads_and_paths_become_absolute() {
        let config = parse(GOOD).unwrap();
        assert!(config.tls.certificate.is_absolute());
        assert_eq!(config.targets.len(), 2);
        assert_eq!(config.server.request_deadline_ms, 20_000);
    }

    #[test]
    fn abuse_limits_have_defaults_and_are_checked_by_name() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.server.max_handshakes, 256);
        assert_eq!(config.server.max_body_bytes, pwsync_proto::MAX_BODY_BYTES);
        assert_eq!(config.server.max_json_depth, pwsync_proto::MAX_JSON_DEPTH);
        let with = |line: &str| GOOD.replace("[tls]", &format!("{line}\n[tls]"));
        parse(&with("max_batch_changes = 50\nhandshake_timeout_ms = 1500")).unwrap();
        for (line, named) in [
            ("max_handshakes = 0", "server.max_handshakes must be positive"),
            ("idle_timeout_ms = 0", "server.idle_timeout_ms must be positive"),
            ("max_body_bytes = 0", "server.max_body_bytes must be 1 to"),
            ("max_batch_changes = 100000", "server.max_batch_changes must be 1 to"),
            ("max_json_depth = 2", "server.max_json_depth must be 4 to 128"),
        ] {
            let error = parse(&with(line)).unwrap_err().to_string();
            assert!(error.contains(named), "{line}: {error}");
        }
    }

    #[test]
    fn the_base_of_a_relative_config_path_is_absolute() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(resolve_base(Path::new("server.toml")), cwd);
        assert_eq!(resolve_base(Path::new("./server.toml")), cwd);
        assert_eq!(resolve_base(Path::new("conf/server.toml")), cwd.join("conf"));
        assert_eq!(resolve_base(Path::new("/etc/pwsync/server.toml")), Path::new("/etc/pwsync"));
        for relative in ["server.toml", "conf/server.toml", "../server.toml"] {
            assert!(resolve_base(Path::new(relative)).is_absolute(), "{relative}");
        }
    }

    #[test]
    fn a_relative_program_is_resolved_against_the_file_and_must_be_executable() {
        let dir = std::env::temp_dir().join(format!("pwsync-config-test-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("server.toml");
        std::fs::write(&path, GOOD.replace("program = \"/bin/true\"", "program = \"set-password.sh\""))
            .unwrap();
        let config = ServerConfig::load(&path).unwrap();
        let TargetConfig::Exec(exec) = &config.targets[1] else { panic!("the second target is exec") };
        assert_eq!(exec.program, dir.join("set-password.sh"));
        let error = crate::check_targets(&config.targets).unwrap_err().to_string();
        assert!(error.contains("does not exist"), "{error}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(&exec.program, "#!/bin/sh\nexit 0\n").unwrap();
            std::fs::set_permissions(&exec.program, std::fs::Permissions::from_mode(0o644)).unwrap();
            let error = crate::check_targets(&config.targets).unwrap_err().to_string();
            assert!(error.contains("is not executable"), "{error}");
            std::fs::set_permissions(&exec.program, std::fs::Permissions::from_mode(0o755)).unwrap();
            crate::check_targets(&config.targets).unwrap();
        }
    }

    #[test]
    fn a_zero_exec_timeout_is_refused_by_check_targets() {
        let config =
            parse(&GOOD.replace("program = \"/bin/true\"", "program = \"/bin/true\"\ntimeout_ms = 0"))
                .unwrap();
        let error = crate::check_targets(&config.targets).unwrap_err().to_string();
        assert!(error.contains("timeout_ms must be at least 1"), "{error}");
    }

    #[test]
    fn a_graph_target_parses_and_its_files_are_resolved_against_the_config() {
        let graph = r#"
[[target]]
kind = "graph"
name = "entra"
tenant_id = "5f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b"
client_id = "a1b2c3d4-0000-4000-8000-000000000001"
certificate_file = "graph-app.pem"
certificate_key_file = "graph-app.key"
match_by = "source-anchor"
upn_suffix_rewrite = { from = "@corp.local", to = "@corp.com" }
"#;
        let config = parse(&format!("{GOOD}{graph}")).unwrap();
        let TargetConfig::Graph(target) = &config.targets[2] else { panic!("the third target is graph") };
        assert!(target.certificate_file.as_ref().unwrap().is_absolute());
        assert!(target.certificate_key_file.as_ref().unwrap().ends_with("graph-app.key"));
        assert_eq!(target.match_by, crate::targets::MatchBy::SourceAnchor);
        let error = crate::check_targets(&config.targets).unwrap_err().to_string();
        assert!(error.contains("graph-app.pem"), "the missing certificate is named: {error}");
        let error =
            parse(&format!("{GOOD}{}", graph.replace("match_by", "matchby"))).unwrap_err().to_string();
        assert!(error.contains("matchby"), "{error}");
    }

    #[test]
    fn an_ldap_target_parses_and_its_files_are_resolved_against_the_config() {
        let ldap = r#"
[[target]]
kind = "ldap"
name = "directory"
mode = "password-modify"
url = "ldaps://ldap.example.org"
ca_file = "ldap-ca.pem"
bind_dn = "cn=pwsync,dc=example,dc=org"
bind_password_file = "ldap.secret"
base_dn = "dc=example,dc=org"
search_filter = "(uid={account})"
"#;
        let config = parse(&format!("{GOOD}{ldap}")).unwrap();
        let TargetConfig::Ldap(target) = &config.targets[2] else { panic!("the third target is ldap") };
        assert!(
            target.bind_password_file.is_absolute() && target.bind_password_file.ends_with("ldap.secret")
        );
        assert!(target.ca_file.as_ref().unwrap().is_absolute());
        assert_eq!(target.concurrency, 4);
        let error = crate::check_targets(&config.targets).unwrap_err().to_string();
        assert!(error.contains("ldap-ca.pem"), "the missing CA file is named: {error}");
        let error = parse(&format!("{GOOD}{}", ldap.replace("mode = \"password-modify\"", "mode = \"ad\"")))
            .unwrap_err()
            .to_string();
        assert!(error.contains("`ad`") && error.contains("active-directory"), "{error}");
    }

    #[test]
    fn an_unknown_key_is_named() {
        let error = parse(&GOOD.replace("[ledger]", "[ledger]\npaht = \"x\"")).unwrap_err().to_string();
        assert!(error.contains("paht"), "{error}");
        let error =
            parse(&GOOD.replace("name = \"preview\"", "name = \"preview\"\nlgo = \"x\"")).unwrap_err();
        assert!(error.to_string().contains("lgo"), "{error}");
    }

    #[test]
    fn an_unknown_target_kind_and_duplicate_names_are_refused() {
        let error = parse(&GOOD.replace("kind = \"exec\"", "kind = \"carrier-pigeon\"")).unwrap_err();
        assert!(error.to_string().contains("carrier-pigeon"), "{error}");
        let error = parse(&GOOD.replace("name = \"script\"", "name = \"preview\"")).unwrap_err();
        assert!(error.to_string().contains("two targets"), "{error}");
    }
}
