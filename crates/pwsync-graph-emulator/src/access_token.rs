//! Access tokens the emulator issues and checks: JWTs shaped like Entra ID's app-only tokens
//! (`tid`, `appid`, `roles` = granted permissions, `wids` = directory roles, `exp`), signed
//! with a key that lives only in this process. Graph requests are checked against the tokens
//! issued, so a revoked or expired token is refused as Graph refuses it.
//!
//! Must never accept a token it did not issue, nor one past its expiry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// What a token grants, as its claims say.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenClaims {
    pub aud: String,
    pub iss: String,
    pub tid: String,
    pub appid: String,
    pub roles: Vec<String>,
    pub wids: Vec<String>,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    pub uti: String,
}

/// Why a bearer token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    Missing,
    Expired,
    Invalid,
}

#[derive(Debug)]
pub struct TokenStore {
    signing_key: EncodingKey,
    lifetime: Mutex<Duration>,
    issued: Mutex<HashMap<String, TokenClaims>>,
}

impl TokenStore {
    pub fn new(lifetime: Duration) -> TokenStore {
        let key: [u8; 32] = rand::random();
        TokenStore {
            signing_key: EncodingKey::from_secret(&key),
            lifetime: Mutex::new(lifetime),
            issued: Mutex::new(HashMap::new()),
        }
    }

    pub fn set_lifetime(&self, lifetime: Duration) {
        *self.lifetime.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = lifetime;
    }

    pub fn lifetime(&self) -> Duration {
        *self.lifetime.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Issues a token; returns it and its lifetime in seconds (`expires_in`).
    pub fn issue(
        &self,
        tenant_id: &str,
        client_id: &str,
        roles: Vec<String>,
        wids: Vec<String>,
    ) -> (String, u64) {
        let lifetime = self.lifetime().as_secs();
        let now = unix_now();
        let claims = TokenClaims {
            aud: "https://graph.microsoft.com".into(),
            iss: format!("https://sts.windows.net/{tenant_id}/"),
            tid: tenant_id.into(),
            appid: client_id.into(),
            roles,
            wids,
            iat: now,
            nbf: now,
            exp: now + lifetime,
            uti: format!("{:032x}", rand::random::<u128>()),
        };
        let token = jsonwebtoken::encode(&Header::default(), &claims, &self.signing_key)
            .expect("HS256 signing with an in-memory key cannot fail");
        self.issued.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(token.clone(), claims);
        (token, lifetime)
    }

    /// The claims of a valid bearer token from an `Authorization` header value.
    pub fn check(&self, authorization: Option<&str>) -> Result<TokenClaims, TokenRefusal> {
        let Some(value) = authorization else { return Err(TokenRefusal::Missing) };
        let Some(token) = value.strip_prefix("Bearer ").map(str::trim).filter(|token| !token.is_empty())
        else {
            return Err(TokenRefusal::Missing);
        };
        let issued = self.issued.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let claims = issued.get(token).ok_or(TokenRefusal::Invalid)?;
        if unix_now() >= claims.exp {
            return Err(TokenRefusal::Expired);
        }
        Ok(claims.clone())
    }

    /// Forgets every token issued: each is refused from now on.
    pub fn revoke_all(&self) {
        self.issued.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0)
}
