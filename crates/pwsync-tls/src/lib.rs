//! pwsync's deployment PKI and TLS 1.3 configurations.
//!
//! pwsync runs its own private CA (the "deployment CA"). This crate creates that CA, issues the
//! server certificate and one client certificate per domain controller (bound to the AD domains
//! that client may submit changes for), and builds the rustls configurations both sides use:
//! TLS 1.3 only, mutual certificate authentication, nothing but the deployment CA trusted.
//!
//! It must never offer a way to turn certificate verification off, never trust system roots,
//! and never overwrite an existing key or certificate file.

mod ca;
mod client_config;
mod error;
mod file_modes;
mod handshake_error;
mod issue;
mod names;
mod operator_config;
mod own_certificate;
mod peer_identity;
mod pem_files;
mod policy;
mod revocation;
mod server_config;
mod validity;

pub use ca::{ca_certificate_path, ca_private_key_path, init_ca};
pub use client_config::{client_config, client_config_without_identity};
pub use error::{CertificateRole, TlsError};
pub use handshake_error::describe_handshake_error;
pub use issue::{issue_client, issue_server, IssuedFiles};
pub use names::{domain_uri, DOMAIN_URI_PREFIX};
pub use operator_config::operator_server_config;
pub use peer_identity::{peer_identity, PeerIdentity};
pub use policy::{install_crypto_provider, ALPN_PROTOCOLS};
pub use revocation::{
    load_revocation_list, revocation_list_path, revoke_client, Revocation, RevocationList, RevokedSerials,
    REVOCATION_LIST_FILE,
};
pub use server_config::{server_config, ServerTls};
pub use validity::{Validity, DEFAULT_CA_VALIDITY_DAYS, DEFAULT_LEAF_VALIDITY_DAYS};
