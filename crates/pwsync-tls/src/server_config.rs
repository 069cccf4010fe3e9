//! The server's TLS configuration: TLS 1.3 only, and a client certificate from the deployment
//! CA required on every connection.
//!
//! Must never accept an anonymous client or a certificate from any other CA; there is no
//! option to relax either.

use std::path::Path;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;

use crate::error::{CertificateRole, TlsError};
use crate::own_certificate;
use crate::policy;

/// The server's loaded TLS configuration.
#[derive(Clone, Debug)]
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
}

impl ServerTls {
    /// Same as [`server_config`], wrapped.
    pub fn load(cert: &Path, key: &Path, client_ca: &Path) -> Result<Self, TlsError> {
        server_config(cert, key, client_ca).map(|config| ServerTls { config })
    }
}

/// Builds the server configuration from our certificate and key and the deployment CA that
/// issues client certificates. Our own certificate is checked first (validity, issued by
/// `client_ca` as a server certificate, matching key, key file mode) and refused with a named
/// error.
pub fn server_config(cert: &Path, key: &Path, client_ca: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let roots = own_certificate::load_ca_roots(client_ca)?;
    let identity = own_certificate::load_own_identity(cert, key, client_ca, &roots, CertificateRole::Server)?;
    let provider = policy::provider();
    let client_verifier =
        WebPkiClientVerifier::builder_with_provider(roots, provider.clone()).build().map_err(|error| {
            TlsError::InvalidCaCertificate { path: client_ca.to_owned(), reason: error.to_string() }
        })?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(policy::PROTOCOL_VERSIONS)
        .map_err(TlsError::Config)?
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(identity.chain, identity.key)
        .map_err(TlsError::Config)?;
    config.alpn_protocols = policy::alpn_protocols();
    Ok(Arc::new(config))
}
