//! The `kind = "ldap"` target's configuration and its checks at start-up.
//!
//! Every check that needs no network runs here, so that a mistake is refused with its name
//! before the server accepts a change. This module names the bind password's file; it must
//! never hold or print the password itself (see `bind_secret`).

use std::path::PathBuf;
use std::time::Duration;

use pwsync_ldap::{DirectoryConfigError, DirectorySettings, Transport};
use serde::{Deserialize, Serialize};

/// How the password is set in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LdapMode {
    /// RFC 3062 Password Modify extended operation: the server hashes and applies its policy.
    PasswordModify,
    /// Active Directory: replace `unicodePwd` with the quoted UTF-16LE password (needs TLS).
    ActiveDirectory,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// Name of the target in the ledger and in verdicts.
    pub name: String,
    pub mode: LdapMode,
    /// `ldaps://host[:port]`, or `ldap://host[:port]` with `starttls = true` (or, only with
    /// `allow_plaintext = true`, without).
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
    /// The CA certificate(s) (PEM) the directory's certificate must chain to. Required for
    /// `ldaps://` and StartTLS; the system roots are never used.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allows `ldap://` without StartTLS: the password crosses the network in clear.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// The account pwsync binds as (simple bind).
    pub bind_dn: String,
    /// File holding the bind account's password (one line; read once at start).
    pub bind_password_file: PathBuf,
    /// Where the search for the account starts (subtree).
    pub base_dn: String,
    /// Filter with placeholders `{account}`, `{domain}`, `{user_principal_name}`, `{mail}`
    /// (`{sAMAccountName}` is `{account}`); values are escaped per RFC 4515.
    pub search_filter: String,
    /// Before setting, bind as the entry with the new password, and count a success as
    /// applied without setting it again (as 389's PassSync does). Off by default: a failed
    /// probe counts as a bad password attempt and can lock the account out.
    #[serde(default)]
    pub skip_if_current: bool,
    /// How many operations may run at once (one connection each). At least 1.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Longest wait for connecting and for each operation; then the change is retried later.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_concurrency() -> usize {
    4
}

fn default_timeout_ms() -> u64 {
    10_000
}

/// A configuration mistake, found at start-up without contacting the directory.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LdapConfigError {
    #[error(transparent)]
    Directory(#[from] DirectoryConfigError),
    #[error("mode = \"active-directory\" needs an encrypted connection (ldaps:// or starttls = true)")]
    ActiveDirectoryNeedsTls,
    #[error("search_filter {template:?}: {problem}")]
    BadSearchFilter { template: String, problem: String },
    #[error("concurrency must be at least 1")]
    ZeroConcurrency,
}

impl LdapConfig {
    /// The connection settings, in the form the directory crate checks and uses.
    pub fn directory_settings(&self) -> DirectorySettings {
        DirectorySettings {
            url: self.url.clone(),
            starttls: self.starttls,
            ca_file: self.ca_file.clone(),
            allow_plaintext: self.allow_plaintext,
            bind_dn: self.bind_dn.clone(),
            bind_password_file: self.bind_password_file.clone(),
            timeout: Duration::from_millis(self.timeout_ms),
        }
    }

    /// The checks that need neither files nor network.
    pub fn check_values(&self) -> Result<Transport, LdapConfigError> {
        if self.concurrency == 0 {
            return Err(LdapConfigError::ZeroConcurrency);
        }
        // Active Directory refuses unicodePwd over a plain connection, even if pwsync allowed it.
        let plain = DirectorySettings { allow_plaintext: true, ..self.directory_settings() };
        if self.mode == LdapMode::ActiveDirectory && plain.transport() == Ok(Transport::Plaintext) {
            return Err(LdapConfigError::ActiveDirectoryNeedsTls);
        }
        Ok(self.directory_settings().check_values()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> LdapConfig {
        LdapConfig {
            name: "directory".into(),
            mode: LdapMode::PasswordModify,
            url: "ldaps://ldap.example.org".into(),
            starttls: false,
            ca_file: Some("/etc/pwsync/ldap-ca.pem".into()),
            allow_plaintext: false,
            bind_dn: "cn=pwsync,dc=example,dc=org".into(),
            bind_password_file: "/etc/pwsync/ldap.secret".into(),
            base_dn: "dc=example,dc=org".into(),
            search_filter: "(uid={account})".into(),
            skip_if_current: false,
            concurrency: 4,
            timeout_ms: 1000,
        }
    }

    #[test]
    fn the_directory_checks_apply_to_the_target() {
        // The rules themselves are tested in pwsync-ldap; here, that the target uses them.
        assert_eq!(sample().check_values(), Ok(Transport::Ldaps));
        let config = LdapConfig { url: "ldap://ldap.example.org".into(), ca_file: None, ..sample() };
        assert!(matches!(
            config.check_values(),
            Err(LdapConfigError::Directory(DirectoryConfigError::PlaintextNotAllowed { .. }))
        ));
    }

    #[test]
    fn active_directory_mode_refuses_plaintext_even_when_allowed() {
        let config = LdapConfig {
            mode: LdapMode::ActiveDirectory,
            url: "ldap://dc.example.org".into(),
            allow_plaintext: true,
            ..sample()
        };
        assert_eq!(config.check_values(), Err(LdapConfigError::ActiveDirectoryNeedsTls));
    }

    #[test]
    fn a_zero_concurrency_is_named() {
        let config = LdapConfig { concurrency: 0, ..sample() };
        assert_eq!(config.check_values(), Err(LdapConfigError::ZeroConcurrency));
    }
}
