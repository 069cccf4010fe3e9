//! The emulated tenant's users: what Graph knows of each account, and the one thing the
//! emulator records of a password set through it (a SHA-256 digest, for tests to compare).
//!
//! Must never keep a password in clear: only its digest and how often it was set.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One user of the tenant, as the users file describes it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryUser {
    /// The object id (a GUID); made up from the UPN when absent.
    #[serde(default)]
    pub id: Option<String>,
    pub user_principal_name: String,
    #[serde(default)]
    pub mail: Option<String>,
    /// The source anchor of a synced account: base64 of the on-premises objectGUID.
    #[serde(default)]
    pub on_premises_immutable_id: Option<String>,
    /// Mastered on premises by directory sync: Graph refuses to set its password.
    #[serde(default)]
    pub on_premises_sync_enabled: bool,
    /// Holds an administrator role: only a Privileged Authentication Administrator (or a
    /// Global Administrator) may reset its password.
    #[serde(default)]
    pub privileged: bool,
}

/// What the emulator remembers of the passwords set for one user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PasswordRecord {
    /// Hex SHA-256 of the last password set, if any.
    pub sha256: Option<String>,
    pub times_set: u64,
    pub force_change_next_sign_in: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct StoredUser {
    pub user: DirectoryUser,
    pub id: String,
    pub password: PasswordRecord,
}

/// The users of the tenant, found by object id or userPrincipalName (case-insensitive).
#[derive(Debug, Default)]
pub struct Directory {
    users: Vec<StoredUser>,
    by_key: HashMap<String, usize>,
}

impl Directory {
    pub fn new(users: &[DirectoryUser]) -> Directory {
        let mut directory = Directory::default();
        for user in users {
            directory.add(user.clone());
        }
        directory
    }

    /// Adds (or replaces, by UPN) a user: the test's way to model directory-sync lag.
    pub fn add(&mut self, user: DirectoryUser) {
        let id = user.id.clone().unwrap_or_else(|| object_id_for(&user.user_principal_name));
        if let Some(&index) = self.by_key.get(&user.user_principal_name.to_lowercase()) {
            self.users[index].user = user;
            return;
        }
        let index = self.users.len();
        self.by_key.insert(id.to_lowercase(), index);
        self.by_key.insert(user.user_principal_name.to_lowercase(), index);
        self.users.push(StoredUser { user, id, password: PasswordRecord::default() });
    }

    /// The user named by `key`: an object id or a userPrincipalName, as in `/users/{key}`.
    pub fn find(&self, key: &str) -> Option<&StoredUser> {
        self.by_key.get(&key.to_lowercase()).map(|&index| &self.users[index])
    }

    pub fn find_mut(&mut self, key: &str) -> Option<&mut StoredUser> {
        self.by_key.get(&key.to_lowercase()).map(|&index| &mut self.users[index])
    }

    pub fn all(&self) -> impl Iterator<Item = &StoredUser> {
        self.users.iter()
    }
}

impl StoredUser {
    pub fn record_password(&mut self, password: &str, force_change: bool) {
        self.password.sha256 = Some(password_digest(password));
        self.password.times_set += 1;
        self.password.force_change_next_sign_in = Some(force_change);
    }

    /// The user as Graph returns it, with only the `select`ed properties (all when empty).
    pub fn to_json(&self, select: &[String]) -> serde_json::Value {
        let all = serde_json::json!({
            "id": self.id,
            "userPrincipalName": self.user.user_principal_name,
            "mail": self.user.mail,
            "onPremisesImmutableId": self.user.on_premises_immutable_id,
            "onPremisesSyncEnabled": if self.user.on_premises_sync_enabled { Some(true) } else { None },
        });
        if select.is_empty() {
            return all;
        }
        let mut picked = serde_json::Map::new();
        for name in select {
            if let Some(value) = all.get(name.as_str()) {
                picked.insert(name.clone(), value.clone());
            }
        }
        serde_json::Value::Object(picked)
    }
}

/// Hex SHA-256 of a password: what tests compare against.
pub fn password_digest(password: &str) -> String {
    Sha256::digest(password.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A stable GUID-shaped object id derived from the UPN, so that a users file needs no ids.
fn object_id_for(upn: &str) -> String {
    let digest = Sha256::digest(upn.to_lowercase().as_bytes());
    let hex: String = digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}
