//! Console sessions: after a login with the operator token (or on the first request of a
//! named operator certificate), the browser holds a random session id in a cookie that is
//! `HttpOnly; Secure; SameSite=Strict`, and every form that changes something carries the
//! session's CSRF token.
//!
//! Sessions live in memory only (a restart logs everyone out) and expire after
//! [`SESSION_LIFETIME`]. Session ids and CSRF tokens are 256-bit random values; only their
//! SHA-256 digests are kept, so a memory dump does not hand out live sessions.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const COOKIE_NAME: &str = "pwsync_session";
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// Most sessions at once; the oldest is dropped beyond.
const MAX_SESSIONS: usize = 1000;

struct Session {
    csrf: String,
    operator: String,
    expires: Instant,
}

/// A logged-in console user, as a handler sees it.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    /// "token" or the operator certificate's name.
    pub operator: String,
    /// The CSRF token to put into forms.
    pub csrf: String,
    /// Authenticated by an `Authorization` header (a script): no browser sends that by itself,
    /// so such a request cannot be forged from another site and needs no CSRF token.
    pub by_header: bool,
}

#[derive(Default)]
pub struct Sessions {
    by_digest: Mutex<HashMap<[u8; 32], Session>>,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl Sessions {
    /// Starts a session; returns (session id for the cookie, the user).
    pub fn create(&self, operator: &str) -> (String, ConsoleUser) {
        let id = random_hex();
        let csrf = random_hex();
        let mut sessions = self.by_digest.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        sessions.retain(|_, session| session.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) =
                sessions.iter().min_by_key(|(_, session)| session.expires).map(|(key, _)| *key)
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(
            digest(&id),
            Session { csrf: csrf.clone(), operator: operator.to_string(), expires: now + SESSION_LIFETIME },
        );
        (id, ConsoleUser { operator: operator.to_string(), csrf, by_header: false })
    }

    /// The user of a live session.
    pub fn find(&self, id: &str) -> Option<ConsoleUser> {
        let sessions = self.by_digest.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let session = sessions.get(&digest(id))?;
        (session.expires > Instant::now()).then(|| ConsoleUser {
            operator: session.operator.clone(),
            csrf: session.csrf.clone(),
            by_header: false,
        })
    }

    pub fn end(&self, id: &str) {
        self.by_digest.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&digest(id));
    }
}

impl ConsoleUser {
    /// A script authenticated by the bearer token.
    pub fn by_token_header() -> ConsoleUser {
        ConsoleUser { operator: "token".into(), csrf: random_hex(), by_header: true }
    }

    /// True when a form's CSRF token is this session's (always for header-authenticated requests).
    pub fn csrf_matches(&self, candidate: &str) -> bool {
        self.by_header || bool::from(digest(&self.csrf).ct_eq(&digest(candidate)))
    }
}

/// The session id from a request's `Cookie` headers.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_string())
}

/// The `Set-Cookie` value that starts a session in the browser.
pub fn set_cookie(id: &str) -> String {
    format!(
        "{COOKIE_NAME}={id}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    )
}

/// The `Set-Cookie` value that ends it.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_id_only_until_it_ends() {
        let sessions = Sessions::default();
        let (id, user) = sessions.create("token");
        assert_eq!(sessions.find(&id).unwrap().csrf, user.csrf);
        assert!(sessions.find("not-a-session").is_none());
        assert!(user.csrf_matches(&user.csrf) && !user.csrf_matches("forged"));
        sessions.end(&id);
        assert!(sessions.find(&id).is_none());
    }

    #[test]
    fn the_cookie_is_read_among_others_and_set_strictly() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(axum::http::header::COOKIE, "a=1; pwsync_session=abc; b=2".parse().unwrap());
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc"));
        let cookie = set_cookie("abc");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Strict")
        );
    }
}
