//! The `ldap` target: sets the password of the one directory entry that the configured search
//! finds for a change, by RFC 3062 Password Modify or (Active Directory) by replacing
//! `unicodePwd`.
//!
//! Exactly one entry must match: none or several is a permanent rejection naming the count, never
//! a guess. The password goes only into the one set-password operation; it is never logged, never
//! put into a reason unscrubbed, and the server is never asked to generate one.

mod config;
mod outcome;
mod ppolicy;
mod template;
mod unicode_pwd;

use std::collections::HashSet;

use ldap3::exop::PasswordModify;
use ldap3::{Ldap, Mod, Scope, SearchEntry};

use super::{ApplyFuture, ApplyRequest, ProbeFuture, Target, TargetOutcome};
use crate::redact::scrub;
use outcome::{classify, Classified, Step};
use pwsync_ldap::{Connector, Pool};
use template::SearchTemplate;

pub use config::{LdapConfig, LdapConfigError, LdapMode};

pub struct LdapTarget {
    name: String,
    mode: LdapMode,
    base_dn: String,
    template: SearchTemplate,
    skip_if_current: bool,
    concurrency: usize,
    pool: Pool,
}

impl LdapTarget {
    /// Checks the configuration and reads the CA and bind password files; contacts nothing
    /// (the directory may be down at start: changes then wait as transient).
    pub fn new(config: &LdapConfig) -> Result<LdapTarget, LdapConfigError> {
        config.check_values()?;
        let template = SearchTemplate::parse(&config.search_filter)?;
        let connector = Connector::new(&config.directory_settings())?;
        Ok(LdapTarget {
            name: config.name.clone(),
            mode: config.mode,
            base_dn: config.base_dn.clone(),
            template,
            skip_if_current: config.skip_if_current,
            concurrency: config.concurrency,
            pool: Pool::new(connector, config.concurrency),
        })
    }

    async fn run(&self, request: &ApplyRequest) -> TargetOutcome {
        let password = request.password.expose();
        let filter = match self.template.render(request) {
            Ok(filter) => filter,
            Err(error) => return TargetOutcome::Rejected { reason: error.to_string() },
        };
        let mut taken = match self.pool.take().await {
            Ok(taken) => taken,
            Err((step, error)) => return self.settle(classify(step.into(), &error, password), None),
        };
        let dn = loop {
            match self.find_entry(&mut taken.ldap, &filter, password).await {
                Ok(dn) => break dn,
                // An idle connection the directory closed meanwhile (a restart, an idle
                // timeout) says nothing about the directory now: try once on a new one. Only
                // the search is retried this way: the password has not been sent yet, so a
                // second attempt cannot meet its own first one (a history policy would refuse).
                Err(classified) if taken.reused && classified.connection_lost => {
                    taken = match self.pool.fresh().await {
                        Ok(taken) => taken,
                        Err((step, error)) => {
                            return self.settle(classify(step.into(), &error, password), None)
                        }
                    };
                }
                Err(classified) => return self.settle(classified, Some(taken.ldap)),
            }
        };
        match self.set_password(&mut taken.ldap, &dn, password).await {
            Ok(()) => {
                self.pool.give_back(taken.ldap);
                TargetOutcome::Applied
            }
            Err(classified) => self.settle(classified, Some(taken.ldap)),
        }
    }

    /// Binds and searches for the account of `request`, changing nothing: the DN it maps to.
    async fn lookup(&self, request: &ApplyRequest) -> Result<String, String> {
        let reason = |classified: Classified| match classified.outcome {
            TargetOutcome::Rejected { reason } | TargetOutcome::Transient { reason, .. } => reason,
            TargetOutcome::Applied => "unexpected answer".to_string(),
        };
        let filter = self.template.render(request).map_err(|error| error.to_string())?;
        let mut taken =
            self.pool.fresh().await.map_err(|(step, error)| reason(classify(step.into(), &error, "")))?;
        let dn = self.find_entry(&mut taken.ldap, &filter, "").await.map_err(reason)?;
        self.pool.give_back(taken.ldap);
        Ok(format!("{} maps to {dn} (search {filter} under {})", request.account, self.base_dn))
    }

