//! The operator listener's accept loop: TCP, the TLS 1.3 handshake (an operator client
//! certificate is asked for, verified if presented, never required), then HTTP/1.1 or HTTP/2.
//! What the handshake proved is attached to each request as an [`OperatorPeer`].
//!
//! There is no plain-text path here and there must never be one.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::auth::OperatorPeer;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Operators are few; this bounds what a misbehaving browser or scraper can hold open.
const MAX_CONNECTIONS: usize = 64;

pub async fn serve(
    tcp: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    shutdown: impl std::future::Future<Output = ()>,
    drain: Duration,
) {
    let acceptor = TlsAcceptor::from(tls);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.expect("never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, addr) = tokio::select! {
            accepted = tcp.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "operator listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::warn!(peer = %addr, %error, "operator listener: handshake refused");
                    return;
                }
                Err(_) => return,
            };
            let certificate_name = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|certificate| pwsync_tls::peer_identity(certificate.as_ref()).ok())
                .map(|identity| identity.name);
            let peer = OperatorPeer { certificate_name, addr: Some(addr) };
            let service = router.map_request(move |mut request: axum::http::Request<_>| {
                request.extensions_mut().insert(peer.clone());
                request
            });
            let connection = Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service))
                .into_owned();
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%addr, %error, "operator connection ended with an error");
            }
        });
    }
    drop(tcp);
    let _ = tokio::time::timeout(drain, graceful.shutdown()).await;
}
