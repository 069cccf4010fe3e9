//! Verifies a client assertion as the identity platform documents it: a JWT signed (PS256,
//! or RS256) with the key of a certificate registered on the application, named by its
//! `x5t#S256` thumbprint; `aud` = the token endpoint's URL, `iss` = `sub` = the client id,
//! a `jti`, and `nbf`/`exp` around the present.
//!
//! Must never accept an assertion whose signature it did not check against a registered
//! certificate.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::state::App;

/// Clock skew tolerated on `nbf` and `exp`, in seconds.
const LEEWAY_S: u64 = 60;

/// An AADSTS error: the code and message the identity platform answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionRefusal {
    pub description: String,
}

fn refuse(description: impl Into<String>) -> AssertionRefusal {
    AssertionRefusal { description: description.into() }
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // read only to require their presence
struct AssertionClaims {
    aud: String,
    iss: String,
    sub: String,
    jti: String,
    nbf: u64,
    exp: u64,
}

/// Checks `assertion` for `app`, posted to `token_url`.
pub fn verify(assertion: &str, app: &App, token_url: &str) -> Result<(), AssertionRefusal> {
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|error| refuse(format!("AADSTS50027: JWT token is invalid or malformed ({error}).")))?;
    if !matches!(header.alg, Algorithm::PS256 | Algorithm::RS256) {
        return Err(refuse(format!(
            "AADSTS5002730: The client assertion uses algorithm {:?}; PS256 or RS256 is required.",
            header.alg
        )));
    }
    let Some(thumbprint) = header.x5t_s256.as_deref() else {
        return Err(refuse(
            "AADSTS700027: The certificate with identifier used to sign the client assertion is not \
             registered on application. [Reason - The key was not found.] (the header has no x5t#S256)",
        ));
    };
    let certificate =
        app.certificate.as_ref().filter(|certificate| certificate.thumbprint_s256 == thumbprint);
    let Some(certificate) = certificate else {
        return Err(refuse(format!(
            "AADSTS700027: The certificate with identifier used to sign the client assertion is not \
             registered on application. [Reason - The key was not found., Thumbprint of key used by \
             client: '{thumbprint}']"
        )));
    };
    let key = DecodingKey::from_rsa_raw_components(&certificate.modulus, &certificate.exponent);
    let client_id = &app.registration.client_id;
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY_S;
    validation.validate_nbf = true;
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.clone());
    validation.required_spec_claims =
        ["exp", "nbf", "aud", "iss", "sub"].iter().map(|claim| claim.to_string()).collect::<HashSet<_>>();
    match jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation) {
        Ok(_) => Ok(()),
        Err(error) => {
            use jsonwebtoken::errors::ErrorKind;
            Err(refuse(match error.kind() {
                ErrorKind::InvalidSignature => {
                    "AADSTS7000274: Client assertion failed signature validation.".to_string()
                }
                ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => {
                    "AADSTS700024: Client assertion is not within its valid time range.".to_string()
                }
                ErrorKind::InvalidAudience => format!(
                    "AADSTS700023: Client assertion audience claim does not match Realm issuer. \
                     The audience must be {token_url}."
                ),
                ErrorKind::InvalidIssuer | ErrorKind::InvalidSubject => format!(
                    "AADSTS700021: Client assertion application identifier doesn't match \
                     'client_id' parameter ({client_id})."
                ),
                ErrorKind::MissingRequiredClaim(claim) => {
                    format!("AADSTS50027: JWT token is invalid: the claim {claim} is missing.")
                }
                other => format!("AADSTS50027: JWT token is invalid or malformed ({other:?})."),
            }))
        }
    }
}
