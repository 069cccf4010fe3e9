//! The application registrations of the emulated tenant: client id, its credentials (a
//! client secret and/or an uploaded certificate), the Graph application permissions granted
//! to it and the directory roles of its service principal.
//!
//! Must never print a registered secret; only its comparison result leaves this module.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// Template ids of the directory roles that matter for password resets (the same in every
/// tenant; they appear in an app-only token's `wids` claim).
pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
pub const PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: &str = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13";
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

/// The least privileged application permission that allows setting passwords.
pub const PASSWORD_PROFILE_PERMISSION: &str = "User-PasswordProfile.ReadWrite.All";

/// One app registration, as the users file (or a test) describes it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppRegistration {
    pub client_id: String,
    /// A client secret's value, when the app has one.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The uploaded certificate (PEM), when the app authenticates with one.
    #[serde(default)]
    pub certificate_pem: Option<String>,
    /// Granted (and consented) application permissions, e.g. `User-PasswordProfile.ReadWrite.All`.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Directory roles of the service principal, by name (`User Administrator`,
    /// `Privileged Authentication Administrator`, `Global Administrator`) or template id.
    #[serde(default)]
    pub directory_roles: Vec<String>,
}

/// A registered certificate, ready to verify assertions.
#[derive(Debug, Clone)]
pub struct RegisteredCertificate {
    /// base64url (no padding) SHA-256 of the DER certificate: the `x5t#S256` it is known by.
    pub thumbprint_s256: String,
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("app {client_id}: the certificate is not PEM: {message}")]
    NotPem { client_id: String, message: String },
    #[error("app {client_id}: the certificate cannot be parsed: {message}")]
    BadCertificate { client_id: String, message: String },
    #[error("app {client_id}: the certificate's key is not RSA (Entra ID signs with RSA keys)")]
    NotRsa { client_id: String },
    #[error("app {client_id}: unknown directory role {role:?}")]
    UnknownRole { client_id: String, role: String },
    #[error("app {client_id} has neither client_secret nor certificate_pem")]
    NoCredential { client_id: String },
}

impl AppRegistration {
    pub fn certificate(&self) -> Result<Option<RegisteredCertificate>, RegistrationError> {
        let Some(pem) = &self.certificate_pem else { return Ok(None) };
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|error| {
            RegistrationError::NotPem { client_id: self.client_id.clone(), message: error.to_string() }
        })?;
        let (_, certificate) =
            X509Certificate::from_der(&der).map_err(|error| RegistrationError::BadCertificate {
                client_id: self.client_id.clone(),
                message: error.to_string(),
            })?;
        let key = certificate.public_key().parsed().map_err(|error| RegistrationError::BadCertificate {
            client_id: self.client_id.clone(),
            message: error.to_string(),
        })?;
        let PublicKey::RSA(rsa) = key else {
            return Err(RegistrationError::NotRsa { client_id: self.client_id.clone() });
        };
        Ok(Some(RegisteredCertificate {
            thumbprint_s256: thumbprint_s256(&der),
            modulus: strip_leading_zeros(rsa.modulus).to_vec(),
            exponent: strip_leading_zeros(rsa.exponent).to_vec(),
        }))
    }

    /// The role template ids of the service principal.
    pub fn role_ids(&self) -> Result<Vec<String>, RegistrationError> {
        self.directory_roles
            .iter()
            .map(|role| {
                role_template_id(role).map(str::to_string).ok_or_else(|| RegistrationError::UnknownRole {
                    client_id: self.client_id.clone(),
                    role: role.clone(),
                })
            })
            .collect()
    }

    pub fn check(&self) -> Result<(), RegistrationError> {
        if self.client_secret.is_none() && self.certificate_pem.is_none() {
            return Err(RegistrationError::NoCredential { client_id: self.client_id.clone() });
        }
        self.certificate()?;
        self.role_ids()?;
        Ok(())
    }
}

fn role_template_id(role: &str) -> Option<&'static str> {
    let known = [
        ("user administrator", USER_ADMINISTRATOR),
        ("privileged authentication administrator", PRIVILEGED_AUTHENTICATION_ADMINISTRATOR),
        ("global administrator", GLOBAL_ADMINISTRATOR),
    ];
    known
        .iter()
        .find(|(name, id)| role.eq_ignore_ascii_case(name) || role.eq_ignore_ascii_case(id))
        .map(|(_, id)| *id)
}

/// base64url (no padding) of the SHA-256 of a DER certificate.
pub fn thumbprint_s256(der: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&byte| byte != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Compares two secrets in time independent of where they differ.
pub fn secrets_equal(given: &str, registered: &str) -> bool {
    let (given, registered) = (Sha256::digest(given.as_bytes()), Sha256::digest(registered.as_bytes()));
    given.iter().zip(registered.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}
