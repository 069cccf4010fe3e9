//! The HTTPS client for the token endpoint and Graph: rustls with aws-lc-rs, verifying the
//! service against the system's trust store (the platform verifier), or only against the
//! configured `ca_file` (an inspecting proxy's CA, or the emulator's).
//!
//! Must never offer a way to skip certificate verification.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls_platform_verifier::BuilderVerifierExt;

use super::config::GraphConfigError;

pub fn build(ca_file: Option<&Path>, timeout: Duration) -> Result<reqwest::Client, GraphConfigError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| tls_error(ca_file, error.to_string()))?;
    let mut config = match ca_file {
        Some(path) => {
            use rustls_pki_types::pem::PemObject;
            let mut roots = rustls::RootCertStore::empty();
            let certificates = rustls_pki_types::CertificateDer::pem_file_iter(path)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|error| tls_error(Some(path), error.to_string()))?;
            if certificates.is_empty() {
                return Err(tls_error(Some(path), "no certificate in the file".into()));
            }
            for certificate in certificates {
                roots.add(certificate).map_err(|error| tls_error(Some(path), error.to_string()))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => builder
            .with_platform_verifier()
            .map_err(|error| tls_error(None, format!("the system trust store: {error}")))?
            .with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .https_only(true)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|error| tls_error(ca_file, error.to_string()))
}

fn tls_error(path: Option<&Path>, message: String) -> GraphConfigError {
    GraphConfigError::BadFile {
        path: path.map(Path::to_path_buf).unwrap_or_else(|| "(system roots)".into()),
        message,
    }
}
