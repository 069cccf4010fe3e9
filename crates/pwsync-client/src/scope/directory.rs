//! The directory scope: an account is forwarded when the directory (the DC the client runs on)
//! finds exactly one entry for it that also matches the configured filter.
//!
//! The query is `(&(<account_attribute>=<account>)<filter>)` with the account escaped per
//! RFC 4515, so a name holding `*`, `(`, `)`, `\` can only ever match itself: no account name
//! can widen the scope. The entry's identity attributes (UPN, objectGUID, mail, DN) travel
//! with the change; `pwdLastSet`, `whenChanged` and `msDS-KeyVersionNumber` confirm commits of
//! pre-commit captures.
//! A directory that cannot be asked answers `Unavailable`, never "out of scope".

use ldap3::{Ldap, LdapError, Scope as SearchScope, SearchEntry};
use pwsync_ldap::{Connector, DirectoryConfigError, Pool};
use pwsync_proto::Identity;
use pwsync_seal::Change;

use super::attributes::{filetime_ns, generalized_time_ns, guid_text};
use super::{CommitEvidence, Scope, ScopeDecision, ScopeFuture};
use crate::config::LdapScopeConfig;

const ATTRIBUTES: [&str; 6] =
    ["userPrincipalName", "objectGUID", "mail", "pwdLastSet", "whenChanged", "msDS-KeyVersionNumber"];

/// Idle connections kept: one per lane is enough for one scope check at a time each.
const IDLE_CONNECTIONS: usize = 2;

pub struct DirectoryScope {
    pool: Pool,
    url: String,
    base_dn: String,
    filter: String,
    account_attribute: String,
}

/// What `pwsync client test-scope` shows.
#[derive(Debug)]
pub struct ScopeTest {
    pub url: String,
    pub base_dn: String,
    pub query: String,
    pub decision: ScopeDecision,
    /// When out of scope: the account's entry if it exists without the filter.
    pub entry_outside_filter: Option<String>,
}

impl DirectoryScope {
    /// Checks the configuration and reads the CA and bind password files; contacts nothing
    /// (the directory may be down at start: changes then wait).
    pub fn new(config: &LdapScopeConfig) -> Result<DirectoryScope, DirectoryConfigError> {
        let connector = Connector::new(&config.directory_settings())?;
        let filter = config.filter.trim();
        // ldap3 accepts a bare `attr=value`; inside the AND it needs its parentheses.
        let filter = if filter.starts_with('(') { filter.to_string() } else { format!("({filter})") };
        Ok(DirectoryScope {
            url: connector.url().to_string(),
            pool: Pool::new(connector, IDLE_CONNECTIONS),
            base_dn: config.base_dn.clone(),
            filter,
            account_attribute: config.account_attribute.clone(),
        })
    }

    /// The filter that decides about `account`.
    pub fn query_for(&self, account: &str) -> String {
        format!("(&({}={}){})", self.account_attribute, ldap3::ldap_escape(account), self.filter)
    }

    /// Asks the directory and says how it decided, changing nothing.
    pub async fn test(&self, account: &str, upn: Option<String>) -> ScopeTest {
        let query = self.query_for(account);
        let decision = self.decide(account, upn).await;
        let entry_outside_filter = if matches!(decision, ScopeDecision::OutOfScope { .. }) {
            let alone = format!("({}={})", self.account_attribute, ldap3::ldap_escape(account));
            self.search(&alone, vec!["1.1"])
                .await
                .ok()
                .and_then(|entries| entries.into_iter().next())
                .map(|entry| entry.dn)
        } else {
            None
        };
        ScopeTest {
            url: self.url.clone(),
            base_dn: self.base_dn.clone(),
            query,
            decision,
            entry_outside_filter,
        }
    }

