//! The client assertion for the certificate credential: a JWT signed with the certificate's
//! key (PS256 or RS256), header `typ` JWT and `x5t#S256`; claims `aud` = the token endpoint,
//! `iss` = `sub` = the client id, a unique `jti`, `nbf` = `iat` = now, `exp` 10 minutes on.
//!
//! Signing is jsonwebtoken's; this module must never hand-roll a signature or log the JWT.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::config::AssertionAlgorithm;

/// Lifetime of an assertion: the documentation asks for 5 to 10 minutes.
pub const ASSERTION_LIFETIME_S: u64 = 600;

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: u64,
    iat: u64,
    exp: u64,
}

pub fn sign(
    algorithm: AssertionAlgorithm,
    thumbprint_s256: &str,
    key: &EncodingKey,
    token_url: &str,
    client_id: &str,
) -> Result<String, String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0);
    let mut header = Header::new(match algorithm {
        AssertionAlgorithm::Ps256 => Algorithm::PS256,
        AssertionAlgorithm::Rs256 => Algorithm::RS256,
    });
    header.typ = Some("JWT".into());
    header.x5t_s256 = Some(thumbprint_s256.to_string());
    let claims = Claims {
        aud: token_url,
        iss: client_id,
        sub: client_id,
        jti: format!("{:032x}", rand::random::<u128>()),
        nbf: now,
        iat: now,
        exp: now + ASSERTION_LIFETIME_S,
    };
    jsonwebtoken::encode(&header, &claims, key)
        .map_err(|error| format!("cannot sign the client assertion: {error}"))
}