    /// The DN of the one entry `filter` finds under the base DN.
    async fn find_entry(&self, ldap: &mut Ldap, filter: &str, password: &str) -> Result<String, Classified> {
        // "1.1": no attributes, only the DNs.
        let (entries, _) = ldap
            .with_timeout(self.pool.timeout())
            .search(&self.base_dn, Scope::Subtree, filter, vec!["1.1"])
            .await
            .and_then(|result| result.success())
            .map_err(|error| classify(Step::Search, &error, password))?;
        let mut entries: Vec<_> = entries.into_iter().filter(|entry| !entry.is_ref()).collect();
        match entries.len() {
            1 => Ok(SearchEntry::construct(entries.remove(0)).dn),
            count => Err(self.wrong_match_count(count, filter, password)),
        }
    }

    /// Sets the password of the entry `dn` (unless it is current and that is to be skipped).
    async fn set_password(&self, ldap: &mut Ldap, dn: &str, password: &str) -> Result<(), Classified> {
        let timeout = self.pool.timeout();
        if self.skip_if_current && self.pool.connector().accepts(dn, password).await {
            tracing::debug!(target_name = %self.name, "the directory already accepts the new password");
            return Ok(());
        }
        let answer = match self.mode {
            LdapMode::PasswordModify => {
                // new_pass is always given: a server-generated password is never wanted (and
                // ldap3 panics on a non-UTF-8 one), so the response is not parsed either.
                let request = PasswordModify { user_id: Some(dn), old_pass: None, new_pass: Some(password) };
                ldap.with_timeout(timeout)
                    .with_controls(ppolicy::request_control())
                    .extended(request)
                    .await
                    .and_then(|result| result.success())
                    .map(drop)
            }
            LdapMode::ActiveDirectory => {
                let value = unicode_pwd::encode(password);
                let replace = Mod::Replace(&b"unicodePwd"[..], HashSet::from([&value[..]]));
                ldap.with_timeout(timeout)
                    .modify(dn, vec![replace])
                    .await
                    .and_then(|result| result.success())
                    .map(drop)
            }
        };
        answer.map_err(|error| classify(Step::SetPassword, &error, password))
    }

    fn wrong_match_count(&self, count: usize, filter: &str, password: &str) -> Classified {
        let reason = if count == 0 {
            format!("not found: no entry under {} matches {filter}", self.base_dn)
        } else {
            format!("{count} entries under {} match {filter}; exactly one is required", self.base_dn)
        };
        Classified {
            outcome: TargetOutcome::Rejected { reason: scrub(&reason, password) },
            configuration_error: false,
            connection_reusable: true,
            connection_lost: false,
        }
    }

    /// Logs what an operator must see, keeps a connection that still works, returns the outcome.
    fn settle(&self, classified: Classified, ldap: Option<Ldap>) -> TargetOutcome {
        if classified.configuration_error {
            let reason = match &classified.outcome {
                TargetOutcome::Transient { reason, .. } | TargetOutcome::Rejected { reason } => {
                    reason.as_str()
                }
                TargetOutcome::Applied => "",
            };
            tracing::error!(target_name = %self.name, %reason,
                "configuration error of the LDAP target: every change waits until it is fixed");
        }
        if let Some(ldap) = ldap.filter(|_| classified.connection_reusable) {
            self.pool.give_back(ldap);
        }
        classified.outcome
    }
}

impl Target for LdapTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn apply<'a>(&'a self, request: &'a ApplyRequest) -> ApplyFuture<'a> {
        Box::pin(self.run(request))
    }

    fn probe<'a>(&'a self, request: &'a ApplyRequest) -> ProbeFuture<'a> {
        Box::pin(self.lookup(request))
    }
}
