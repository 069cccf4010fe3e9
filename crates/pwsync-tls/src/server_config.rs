//! The server's TLS configuration: TLS 1.3 only, a client certificate from the deployment CA
//! required on every connection, and the CA's revocation list enforced when one is configured.
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
use crate::revocation::{self, RevokedSerials};

/// The server's loaded TLS configuration and the serials its revocation list names.
#[derive(Clone, Debug)]
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
    /// Empty when no revocation list is configured.
    pub revoked: RevokedSerials,
}

impl ServerTls {
    /// Loads our certificate and key, the deployment CA and, when given, its revocation list
    /// (see [`server_config`]).
    pub fn load(
        cert: &Path,
        key: &Path,
        client_ca: &Path,
        revocation_list: Option<&Path>,
    ) -> Result<Self, TlsError> {
        let list =
            revocation_list.map(|path| revocation::load_revocation_list(path, client_ca)).transpose()?;
        let roots = own_certificate::load_ca_roots(client_ca)?;
        let identity =
            own_certificate::load_own_identity(cert, key, client_ca, &roots, CertificateRole::Server)?;
        let provider = policy::provider();
        let mut verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
        if let Some(list) = &list {
            // Only the client's own certificate is looked up: the CA is the sole issuer. A client
            // of a second CA in the same file, for which no list is given, stays accepted.
            verifier = verifier
                .with_crls([list.der.clone()])
                .only_check_end_entity_revocation()
                .allow_unknown_revocation_status();
        }
        let client_verifier = verifier.build().map_err(|error| TlsError::InvalidCaCertificate {
            path: client_ca.to_owned(),
            reason: error.to_string(),
        })?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(policy::PROTOCOL_VERSIONS)
            .map_err(TlsError::Config)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(identity.chain, identity.key)
            .map_err(TlsError::Config)?;
        config.alpn_protocols = policy::alpn_protocols();
        Ok(ServerTls { config: Arc::new(config), revoked: list.map(|list| list.serials).unwrap_or_default() })
    }
}

/// Builds the server configuration from our certificate and key and the deployment CA that
/// issues client certificates, without a revocation list. Our own certificate is checked first
/// (validity, issued by `client_ca` as a server certificate, matching key, key file mode) and
/// refused with a named error.
pub fn server_config(cert: &Path, key: &Path, client_ca: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    ServerTls::load(cert, key, client_ca, None).map(|tls| tls.config)
}
