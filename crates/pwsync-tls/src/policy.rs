//! The TLS policy shared by every pwsync endpoint: the aws-lc-rs crypto provider, TLS 1.3 only,
//! and the ALPN protocols of the HTTPS change API.
//!
//! Must never enable TLS 1.2 or an older version; everything that builds a rustls configuration
//! in this crate goes through here.

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::SupportedProtocolVersion;

/// ALPN protocols offered by both sides, preferred first.
pub const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The only protocol version pwsync speaks.
pub(crate) const PROTOCOL_VERSIONS: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// Installs aws-lc-rs as the process-wide default rustls provider, for code (such as HTTP
/// clients) that looks the default up. Calling it again, or after another provider was
/// installed, does nothing.
pub fn install_crypto_provider() {
    // An error only means a provider is installed already, which is the state we want.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The provider this crate builds its configurations with: always aws-lc-rs, independent of
/// whatever default a process installed.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider())).clone()
}

/// The ALPN list in the form rustls configurations take.
pub(crate) fn alpn_protocols() -> Vec<Vec<u8>> {
    ALPN_PROTOCOLS.iter().map(|protocol| protocol.to_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installing_twice_is_harmless() {
        install_crypto_provider();
        install_crypto_provider();
        assert!(CryptoProvider::get_default().is_some());
    }

    #[test]
    fn only_tls13_is_allowed() {
        assert_eq!(PROTOCOL_VERSIONS.len(), 1);
        assert_eq!(PROTOCOL_VERSIONS[0].version, rustls::ProtocolVersion::TLSv1_3);
    }
}
