//! How to reach and bind to a directory, and the checks of those settings that need no network.
//!
//! The configuration structs of the client and the server keep their own TOML shape; both
//! turn it into [`DirectorySettings`] so that the rules live here once. This module names the
//! bind password's file and must never hold or print the password itself.

use std::path::PathBuf;
use std::time::Duration;

/// Where the directory is and how pwsync binds to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorySettings {
    /// `ldaps://host[:port]`, or `ldap://host[:port]` with StartTLS (or plain when allowed).
    pub url: String,
    pub starttls: bool,
    /// The CA certificate(s) (PEM) the directory's certificate must chain to.
    pub ca_file: Option<PathBuf>,
    pub allow_plaintext: bool,
    /// The account pwsync binds as (simple bind).
    pub bind_dn: String,
    /// One line: the bind account's password.
    pub bind_password_file: PathBuf,
    /// Longest wait for connecting and for each operation.
    pub timeout: Duration,
}

/// How the connection is protected, derived from `url`, `starttls` and `allow_plaintext`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Ldaps,
    StartTls,
    Plaintext,
}

/// A mistake in the directory settings, found without contacting the directory.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DirectoryConfigError {
    #[error("url {url:?} must start with ldaps:// or ldap:// and name a host")]
    BadUrl { url: String },
    #[error("starttls = true needs an ldap:// url (ldaps:// is encrypted from the start)")]
    StartTlsWithLdaps,
    #[error(
        "url {url:?} is neither ldaps:// nor StartTLS: passwords and account data would cross the \
         network in clear; use ldaps://, set starttls = true, or (for a test) allow_plaintext = true"
    )]
    PlaintextNotAllowed { url: String },
    #[error(
        "ca_file is required with ldaps:// and StartTLS: the directory's certificate is verified against it"
    )]
    MissingCaFile,
    #[error("cannot use ca_file {path}: {message}")]
    BadCaFile { path: PathBuf, message: String },
    #[error("cannot read bind_password_file {path}: {message}")]
    UnreadableBindPassword { path: PathBuf, message: String },
    #[error("bind_password_file {path} is empty: an empty password would be an anonymous bind")]
    EmptyBindPassword { path: PathBuf },
    #[error("bind_password_file {path} can be read by any user (mode {mode:o}): chmod o-rwx")]
    BindPasswordReadableByOthers { path: PathBuf, mode: u32 },
    #[error("bind_dn must not be empty")]
    EmptyBindDn,
    #[error("timeout_ms must be at least 1")]
    ZeroTimeout,
}

impl DirectorySettings {
    /// The transport the settings ask for, or why it is not allowed.
    pub fn transport(&self) -> Result<Transport, DirectoryConfigError> {
        let (ldaps, rest) = if let Some(rest) = self.url.strip_prefix("ldaps://") {
            (true, rest)
        } else if let Some(rest) = self.url.strip_prefix("ldap://") {
            (false, rest)
        } else {
            return Err(DirectoryConfigError::BadUrl { url: self.url.clone() });
        };
        // Only scheme, host and port: a DN, filter or extension in the URL would be ignored.
        let host = rest.strip_suffix('/').unwrap_or(rest);
        if host.is_empty() || host.contains(['/', '?', '@', ' ']) {
            return Err(DirectoryConfigError::BadUrl { url: self.url.clone() });
        }
        let transport = match (ldaps, self.starttls) {
            (true, true) => return Err(DirectoryConfigError::StartTlsWithLdaps),
            (true, false) => Transport::Ldaps,
            (false, true) => Transport::StartTls,
            (false, false) => Transport::Plaintext,
        };
        if transport == Transport::Plaintext && !self.allow_plaintext {
            return Err(DirectoryConfigError::PlaintextNotAllowed { url: self.url.clone() });
        }
        Ok(transport)
    }

    /// Every check that needs neither files nor network.
    pub fn check_values(&self) -> Result<Transport, DirectoryConfigError> {
        if self.timeout.is_zero() {
            return Err(DirectoryConfigError::ZeroTimeout);
        }
        if self.bind_dn.trim().is_empty() {
            return Err(DirectoryConfigError::EmptyBindDn);
        }
        let transport = self.transport()?;
        if transport != Transport::Plaintext && self.ca_file.is_none() {
            return Err(DirectoryConfigError::MissingCaFile);
        }
        Ok(transport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DirectorySettings {
        DirectorySettings {
            url: "ldaps://ldap.example.org".into(),
            starttls: false,
            ca_file: Some("/etc/pwsync/ldap-ca.pem".into()),
            allow_plaintext: false,
            bind_dn: "cn=pwsync,dc=example,dc=org".into(),
            bind_password_file: "/etc/pwsync/ldap.secret".into(),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn ldaps_and_starttls_are_accepted_with_a_ca() {
        assert_eq!(sample().check_values(), Ok(Transport::Ldaps));
        let settings = DirectorySettings { url: "ldap://127.0.0.1:3890/".into(), starttls: true, ..sample() };
        assert_eq!(settings.check_values(), Ok(Transport::StartTls));
    }

    #[test]
    fn plain_ldap_needs_an_explicit_allowance() {
        let settings = DirectorySettings { url: "ldap://ldap.example.org".into(), ca_file: None, ..sample() };
        assert!(matches!(settings.check_values(), Err(DirectoryConfigError::PlaintextNotAllowed { .. })));
        let settings = DirectorySettings { allow_plaintext: true, ..settings };
        assert_eq!(settings.check_values(), Ok(Transport::Plaintext));
    }

    #[test]
    fn bad_values_are_named() {
        for url in ["http://x", "ldaps://", "ldap://host/dc=example", "ldaps://user@host"] {
            let settings = DirectorySettings { url: url.into(), ..sample() };
            assert!(matches!(settings.check_values(), Err(DirectoryConfigError::BadUrl { .. })), "{url}");
        }
        let settings = DirectorySettings { starttls: true, ..sample() };
        assert_eq!(settings.check_values(), Err(DirectoryConfigError::StartTlsWithLdaps));
        let settings = DirectorySettings { ca_file: None, ..sample() };
        assert_eq!(settings.check_values(), Err(DirectoryConfigError::MissingCaFile));
        let settings = DirectorySettings { timeout: Duration::ZERO, ..sample() };
        assert_eq!(settings.check_values(), Err(DirectoryConfigError::ZeroTimeout));
        let settings = DirectorySettings { bind_dn: " ".into(), ..sample() };
        assert_eq!(settings.check_values(), Err(DirectoryConfigError::EmptyBindDn));
    }
}
