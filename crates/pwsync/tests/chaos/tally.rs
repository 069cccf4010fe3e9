//! What the storm did: faults injected by kind, faults that could not be injected on this
//! machine (and why), and what the storm noticed on the way (processes that died by
//! themselves, refused captures outside a spool fault).
//!
//! Must never hold a password: kinds, counts and process notes only.

use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct Tally {
    pub injected: BTreeMap<&'static str, u64>,
    /// Fault kinds this machine cannot inject, with the reason (reported loudly, not failed).
    pub skipped: BTreeMap<&'static str, String>,
    /// Things the storm saw happen that are not faults it injected (refused captures, hooks
    /// that finished before their SIGKILL landed).
    pub observed: BTreeMap<&'static str, u64>,
    pub notes: Vec<String>,
}

impl Tally {
    pub fn count(&mut self, kind: &'static str) {
        *self.injected.entry(kind).or_default() += 1;
    }

    pub fn observe(&mut self, what: &'static str) {
        *self.observed.entry(what).or_default() += 1;
    }

    pub fn skip(&mut self, kind: &'static str, reason: &str) {
        self.skipped.entry(kind).or_insert_with(|| reason.to_string());
    }

    pub fn total(&self) -> u64 {
        self.injected.values().sum()
    }
}
