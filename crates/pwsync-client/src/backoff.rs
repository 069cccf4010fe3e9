//! When to try a record again: exponential back-off with jitter, capped, and never sooner than
//! the server asked.
//!
//! The schedule lives in memory only: after a restart every pending record is tried at once,
//! which is what a restart is for. It must never decide to give up on a record.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub struct Backoff {
    initial: Duration,
    max: Duration,
    records: HashMap<String, (u32, Instant)>,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max, records: HashMap::new() }
    }

    /// The delay before attempt number `attempts + 1`, with ±25% jitter so that many clients
    /// coming back after an outage do not arrive in step.
    pub fn delay(&self, attempts: u32) -> Duration {
        let exponential = self.initial.saturating_mul(1u32 << attempts.min(20)).min(self.max);
        let jitter = 0.75 + rand::random::<f64>() * 0.5;
        exponential.mul_f64(jitter).min(self.max)
    }

    /// Schedules the next attempt of `name`, at least `at_least` from now.
    pub fn failed(&mut self, name: &str, at_least: Duration) -> Duration {
        let attempts = self.records.get(name).map(|(attempts, _)| *attempts).unwrap_or(0);
        let wait = self.delay(attempts).max(at_least);
        self.records.insert(name.to_string(), (attempts + 1, Instant::now() + wait));
        wait
    }

    pub fn succeeded(&mut self, name: &str) {
        self.records.remove(name);
    }

    pub fn is_due(&self, name: &str, now: Instant) -> bool {
        self.records.get(name).is_none_or(|(_, due)| *due <= now)
    }

    /// The earliest scheduled retry, if any.
    pub fn next_due(&self) -> Option<Instant> {
        self.records.values().map(|(_, due)| *due).min()
    }

    /// Forgets records that are no longer in the spool.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.records.retain(|name, _| keep(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_is_capped() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        assert!(backoff.delay(0) <= Duration::from_millis(125));
        assert!(backoff.delay(3) >= Duration::from_millis(600));
        assert!(backoff.delay(30) <= Duration::from_secs(2));
    }

    #[test]
    fn honours_the_servers_wait_and_forgets_on_success() {
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(60));
        let wait = backoff.failed("r1", Duration::from_secs(7));
        assert!(wait >= Duration::from_secs(7));
        assert!(!backoff.is_due("r1", Instant::now()));
        backoff.succeeded("r1");
        assert!(backoff.is_due("r1", Instant::now()));
        assert!(backoff.next_due().is_none());
    }
}
