//! Maps a change's account to the Entra ID user it is set on: by userPrincipalName (with an
//! optional suffix rewrite, used directly in the URL), by mail, or by source anchor
//! (`onPremisesImmutableId` = base64 of the objectGUID in Active Directory's byte order).
//! The last two are looked up with `$filter` and the object id is cached.
//!
//! Must never guess: no identity, or several users for one, is a permanent rejection.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;

use super::config::{MatchBy, SuffixRewrite};
use crate::targets::ApplyRequest;

/// Most lookups kept; the cache is emptied when it is full (a mass reset touches each user
/// once, so an eviction order would buy nothing).
const CACHE_CAPACITY: usize = 200_000;

/// How to reach the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    /// Usable in `/users/{key}` directly (a UPN, or an object id found before).
    Key(String),
    /// Must be looked up first with this `$filter`.
    Lookup { filter: String, cache_key: String },
}

/// Why a change names no user this target can look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoIdentity(pub String);

pub struct IdentityMap {
    match_by: MatchBy,
    rewrite: Option<SuffixRewrite>,
    cache: Mutex<HashMap<String, String>>,
}

impl IdentityMap {
    pub fn new(match_by: MatchBy, rewrite: Option<SuffixRewrite>) -> IdentityMap {
        IdentityMap { match_by, rewrite, cache: Mutex::new(HashMap::new()) }
    }

    pub fn resolve(&self, request: &ApplyRequest) -> Result<UserRef, NoIdentity> {
        let identity = &request.identity;
        let (property, value) = match self.match_by {
            MatchBy::UserPrincipalName => {
                let upn = identity.user_principal_name.as_deref().filter(|upn| !upn.is_empty()).ok_or_else(
                    || {
                        NoIdentity(format!(
                            "the change for {} carries no userPrincipalName (match_by = user-principal-name)",
                            request.account
                        ))
                    },
                )?;
                return Ok(UserRef::Key(self.rewrite_upn(upn)));
            }
            MatchBy::Mail => {
                let mail = identity.mail.as_deref().filter(|mail| !mail.is_empty()).ok_or_else(|| {
                    NoIdentity(format!(
                        "the change for {} carries no mail (match_by = mail)",
                        request.account
                    ))
                })?;
                ("mail", mail.to_string())
            }
            MatchBy::SourceAnchor => {
                let guid = identity.object_guid.as_deref().ok_or_else(|| {
                    NoIdentity(format!(
                        "the change for {} carries no objectGUID (match_by = source-anchor)",
                        request.account
                    ))
                })?;
                let anchor = immutable_id(guid).ok_or_else(|| {
                    NoIdentity(format!("the objectGUID {guid:?} of {} is not a GUID", request.account))
                })?;
                ("onPremisesImmutableId", anchor)
            }
        };
        let cache_key = format!("{property}\u{0}{value}");
        if let Some(id) = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&cache_key) {
            return Ok(UserRef::Key(id.clone()));
        }
        // OData string literal: a quote is doubled.
        let filter = format!("{property} eq '{}'", value.replace('\'', "''"));
        Ok(UserRef::Lookup { filter, cache_key })
    }

    pub fn remember(&self, cache_key: &str, id: &str) {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(cache_key.to_string(), id.to_string());
    }

    /// Forgets what `id` was found for (Graph no longer knows it).
    pub fn forget_id(&self, id: &str) {
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).retain(|_, cached| cached != id);
    }

    fn rewrite_upn(&self, upn: &str) -> String {
        if let Some(rewrite) = &self.rewrite {
            let split = upn.len().checked_sub(rewrite.from.len()).filter(|&at| upn.is_char_boundary(at));
            if let Some(at) = split.filter(|&at| upn[at..].eq_ignore_ascii_case(&rewrite.from)) {
                return format!("{}{}", &upn[..at], rewrite.to);
            }
        }
        upn.to_string()
    }
}

/// `onPremisesImmutableId` for an objectGUID in its string form: base64 of the GUID's 16
/// bytes as Active Directory stores them (the first three groups little-endian).
pub fn immutable_id(guid: &str) -> Option<String> {
    let hex: String = guid.trim_matches(['{', '}']).split('-').collect();
    let groups: Vec<&str> = guid.trim_matches(['{', '}']).split('-').collect();
    if hex.len() != 32 || groups.len() != 5 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> =
        (0..16).map(|index| u8::from_str_radix(&hex[2 * index..2 * index + 2], 16).unwrap_or(0)).collect();
    let mut ordered = Vec::with_capacity(16);
    ordered.extend(bytes[0..4].iter().rev());
    ordered.extend(bytes[4..6].iter().rev());
    ordered.extend(bytes[6..8].iter().rev());
    ordered.extend(&bytes[8..16]);
    Some(base64::engine::general_purpose::STANDARD.encode(ordered))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pwsync_proto::{Identity, SecretString};

    fn request(identity: Identity) -> ApplyRequest {
        ApplyRequest {
            change_id: "0".into(),
            domain: "corp.local".into(),
            account: "alice".into(),
            identity,
            password: SecretString::new(String::new()),
            captured_at_ns: 0,
            origin: "test".into(),
        }
    }

    #[test]
    fn the_immutable_id_uses_active_directorys_byte_order() {
        assert_eq!(
            immutable_id("00112233-4455-6677-8899-aabbccddeeff").unwrap(),
            base64::engine::general_purpose::STANDARD.encode([
                0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
                0xff
            ])
        );
        assert_eq!(immutable_id("not-a-guid"), None);
    }

    #[test]
    fn the_upn_suffix_is_rewritten_case_insensitively() {
        let map = IdentityMap::new(
            MatchBy::UserPrincipalName,
            Some(SuffixRewrite { from: "@corp.local".into(), to: "@corp.com".into() }),
        );
        let identity =
            Identity { user_principal_name: Some("Alice@CORP.local".into()), ..Identity::default() };
        assert_eq!(map.resolve(&request(identity)).unwrap(), UserRef::Key("Alice@corp.com".into()));
        let identity = Identity { user_principal_name: Some("bob@other.org".into()), ..Identity::default() };
        assert_eq!(map.resolve(&request(identity)).unwrap(), UserRef::Key("bob@other.org".into()));
        assert!(map.resolve(&request(Identity::default())).is_err());
    }

    #[test]
    fn lookups_are_filters_until_cached() {
        let map = IdentityMap::new(MatchBy::Mail, None);
        let identity = Identity { mail: Some("o'brien@corp.com".into()), ..Identity::default() };
        let UserRef::Lookup { filter, cache_key } = map.resolve(&request(identity.clone())).unwrap() else {
            panic!()
        };
        assert_eq!(filter, "mail eq 'o''brien@corp.com'");
        map.remember(&cache_key, "id-1");
        assert_eq!(map.resolve(&request(identity.clone())).unwrap(), UserRef::Key("id-1".into()));
        map.forget_id("id-1");
        assert!(matches!(map.resolve(&request(identity)).unwrap(), UserRef::Lookup { .. }));
    }
}
