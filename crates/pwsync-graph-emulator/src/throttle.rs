//! The write budget of one application in the tenant: a sliding window of accepted writes.
//! A write over the budget is answered 429 with `Retry-After` (whole seconds until the oldest
//! write leaves the window) and the throttle headers Graph documents.
//!
//! Must never count a refused write against the budget: only accepted writes use it up.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::WriteBudget;

/// The verdict for one write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    /// Accepted; `used` is the fraction of the budget in use after it (0.0–1.0).
    Accepted {
        used: f64,
    },
    Throttled {
        retry_after: Duration,
    },
}

#[derive(Debug)]
pub struct Throttle {
    budget: Mutex<WriteBudget>,
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    pub fn new(budget: WriteBudget) -> Throttle {
        Throttle { budget: Mutex::new(budget), windows: Mutex::new(HashMap::new()) }
    }

    pub fn set_budget(&self, budget: WriteBudget) {
        *self.budget.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = budget;
    }

    pub fn budget(&self) -> WriteBudget {
        *self.budget.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits or throttles one write of application `client_id`.
    pub fn admit(&self, client_id: &str) -> Admission {
        let budget = self.budget();
        let window = budget.window();
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let accepted = windows.entry(client_id.to_string()).or_default();
        while accepted.front().is_some_and(|&at| now.duration_since(at) >= window) {
            accepted.pop_front();
        }
        if accepted.len() >= budget.writes as usize {
            let oldest = *accepted.front().expect("a full window is not empty");
            let free_in = window.saturating_sub(now.duration_since(oldest));
            // Whole seconds, rounded up: waiting that long always finds room.
            let seconds = free_in.as_secs() + u64::from(free_in.subsec_nanos() > 0);
            return Admission::Throttled { retry_after: Duration::from_secs(seconds.max(1)) };
        }
        accepted.push_back(now);
        Admission::Accepted { used: accepted.len() as f64 / f64::from(budget.writes) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_per_app_and_refusals_do_not_count() {
        let throttle = Throttle::new(WriteBudget { writes: 2, window_s: 10 });
        assert!(matches!(throttle.admit("a"), Admission::Accepted { .. }));
        assert_eq!(throttle.admit("a"), Admission::Accepted { used: 1.0 });
        let Admission::Throttled { retry_after } = throttle.admit("a") else { panic!("over budget") };
        assert_eq!(retry_after, Duration::from_secs(10));
        assert!(matches!(throttle.admit("a"), Admission::Throttled { .. }));
        assert!(matches!(throttle.admit("b"), Admission::Accepted { .. }));
    }
}
