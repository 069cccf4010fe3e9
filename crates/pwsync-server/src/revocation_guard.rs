//! Refuses every request of a client whose certificate the current revocation list names,
//! also on a connection that was opened before the revocation (the handshake check alone would
//! let such a connection go on for as long as the client keeps it alive).
//!
//! Must never let a request of a revoked certificate reach the API handlers.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::api::Peer;
use crate::ledger::{AuditEvent, Ledger};
use crate::tls_reload::CurrentTls;

/// The error code of the refusal (HTTP 403).
pub const CERTIFICATE_REVOKED: &str = "certificate_revoked";

#[derive(Clone)]
pub struct RevocationGuard {
    pub tls: CurrentTls,
    pub ledger: Ledger,
}

/// An axum middleware: `router.layer(axum::middleware::from_fn_with_state(guard, refuse_revoked))`.
pub async fn refuse_revoked(State(guard): State<RevocationGuard>, request: Request, next: Next) -> Response {
    let revoked_peer = request
        .extensions()
        .get::<Peer>()
        .filter(|peer| guard.tls.borrow().revoked.contains(&peer.identity.serial))
        .cloned();
    let Some(peer) = revoked_peer else {
        return next.run(request).await;
    };
    tracing::warn!(client = %peer.identity.name, serial = %peer.identity.serial, peer = %peer.addr,
        "refused a request of a revoked client certificate");
    let event = AuditEvent {
        event: "revoked_client_refused".into(),
        client: Some(peer.identity.name.clone()),
        peer: Some(peer.addr.to_string()),
        detail: format!("certificate serial {} is revoked", peer.identity.serial),
        ..AuditEvent::default()
    };
    if let Err(error) = guard.ledger.audit(event).await {
        tracing::error!(%error, "cannot write the refusal to the audit trail");
    }
    crate::api::error(
        StatusCode::FORBIDDEN,
        CERTIFICATE_REVOKED,
        format!("the certificate of \"{}\" has been revoked; issue the client a new one", peer.identity.name),
    )
}
