//! The TLS listener of the change API: accepts TCP connections, runs the TLS 1.3 handshake
//! with a mandatory client certificate, and serves HTTP/1.1 or HTTP/2 on each connection.
//!
//! A refused handshake (no certificate, a foreign CA, an expired certificate, an old protocol,
//! too slow, evicted by newer ones) is written to the audit trail with the peer's address. A
//! connection is bounded in time at each stage: the handshake (`handshake_timeout`), the request
//! headers (`header_read_timeout`, against slow-loris), silence with nothing in flight
//! (`idle_timeout`); unfinished handshakes live in their own pool (see [`HandshakePool`]) so
//! that they never take the places of authenticated clients. There is no plain-text path here
//! and there must never be one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::api::Peer;
use crate::handshake_pool::HandshakePool;
use crate::idle::Activity;
use crate::ledger::{AuditEvent, Ledger};

/// The connection limits of `[server]` (see `config.rs` and docs/configuration.md).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Authenticated connections open at once.
    pub max_connections: usize,
    /// Connections whose handshake is not finished yet.
    pub max_handshakes: usize,
    pub handshake_timeout: Duration,
    /// Longest wait for a request's complete headers (HTTP/1.1).
    pub header_read_timeout: Duration,
    /// Silence, with no request in flight, after which a connection is closed.
    pub idle_timeout: Duration,
}

pub struct Listener {
    pub tcp: TcpListener,
    /// The TLS material in force; reloaded on SIGHUP, read at every handshake.
    pub tls: crate::tls_reload::CurrentTls,
    pub router: Router,
    pub ledger: Ledger,
    pub limits: ConnectionLimits,
}

impl Listener {
    /// Serves until `shutdown` resolves, then waits for open connections to finish their
    /// requests (at most `drain`).
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()>, drain: Duration) {
        let limits = self.limits;
        let established = Arc::new(Semaphore::new(limits.max_connections));
        let handshakes = HandshakePool::new(limits.max_handshakes);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            // Accepting never waits for a place: a full pool of unfinished handshakes makes
            // room by evicting its oldest member, and authenticated clients wait for theirs.
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
            // An evicted handshake is audited and counted as refused by its own task.
            let entered = handshakes.enter();
            let acceptor = TlsAcceptor::from(self.tls.borrow().config.clone());
            let router = self.router.clone();
            let ledger = self.ledger.clone();
            let established = established.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let handshake =
                    handshake(acceptor, tcp, addr, &ledger, limits.handshake_timeout, entered.evicted);
                let Some((tls, peer)) = handshake.await else {
                    crate::metrics::tls_refused();
                    return;
                };
                drop(entered.place);
                let permit = match tokio::time::timeout(limits.handshake_timeout, established.acquire_owned())
                    .await
                {
                    Ok(permit) => permit.expect("never closed"),
                    Err(_) => {
                        tracing::warn!(peer = %addr, client = %peer.identity.name,
                            "closed an authenticated connection: all server.max_connections places are taken");
                        return;
                    }
                };
                crate::metrics::connection_opened();
                let _open = ConnectionGauge;
                serve_connection(tls, peer, router, limits, watcher).await;
                drop(permit);
            });
        }
        drop(self.tcp);
        if tokio::time::timeout(drain, graceful.shutdown()).await.is_err() {
            tracing::warn!("some connections were still open after the drain period");
        }
    }
}

/// Serves HTTP on an authenticated connection until it ends, breaks a time limit, or stays idle.
async fn serve_connection(
    tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    peer: Peer,
    router: Router,
    limits: ConnectionLimits,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let addr = peer.addr;
    let client = peer.identity.name.clone();
    let activity = Activity::new();
    let requests = activity.clone();
    let service = router
        .map_request(move |mut request: axum::http::Request<_>| {
            request.extensions_mut().insert(peer.clone());
            request
        })
        .map_future(move |response| {
            let in_flight = requests.request();
            async move {
                let response = response.await;
                drop(in_flight);
                response
            }
        });
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let connection = builder
        .serve_connection(TokioIo::new(activity.watch(tls)), TowerToHyperService::new(service))
        .into_owned();
    let connection = watcher.watch(connection);
    tokio::pin!(connection);
    let mut check = tokio::time::interval((limits.idle_timeout / 4).max(Duration::from_millis(50)));
    loop {
        tokio::select! {
            ended = &mut connection => {
                if let Err(error) = ended {
                    let timed_out = error.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_timeout);
                    if timed_out {
                        tracing::warn!(peer = %addr, %client, %error,
                            "closed a connection whose request headers did not arrive within server.header_read_timeout_ms");
                    } else {
                        tracing::debug!(peer = %addr, %error, "connection ended with an error");
                    }
                }
                return;
            }
            _ = check.tick() => {
                if activity.is_idle(limits.idle_timeout) {
                    tracing::info!(peer = %addr, %client, "closed a connection idle for server.idle_timeout_ms");
                    return;
                }
            }
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
    timeout: Duration,
    evicted: tokio::sync::oneshot::Receiver<()>,
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
    let accepted = tokio::select! {
        accepted = tokio::time::timeout(timeout, acceptor.accept(tcp)) => accepted,
        Ok(()) = evicted => {
            let _ = refuse("handshake not finished before newer connections needed its place \
                            (server.max_handshakes)".into()).await;
            return None;
        }
    };
    let tls = match accepted {
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
            let _ = refuse("handshake not finished in time (server.handshake_timeout_ms)".into()).await;
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
