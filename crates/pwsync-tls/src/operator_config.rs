//! The TLS configuration of the operator listener (web console and `/metrics`): TLS 1.3 only,
//! the server's own certificate, and an operator client certificate that is *asked for* but
//! not required, because operators may log in with a token instead.
//!
//! A certificate that is presented is verified against the operator CA and refused in the
//! handshake if it does not verify; there is no option to accept an unverified one. Without an
//! operator CA no certificate is asked for at all.

use std::path::Path;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;

use crate::error::{CertificateRole, TlsError};
use crate::own_certificate;
use crate::policy;

/// `cert`/`key`: the listener's certificate, issued by the deployment CA in `server_ca`.
/// `operator_ca`: the CA of operator client certificates, if they are accepted.
pub fn operator_server_config(
    cert: &Path,
    key: &Path,
    server_ca: &Path,
    operator_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let roots = own_certificate::load_ca_roots(server_ca)?;
    let identity = own_certificate::load_own_identity(cert, key, server_ca, &roots, CertificateRole::Server)?;
    let provider = policy::provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(policy::PROTOCOL_VERSIONS)
        .map_err(TlsError::Config)?;
    let mut config = match operator_ca {
        Some(operator_ca) => {
            let operator_roots = own_certificate::load_ca_roots(operator_ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(operator_roots, provider)
                .allow_unauthenticated()
                .build()
                .map_err(|error| TlsError::InvalidCaCertificate {
                    path: operator_ca.to_owned(),
                    reason: error.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier).with_single_cert(identity.chain, identity.key)
        }
        None => builder.with_no_client_auth().with_single_cert(identity.chain, identity.key),
    }
    .map_err(TlsError::Config)?;
    config.alpn_protocols = policy::alpn_protocols();
    Ok(Arc::new(config))
}
