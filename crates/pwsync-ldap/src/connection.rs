//! Connections to the directory: connect (TLS verified against the configured CA only, or
//! StartTLS, or — only when the configuration allows it — plain), bind as the configured
//! account, and keep idle bound connections for the next change.
//!
//! A connection is taken by one operation at a time and given back only after a clean answer;
//! any network error drops it, and the next change reconnects. Must never trust system roots,
//! skip certificate verification, or bind with an empty password.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::bind_secret::BindSecret;
use crate::settings::{DirectoryConfigError, DirectorySettings, Transport};

/// Which part of opening a connection failed: the same error means different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectPhase {
    /// Reaching the directory (TCP, TLS, StartTLS).
    Connect,
    /// The simple bind as the configured account.
    Bind,
}

/// Opens bound connections as the configuration says.
pub struct Connector {
    url: String,
    transport: Transport,
    tls: Option<Arc<ClientConfig>>,
    bind_dn: String,
    bind_secret: BindSecret,
    timeout: Duration,
}

impl Connector {
    /// Checks the settings, reads the CA file and the bind password file; contacts nothing.
    pub fn new(settings: &DirectorySettings) -> Result<Connector, DirectoryConfigError> {
        let transport = settings.check_values()?;
        let tls = match (&settings.ca_file, transport) {
            (_, Transport::Plaintext) => None,
            (Some(ca_file), _) => Some(tls_config(ca_file)?),
            (None, _) => return Err(DirectoryConfigError::MissingCaFile),
        };
        Ok(Connector {
            url: settings.url.clone(),
            transport,
            tls,
            bind_dn: settings.bind_dn.clone(),
            bind_secret: BindSecret::read(&settings.bind_password_file)?,
            timeout: settings.timeout,
        })
    }

    pub fn transport(&self) -> Transport {
        self.transport
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new connection, bound as the configured account.
    pub async fn connect(&self) -> Result<Ldap, (ConnectPhase, LdapError)> {
        let mut ldap = self.open().await.map_err(|error| (ConnectPhase::Connect, error))?;
        ldap.with_timeout(self.timeout)
            .simple_bind(&self.bind_dn, self.bind_secret.expose())
            .await
            .and_then(|result| result.success())
            .map_err(|error| (ConnectPhase::Bind, error))?;
        Ok(ldap)
    }

    /// Whether a simple bind as `dn` with `password` succeeds, on a connection of its own
    /// that is closed afterwards. Any failure (wrong password, network) is `false`.
    pub async fn accepts(&self, dn: &str, password: &str) -> bool {
        let Ok(mut ldap) = self.open().await else { return false };
        let bound = ldap.with_timeout(self.timeout).simple_bind(dn, password).await;
        let _ = ldap.unbind().await;
        bound.and_then(|result| result.success()).is_ok()
    }

    /// A new connection, not yet bound.
    async fn open(&self) -> Result<Ldap, LdapError> {
        let mut settings = LdapConnSettings::new().set_conn_timeout(self.timeout);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        settings = settings.set_starttls(self.transport == Transport::StartTls);
        // The connect timeout covers TCP only; StartTLS and the handshake need a bound too.
        let (connection, ldap) =
            tokio::time::timeout(self.timeout, LdapConnAsync::with_settings(settings, &self.url)).await??;
        tokio::spawn(async move {
            if let Err(error) = connection.drive().await {
                tracing::debug!(%error, "LDAP connection ended");
            }
        });
        Ok(ldap)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// TLS towards the directory: the configured CA is the only trust anchor. TLS 1.2 stays
/// allowed (rustls' safe defaults): many directories, older Windows DCs among them, offer
/// nothing newer.
fn tls_config(ca_file: &Path) -> Result<Arc<ClientConfig>, DirectoryConfigError> {
    let bad = |message: String| DirectoryConfigError::BadCaFile { path: ca_file.to_path_buf(), message };
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca_file).map_err(|error| bad(error.to_string()))? {
        let certificate = certificate.map_err(|error| bad(error.to_string()))?;
        roots.add(certificate).map_err(|error| bad(error.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("it holds no certificate".into()));
    }
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|error| bad(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A connection taken from the pool.
pub struct Taken {
    pub ldap: Ldap,
    /// It served an earlier change: the directory may have dropped it since (a restart).
    pub reused: bool,
}

/// Idle bound connections, at most one per concurrent operation.
pub struct Pool {
    connector: Connector,
    idle: Mutex<Vec<Ldap>>,
    max_idle: usize,
}

impl Pool {
    pub fn new(connector: Connector, max_idle: usize) -> Pool {
        Pool { connector, idle: Mutex::new(Vec::new()), max_idle }
    }

    /// An idle connection (`reused` true), or a new one.
    pub async fn take(&self) -> Result<Taken, (ConnectPhase, LdapError)> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
            match idle {
                Some(mut ldap) => {
                    if !ldap.is_closed() {
                        return Ok(Taken { ldap, reused: true });
                    }
                }
                None => return self.fresh().await,
            }
        }
    }

    /// A new connection, never an idle one.
    pub async fn fresh(&self) -> Result<Taken, (ConnectPhase, LdapError)> {
        Ok(Taken { ldap: self.connector.connect().await?, reused: false })
    }

    /// Keeps a connection that answered cleanly for the next change.
    pub fn give_back(&self, ldap: Ldap) {
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < self.max_idle {
            idle.push(ldap);
        }
    }

    pub fn timeout(&self) -> Duration {
        self.connector.timeout()
    }

    pub fn connector(&self) -> &Connector {
        &self.connector
    }
}
