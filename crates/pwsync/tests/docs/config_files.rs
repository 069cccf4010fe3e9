//! The files a configuration example names, made in the sandbox when no documented command of
//! the same document made them, so that `pwsync check-config` can load the example as a daemon
//! would: keys and certificates by `pwsync keygen` and `pwsync pki` themselves, CA files as a
//! copy of a CA certificate, secrets as a placeholder line (mode 0600), exec programs as a
//! placeholder script.
//!
//! A file it does not know how to make fails the test by name: it must never quietly drop a
//! key from an example to make it pass.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::sandbox::Sandbox;

/// A `[[target]]` example stands in a server configuration; this is the rest of one.
pub const SERVER_SKELETON: &str = "\
[server]
listen = \"127.0.0.1:0\"

[tls]
certificate = \"sync1.pem\"
key = \"sync1.key\"
client_ca = \"ca/ca.pem\"

[ledger]
path = \"/var/lib/pwsync/ledger.sqlite\"

";

fn string<'a>(table: &'a toml::Table, key: &str) -> Option<&'a str> {
    table.get(key).and_then(toml::Value::as_str)
}

fn subtable<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Table> {
    table.get(key).and_then(toml::Value::as_table)
}

pub struct Provider<'a> {
    sandbox: &'a mut Sandbox,
    /// Where relative paths of the configuration are taken from.
    base: PathBuf,
    at: String,
}

impl<'a> Provider<'a> {
    pub fn new(sandbox: &'a mut Sandbox, config_file: &Path, at: &str) -> Provider<'a> {
        Provider { sandbox, base: config_file.parent().unwrap().to_path_buf(), at: at.to_string() }
    }

    fn resolve(&self, path: &str) -> PathBuf {
        self.base.join(path)
    }

    /// The CA that signs what the sandbox issues (made once).
    fn ca_dir(&mut self) -> PathBuf {
        let dir = self.sandbox.root().join("sandbox-ca");
        if !dir.join("ca.pem").exists() {
            let dir_text = dir.display().to_string();
            self.sandbox.pwsync(&["pki", "init", "--dir", &dir_text]);
        }
        dir
    }

    fn parent_of(&self, path: &Path) -> PathBuf {
        let parent = path.parent().unwrap().to_path_buf();
        std::fs::create_dir_all(&parent).unwrap();
        parent
    }

    /// NAME.pem and NAME.key side by side, as `pwsync pki issue-*` writes them.
    fn name_of(&self, certificate: &Path, key: &Path) -> String {
        let name = certificate.file_stem().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            certificate.extension().unwrap(),
            "pem",
            "{}: cannot make {}",
            self.at,
            certificate.display()
        );
        assert_eq!(key, certificate.with_extension("key"), "{}: cannot make {}", self.at, key.display());
        name
    }

    fn ca_copy(&mut self, path: &Path) {
        if !path.exists() {
            let ca = self.ca_dir().join("ca.pem");
            self.parent_of(path);
            std::fs::copy(ca, path).unwrap();
        }
    }

    fn secret(&self, path: &Path) {
        if !path.exists() {
            self.parent_of(path);
            std::fs::write(path, "docs-test-placeholder-secret\n").unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    fn client(&mut self, config: &toml::Table) {
        let client = subtable(config, "client").unwrap();
        let domain = string(client, "domain").unwrap_or("corp.example").to_string();
        for key in client.get("spool_keys").and_then(toml::Value::as_array).into_iter().flatten() {
            let key = self.resolve(key.as_str().unwrap());
            if !key.exists() {
                assert_eq!(
                    key.file_name().unwrap(),
                    "spool.key",
                    "{}: cannot make {}",
                    self.at,
                    key.display()
                );
                let out = self.parent_of(&key).display().to_string();
                self.sandbox.pwsync(&["keygen", "--out", &out]);
            }
        }
        if let Some(server) = subtable(config, "server") {
            if let (Some(certificate), Some(key)) = (string(server, "certificate"), string(server, "key")) {
                let (certificate, key) = (self.resolve(certificate), self.resolve(key));
                self.issue(&certificate, &key, "issue-client", ["--domain", &domain]);
            }
            if let Some(ca) = string(server, "ca") {
                self.ca_copy(&self.resolve(ca));
            }
        }
        if let Some(scope) = subtable(config, "scope") {
            self.directory_files(scope);
        }
    }

    /// Issues `certificate` and `key` with `pwsync pki COMMAND` from the sandbox's CA, unless an
    /// earlier command of the docs made them; `binding` is the domain or name it is bound to.
    fn issue(&mut self, certificate: &Path, key: &Path, command: &str, binding: [&str; 2]) {
        if certificate.exists() {
            return;
        }
        let name = self.name_of(certificate, key);
        let ca = self.ca_dir().display().to_string();
        let out = self.parent_of(certificate).display().to_string();
        let [flag, value] = binding;
        self.sandbox.pwsync(&["pki", command, "--ca-dir", &ca, "--name", &name, flag, value, "--out", &out]);
    }

    /// `ca_file` and `bind_password_file` of an LDAP scope or target.
    fn directory_files(&mut self, table: &toml::Table) {
        if let Some(ca) = string(table, "ca_file") {
            self.ca_copy(&self.resolve(ca));
        }
        if let Some(secret) = string(table, "bind_password_file") {
            self.secret(&self.resolve(secret));
        }
    }

    fn server(&mut self, config: &toml::Table) {
        if let Some(tls) = subtable(config, "tls") {
            let (certificate, key) = (
                self.resolve(string(tls, "certificate").unwrap()),
                self.resolve(string(tls, "key").unwrap()),
            );
            self.issue(&certificate, &key, "issue-server", ["--san", "localhost"]);
            let client_ca = self.resolve(string(tls, "client_ca").unwrap());
            self.ca_copy(&client_ca);
            assert!(tls.get("revocation_list").is_none(), "{}: cannot make a revocation list", self.at);
        }
        if let Some(path) = subtable(config, "ledger").and_then(|ledger| string(ledger, "path")) {
            self.parent_of(&self.resolve(path));
        }
        for target in config.get("target").and_then(toml::Value::as_array).into_iter().flatten() {
            let target = target.as_table().unwrap();
            match string(target, "kind") {
                Some("dry-run") => {
                    if let Some(log) = string(target, "log") {
                        self.parent_of(&self.resolve(log));
                    }
                }
                Some("exec") => {
                    let program = self.resolve(string(target, "program").unwrap());
                    if !program.exists() {
                        self.parent_of(&program);
                        // Only its existence and x bit are checked; it is never run here.
                        std::fs::write(&program, "#!/bin/sh\nexit 75\n").unwrap();
                        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
                    }
                }
                Some("ldap") => self.directory_files(target),
                Some("graph") => {
                    if let Some(secret) = string(target, "client_secret_file") {
                        self.secret(&self.resolve(secret));
                    }
                    if let Some(ca) = string(target, "ca_file") {
                        self.ca_copy(&self.resolve(ca));
                    }
                    for key in ["certificate_file", "certificate_key_file"] {
                        let missing = string(target, key).is_some_and(|path| !self.resolve(path).exists());
                        assert!(!missing, "{}: cannot make the graph target's {key}", self.at);
                    }
                }
                other => panic!("{}: a target of unknown kind {other:?}", self.at),
            }
        }
    }

    /// Makes every file `config` names that is not there yet.
    pub fn provide(&mut self, config: &toml::Table) {
        if config.contains_key("client") {
            self.client(config);
        } else {
            self.server(config);
        }
    }
}
