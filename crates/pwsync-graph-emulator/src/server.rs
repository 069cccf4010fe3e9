//! Serves the emulator over HTTPS (rustls, HTTP/1.1 and HTTP/2 by ALPN) on a TCP listener,
//! applying the connection-level faults: latency before an answer, and requests dropped
//! without one (the connection is closed, as a reset load balancer would).
//!
//! Must never serve plain HTTP: the target under test must meet real TLS.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::state::{Stats, Tenant};

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A server TLS configuration (no client certificates) from PEM certificate chain and key files.
pub fn tls_config(certificate: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let read_error = |path: &Path, error: rustls_pki_types::pem::Error| TlsSetupError::Read {
        path: path.display().to_string(),
        message: error.to_string(),
    };
    let chain = CertificateDer::pem_file_iter(certificate)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|error| read_error(certificate, error))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|error| read_error(key, error))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts connections until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    tenant: Arc<Tenant>,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        let (acceptor, router, tenant, mut stop) =
            (acceptor.clone(), router.clone(), tenant.clone(), stop.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let (router, tenant) = (router.clone(), tenant.clone());
                async move {
                    if !request.uri().path().starts_with("/_emulator/") {
                        let latency = tenant.faults.latency();
                        if !latency.is_zero() {
                            tokio::time::sleep(latency).await;
                        }
                        if tenant.faults.take_drop() {
                            Stats::count(&tenant.stats.dropped);
                            // An error from the service makes hyper close the connection
                            // (or reset the HTTP/2 stream) without an answer.
                            return Err(DroppedRequest);
                        }
                    }
                    let response = router.oneshot(request.map(axum::body::Body::new)).await;
                    Ok::<_, DroppedRequest>(response.unwrap_or_else(|never: Infallible| match never {}))
                }
            });
            let builder = Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(tls), service);
            tokio::select! {
                _ = connection => {}
                _ = stop.changed() => {}
            }
        });
    }
}

#[derive(Debug)]
pub struct DroppedRequest;

impl std::fmt::Display for DroppedRequest {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("request dropped by fault injection")
    }
}

impl std::error::Error for DroppedRequest {}
