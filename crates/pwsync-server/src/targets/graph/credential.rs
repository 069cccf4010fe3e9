//! The app registration's credential, read once at start: a client secret from its file, or a
//! certificate and its RSA key for a client assertion.
//!
//! The secret and the key live in zeroize-on-drop memory; their Debug output is a redaction.
//! Must never be logged, put into an error message, or read from anywhere but the named files.

use std::path::Path;

use jsonwebtoken::EncodingKey;
use zeroize::Zeroizing;

use super::config::{CredentialFiles, GraphConfigError};

pub enum Credential {
    Secret(Zeroizing<String>),
    Certificate {
        /// base64url SHA-256 of the DER certificate, the assertion's `x5t#S256`.
        thumbprint_s256: String,
        key: EncodingKey,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Secret(_) => formatter.write_str("Credential::Secret(<redacted>)"),
            Credential::Certificate { thumbprint_s256, .. } => {
                write!(formatter, "Credential::Certificate({thumbprint_s256}, <key redacted>)")
            }
        }
    }
}

impl Credential {
    pub fn load(files: &CredentialFiles) -> Result<Credential, GraphConfigError> {
        match files {
            CredentialFiles::Secret(path) => {
                let bytes = read_private(path)?;
                let text = std::str::from_utf8(&bytes).map_err(|_| bad(path, "it is not UTF-8".into()))?;
                let line = text.split(['\n', '\r']).next().unwrap_or_default();
                if line.is_empty() {
                    return Err(GraphConfigError::EmptySecret { path: path.to_path_buf() });
                }
                Ok(Credential::Secret(Zeroizing::new(line.to_string())))
            }
            CredentialFiles::Certificate { certificate, key } => {
                use rustls_pki_types::pem::PemObject;
                let der = rustls_pki_types::CertificateDer::from_pem_file(certificate)
                    .map_err(|error| bad(certificate, error.to_string()))?;
                let key_pem = read_private(key)?;
                let key = EncodingKey::from_rsa_pem(&key_pem)
                    .map_err(|error| bad(key, format!("not an RSA private key in PEM ({error})")))?;
                use base64::Engine;
                use sha2::Digest;
                let thumbprint_s256 = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(sha2::Sha256::digest(der.as_ref()));
                Ok(Credential::Certificate { thumbprint_s256, key })
            }
        }
    }
}

fn bad(path: &Path, message: String) -> GraphConfigError {
    GraphConfigError::BadFile { path: path.to_path_buf(), message }
}

/// Reads a file only the service may read.
fn read_private(path: &Path) -> Result<Zeroizing<Vec<u8>>, GraphConfigError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            std::fs::metadata(path).map_err(|error| bad(path, error.to_string()))?.permissions().mode();
        if mode & 0o004 != 0 {
            return Err(GraphConfigError::ReadableByOthers { path: path.to_path_buf(), mode: mode & 0o777 });
        }
    }
    std::fs::read(path).map(Zeroizing::new).map_err(|error| bad(path, error.to_string()))
}
