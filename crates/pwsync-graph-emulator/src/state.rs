//! The emulated tenant's live state, shared by every handler: registrations, users, issued
//! tokens, write budget, faults and counters.
//!
//! Must never hold a password in clear (see `directory`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

use crate::access_token::TokenStore;
use crate::config::EmulatorConfig;
use crate::directory::Directory;
use crate::faults::Faults;
use crate::registration::{AppRegistration, RegisteredCertificate, RegistrationError};
use crate::throttle::Throttle;

/// A registration with its certificate parsed once.
#[derive(Debug, Clone)]
pub struct App {
    pub registration: AppRegistration,
    pub certificate: Option<RegisteredCertificate>,
    pub role_ids: Vec<String>,
}

#[derive(Debug)]
pub struct Tenant {
    pub tenant_id: String,
    pub tenant_domain: Option<String>,
    pub apps: Vec<App>,
    pub directory: Mutex<Directory>,
    pub tokens: TokenStore,
    pub throttle: Throttle,
    pub faults: Faults,
    pub stats: Stats,
}

impl Tenant {
    pub fn new(config: &EmulatorConfig) -> Result<Tenant, RegistrationError> {
        let apps = config
            .apps
            .iter()
            .map(|registration| {
                registration.check()?;
                Ok(App {
                    registration: registration.clone(),
                    certificate: registration.certificate()?,
                    role_ids: registration.role_ids()?,
                })
            })
            .collect::<Result<Vec<_>, RegistrationError>>()?;
        Ok(Tenant {
            tenant_id: config.tenant_id.clone(),
            tenant_domain: config.tenant_domain.clone(),
            apps,
            directory: Mutex::new(Directory::new(&config.users)),
            tokens: TokenStore::new(std::time::Duration::from_secs(config.token_lifetime_s)),
            throttle: Throttle::new(config.budget),
            faults: Faults::default(),
            stats: Stats::default(),
        })
    }

    /// Whether `tenant` (from the token URL) names this tenant: its id or its domain.
    pub fn is_this_tenant(&self, tenant: &str) -> bool {
        tenant.eq_ignore_ascii_case(&self.tenant_id)
            || self.tenant_domain.as_deref().is_some_and(|domain| tenant.eq_ignore_ascii_case(domain))
    }

    pub fn app(&self, client_id: &str) -> Option<&App> {
        self.apps.iter().find(|app| app.registration.client_id.eq_ignore_ascii_case(client_id))
    }

    pub fn directory(&self) -> MutexGuard<'_, Directory> {
        self.directory.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Counters a test or benchmark reads (also served as JSON by the control API).
#[derive(Debug, Default)]
pub struct Stats {
    pub token_requests: AtomicU64,
    pub tokens_issued: AtomicU64,
    pub token_refusals: AtomicU64,
    pub lookups: AtomicU64,
    pub writes_received: AtomicU64,
    pub passwords_set: AtomicU64,
    pub throttled: AtomicU64,
    pub unauthorized: AtomicU64,
    pub dropped: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StatsSnapshot {
    pub token_requests: u64,
    pub tokens_issued: u64,
    pub token_refusals: u64,
    pub lookups: u64,
    pub writes_received: u64,
    pub passwords_set: u64,
    pub throttled: u64,
    pub unauthorized: u64,
    pub dropped: u64,
}

impl Stats {
    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StatsSnapshot {
            token_requests: read(&self.token_requests),
            tokens_issued: read(&self.tokens_issued),
            token_refusals: read(&self.token_refusals),
            lookups: read(&self.lookups),
            writes_received: read(&self.writes_received),
            passwords_set: read(&self.passwords_set),
            throttled: read(&self.throttled),
            unauthorized: read(&self.unauthorized),
            dropped: read(&self.dropped),
        }
    }
}
