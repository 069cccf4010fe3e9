//! The client daemon's TLS configuration: TLS 1.3 only, the server verified against the
//! deployment CA alone, and the client certificate presented.
//!
//! Must never trust system roots or skip server verification; there is no option to do so.

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;

use crate::error::{CertificateRole, TlsError};
use crate::own_certificate;
use crate::policy;

/// Builds the client configuration: trust only `server_ca`, present `cert` with `key`.
/// Our own certificate is checked first (validity, issued by `server_ca` — pwsync has one
/// deployment CA — as a client certificate, matching key, key file mode).
pub fn client_config(server_ca: &Path, cert: &Path, key: &Path) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = own_certificate::load_ca_roots(server_ca)?;
    let identity = own_certificate::load_own_identity(cert, key, server_ca, &roots, CertificateRole::Client)?;
    let mut config = ClientConfig::builder_with_provider(policy::provider())
        .with_protocol_versions(policy::PROTOCOL_VERSIONS)
        .map_err(TlsError::Config)?
        .with_root_certificates(roots)
        .with_client_auth_cert(identity.chain, identity.key)
        .map_err(TlsError::Config)?;
    config.alpn_protocols = policy::alpn_protocols();
    Ok(Arc::new(config))
}

/// A client configuration that verifies the server but presents no certificate; the server
/// must refuse it. For tests and diagnostics only.
pub fn client_config_without_identity(server_ca: &Path) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = own_certificate::load_ca_roots(server_ca)?;
    let mut config = ClientConfig::builder_with_provider(policy::provider())
        .with_protocol_versions(policy::PROTOCOL_VERSIONS)
        .map_err(TlsError::Config)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = policy::alpn_protocols();
    Ok(Arc::new(config))
}
