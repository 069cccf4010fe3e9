//! The TLS listener of the change API: accepts TCP connections, runs the TLS 1.3 handshake
//! with a mandatory client certificate, and serves HTTP/1.1 or HTTP/2 on each connection.
//!
//! A refused handshake (no certificate, a foreign CA, an expired certificate, an old protocol)
//! is written to the audit trail with the peer's address. There is no plain-text path here and
//! there must never be one.

use std::net::SocketAddr;
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

use crate::api::Peer;
use crate::ledger::{AuditEvent, Ledger};

/// A client has this long to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Listener {
    pub tcp: TcpListener,
    /// The TLS material in force; reloaded on SIGHUP, read at every handshake.
    pub tls: crate::tls_reload::CurrentTls,
    pub router: Router,
    pub ledger: Ledger,
    pub max_connections: usize,
}

impl Listener {
    /// Serves until `shutdown` resolves, then waits for open connections to finish their
    /// requests (at most `drain`).
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()>, drain: Duration) {
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                permit = slots.clone().acquire_owned() => permit.expect("never closed"),
                _ = &mut shutdown => break,
            };
            let (tcp, addr) = tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = &mut shutdown => break,
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = TlsAcceptor::from(self.tls.borrow().config.clone());
            let router = self.router.clone();
            let ledger = self.ledger.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let _permit = permit;
                let Some((tls, peer)) = handshake(acceptor, tcp, addr, &ledger).await else {
                    crate::metrics::tls_refused();
                    return;
                };
                crate::metrics::connection_opened();
                let _open = ConnectionGauge;
                let service = router.map_request(move |mut request: axum::http::Request<_>| {
                    request.extensions_mut().insert(peer.clone());
                    request
                });
                let builder = Builder::new(TokioExecutor::new());
                let connection = builder
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service))
                    .into_owned();
                if let Err(error) = watcher.watch(connection).await {
                    tracing::debug!(%addr, %error, "connection ended with an error");
                }
            });
        }
        drop(self.tcp);
        if tokio::time::timeout(drain, graceful.shutdown()).await.is_err() {
            tracing::warn!("some connections were still open after the drain period");
        }
    }
}

/// Counts a client connection as open for as long as it lives, however it ends.
struct ConnectionGauge;

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        crate::metrics::connection_closed();
    }
}

async fn handshake(
    acceptor: TlsAcceptor,
    tcp: tokio::net::TcpStream,
    addr: SocketAddr,
    ledger: &Ledger,
) -> Option<(tokio_rustls::server::TlsStream<tokio::net::TcpStream>, Peer)> {
    let refuse = |detail: String| {
        tracing::warn!(peer = %addr, %detail, "refused a client");
        ledger.audit(AuditEvent {
            event: "tls_refused".into(),
            peer: Some(addr.to_string()),
            detail,
            ..AuditEvent::default()
        })
    };
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => {
            let detail = match error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                Some(tls_error) => pwsync_tls::describe_handshake_error(tls_error),
                None => format!("handshake failed: {error}"),
            };
            let _ = refuse(detail).await;
            return None;
        }
        Err(_) => {
            let _ = refuse("handshake not finished in time".into()).await;
            return None;
        }
    };
    let certificate = tls.get_ref().1.peer_certificates().and_then(|chain| chain.first()).cloned();
    let Some(certificate) = certificate else {
        let _ = refuse("client presented no certificate".into()).await;
        return None;
    };
    match pwsync_tls::peer_identity(certificate.as_ref()) {
        Ok(identity) => Some((tls, Peer { identity, addr })),
        Err(error) => {
            let _ = refuse(format!("unusable client certificate: {error}")).await;
            None
        }
    }
}