    async fn decide(&self, account: &str, hook_upn: Option<String>) -> ScopeDecision {
        let query = self.query_for(account);
        let entries = match self.search(&query, ATTRIBUTES.to_vec()).await {
            Ok(entries) => entries,
            Err(reason) => return ScopeDecision::Unavailable { reason },
        };
        match entries.len() {
            0 => ScopeDecision::OutOfScope {
                reason: format!("no entry under {} matches {query}", self.base_dn),
            },
            1 => {
                let entry = entries.into_iter().next().expect("one entry");
                let text = |name: &str| entry.attrs.get(name).and_then(|values| values.first()).cloned();
                let guid = entry
                    .bin_attrs
                    .get("objectGUID")
                    .and_then(|values| values.first())
                    .cloned()
                    .or_else(|| text("objectGUID").map(String::into_bytes))
                    .and_then(|bytes| guid_text(&bytes));
                let identity = Identity {
                    user_principal_name: text("userPrincipalName").or(hook_upn),
                    mail: text("mail"),
                    object_guid: guid,
                    distinguished_name: Some(entry.dn.clone()),
                };
                let evidence = CommitEvidence {
                    password_last_set_ns: text("pwdLastSet").as_deref().and_then(filetime_ns),
                    when_changed_ns: text("whenChanged").as_deref().and_then(generalized_time_ns),
                    key_version: text("msDS-KeyVersionNumber").and_then(|value| value.trim().parse().ok()),
                };
                ScopeDecision::InScope { identity, evidence: Some(evidence) }
            }
            // Not a decision this client may take alone: keep the change and say why loudly.
            count => ScopeDecision::Unavailable {
                reason: format!(
                    "{count} entries under {} match {query}: account_attribute must identify one account",
                    self.base_dn
                ),
            },
        }
    }

    /// Entries (not referrals) `filter` finds under the base DN. A connection the directory
    /// closed meanwhile (a restart) is replaced once.
    async fn search(&self, filter: &str, attributes: Vec<&str>) -> Result<Vec<SearchEntry>, String> {
        let mut taken =
            self.pool.take().await.map_err(|(phase, error)| describe(phase_name(phase), &error))?;
        let result = loop {
            match search_on(&mut taken.ldap, &self.base_dn, filter, &attributes, self.pool.timeout()).await {
                Err(error) if taken.reused && is_connection_lost(&error) => {
                    taken = self
                        .pool
                        .fresh()
                        .await
                        .map_err(|(phase, error)| describe(phase_name(phase), &error))?;
                }
                other => break other,
            }
        };
        match result {
            Ok(entries) => {
                self.pool.give_back(taken.ldap);
                Ok(entries)
            }
            Err(error) => Err(describe("searching", &error)),
        }
    }
}

async fn search_on(
    ldap: &mut Ldap,
    base_dn: &str,
    filter: &str,
    attributes: &[&str],
    timeout: std::time::Duration,
) -> Result<Vec<SearchEntry>, LdapError> {
    let (entries, _) = ldap
        .with_timeout(timeout)
        .search(base_dn, SearchScope::Subtree, filter, attributes.to_vec())
        .await
        .and_then(|result| result.success())?;
    Ok(entries.into_iter().filter(|entry| !entry.is_ref()).map(SearchEntry::construct).collect())
}

fn is_connection_lost(error: &LdapError) -> bool {
    !matches!(error, LdapError::LdapResult { .. })
}

fn phase_name(phase: pwsync_ldap::ConnectPhase) -> &'static str {
    match phase {
        pwsync_ldap::ConnectPhase::Connect => "connecting to the directory",
        pwsync_ldap::ConnectPhase::Bind => "binding as bind_dn",
    }
}

fn describe(step: &str, error: &LdapError) -> String {
    format!("{step}: {error}")
}

impl Scope for DirectoryScope {
    fn check<'a>(&'a self, change: &'a Change) -> ScopeFuture<'a> {
        Box::pin(self.decide(&change.account, change.upn.clone()))
    }

    fn describe(&self) -> String {
        format!("accounts matching {} under {} at {}", self.filter, self.base_dn, self.url)
    }
}
