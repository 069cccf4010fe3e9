//! Pacing of one Graph target, shared by all its requests: writes are spaced to stay just
//! under the write budget (a share of it, evenly, never in bursts); a 429 pauses the whole
//! target for exactly its `Retry-After` and slows the pace (once per pause, however many
//! requests were caught in it); the pace grows back slowly, and not at all while Graph reports
//! the budget nearly used (`x-ms-throttle-limit-percentage`); and the number of requests in
//! flight adapts (halved when the service pushes back, grown by one per window of successes).
//! So a mass reset runs just under the service's limits instead of into them, even when the
//! real budget is smaller than the configured one (another application shares it).
//!
//! Must never let a request through while the target is paused.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The pace never slows below this share of the configured one, however many 429s come.
const SLOWEST_SHARE: f64 = 0.25;
/// How much a 429 slows the pace (the rate times 0.85), and how fast successes bring it back
/// (0.05% per success: about 10% per 200 writes).
const SLOW_DOWN: f64 = 1.0 / 0.85;
const SPEED_UP: f64 = 1.0 / 1.0005;
/// No speeding up while Graph reports this share of the budget used, or more.
const HOLD_AT_LIMIT_USED: f64 = 0.95;
/// Backoff when a 429 carries no `Retry-After`: doubles per consecutive 429, up to a minute.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const LONGEST_BACKOFF: Duration = Duration::from_secs(60);

/// How a request ended, as far as pacing is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// The service answered normally (any status but 429 and 5xx), with the share of the
    /// budget in use when it said (`x-ms-throttle-limit-percentage`, sent above 0.8).
    Answered { limit_used: Option<f64> },
    /// 429: pause the target for this long.
    Throttled { retry_after: Duration },
    /// 5xx or no answer: the service is struggling; fewer requests in flight.
    Overloaded,
}

struct State {
    /// Time between two writes now; `fastest_interval` or slower.
    interval: Duration,
    next_write: Instant,
    paused_until: Instant,
    consecutive_throttles: u32,
    /// The adaptive in-flight limit (fractional, so that it can grow by 1/limit per success).
    limit: f64,
    in_flight: usize,
}

pub struct Pacer {
    fastest_interval: Duration,
    max_in_flight: usize,
    state: Mutex<State>,
    changed: Notify,
}

/// A slot in flight; give it back with [`Pacer::finish`] (dropping it also frees the slot).
pub struct Slot<'a> {
    pacer: &'a Pacer,
    finished: bool,
}

impl Pacer {
    /// `writes` per `window`, of which `share` is used; at most `max_in_flight` at once.
    pub fn new(writes: u32, window: Duration, share: f64, max_in_flight: usize) -> Pacer {
        let per_second = f64::from(writes) * share / window.as_secs_f64();
        let fastest_interval = Duration::from_secs_f64(1.0 / per_second);
        let now = Instant::now();
        Pacer {
            fastest_interval,
            max_in_flight,
            state: Mutex::new(State {
                interval: fastest_interval,
                next_write: now,
                paused_until: now,
                consecutive_throttles: 0,
                limit: max_in_flight as f64,
                in_flight: 0,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a slot in flight and for the end of any pause; a write also waits for its
    /// turn in the pace.
    pub async fn acquire(&self, write: bool) -> Slot<'_> {
        loop {
            let notified = self.changed.notified();
            {
                let mut state = self.lock();
                if (state.in_flight as f64) < state.limit.floor().max(1.0) {
                    state.in_flight += 1;
                    break;
                }
            }
            notified.await;
        }
        let slot = Slot { pacer: self, finished: false };
        loop {
            let turn = {
                let mut state = self.lock();
                let now = Instant::now();
                if state.paused_until > now {
                    Err(state.paused_until)
                } else if write {
                    let turn = state.next_write.max(now);
                    state.next_write = turn + state.interval;
                    Ok(turn)
                } else {
                    Ok(now)
                }
            };
            match turn {
                Err(paused_until) => tokio::time::sleep_until(paused_until).await,
                Ok(turn) => {
                    tokio::time::sleep_until(turn).await;
                    // A 429 may have come in while this request waited for its turn.
                    if self.lock().paused_until <= Instant::now() {
                        return slot;
                    }
                }
            }
        }
    }

    /// Records how the request of `slot` ended and frees the slot.
    pub fn finish(&self, mut slot: Slot<'_>, signal: Signal) -> Option<Duration> {
        slot.finished = true;
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        let mut pause = None;
        match signal {
            Signal::Answered { limit_used } => {
                state.consecutive_throttles = 0;
                state.limit = (state.limit + 1.0 / state.limit).min(self.max_in_flight as f64);
                if limit_used.is_none_or(|used| used < HOLD_AT_LIMIT_USED) {
                    let faster = state.interval.mul_f64(SPEED_UP);
                    state.interval = faster.max(self.fastest_interval);
                }
            }
            Signal::Throttled { retry_after } => {
                state.consecutive_throttles += 1;
                // Requests sent before the pause began say nothing new: slow down once per pause.
                let new_episode = state.paused_until <= Instant::now();
                let wait = if retry_after.is_zero() {
                    let doubling = 2u32.saturating_pow(state.consecutive_throttles.saturating_sub(1).min(16));
                    FIRST_BACKOFF.saturating_mul(doubling).min(LONGEST_BACKOFF)
                } else {
                    retry_after
                };
                let until = Instant::now() + wait;
                state.paused_until = state.paused_until.max(until);
                state.next_write = state.next_write.max(until);
                if new_episode {
                    state.limit = (state.limit / 2.0).max(1.0);
                    let slower = state.interval.mul_f64(SLOW_DOWN);
                    state.interval = slower.min(self.fastest_interval.div_f64(SLOWEST_SHARE));
                }
                pause = Some(wait);
            }
            Signal::Overloaded => {
                state.limit = (state.limit / 2.0).max(1.0);
            }
        }
        drop(state);
        self.changed.notify_waiters();
        pause
    }

    /// The current in-flight limit and writes per second, for logs and tests.
    pub fn current(&self) -> (usize, f64) {
        let state = self.lock();
        (state.limit.floor() as usize, 1.0 / state.interval.as_secs_f64())
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let mut state = self.pacer.lock();
            state.in_flight = state.in_flight.saturating_sub(1);
            drop(state);
            self.pacer.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn writes_are_spaced_to_the_share_of_the_budget() {
        let pacer = Pacer::new(200, Duration::from_secs(10), 1.0, 4);
        let start = Instant::now();
        for _ in 0..21 {
            let slot = pacer.acquire(true).await;
            pacer.finish(slot, Signal::Answered { limit_used: None });
        }
        // 20 per second: the 21st write goes at 1 s, not before.
        assert_eq!(Instant::now() - start, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_request_for_exactly_retry_after() {
        let pacer = Pacer::new(1000, Duration::from_secs(1), 1.0, 4);
        let slot = pacer.acquire(true).await;
        let start = Instant::now();
        assert_eq!(
            pacer.finish(slot, Signal::Throttled { retry_after: Duration::from_secs(7) }),
            Some(Duration::from_secs(7))
        );
        // Reads wait as well: the whole target is paused.
        let slot = pacer.acquire(false).await;
        assert_eq!(Instant::now() - start, Duration::from_secs(7));
        pacer.finish(slot, Signal::Answered { limit_used: None });
        assert!(pacer.current().1 < 1000.0, "the pace slowed down");
    }

    #[tokio::test(start_paused = true)]
    async fn requests_caught_in_one_pause_slow_the_pace_once_and_a_full_budget_holds_it() {
        let pacer = Pacer::new(100, Duration::from_secs(1), 1.0, 4);
        let (first, second) = (pacer.acquire(true).await, pacer.acquire(true).await);
        pacer.finish(first, Signal::Throttled { retry_after: Duration::from_secs(1) });
        pacer.finish(second, Signal::Throttled { retry_after: Duration::from_secs(1) });
        let slowed = pacer.current().1;
        assert!((slowed - 85.0).abs() < 0.01, "{slowed}");
        for _ in 0..50 {
            let slot = pacer.acquire(true).await;
            pacer.finish(slot, Signal::Answered { limit_used: Some(0.97) });
        }
        assert!((pacer.current().1 - slowed).abs() < 0.01, "held while the budget is nearly used");
        for _ in 0..50 {
            let slot = pacer.acquire(true).await;
            pacer.finish(slot, Signal::Answered { limit_used: None });
        }
        assert!(pacer.current().1 > slowed, "grows back when Graph does not warn");
    }

    #[tokio::test(start_paused = true)]
    async fn the_in_flight_limit_halves_under_pressure_and_grows_back() {
        let pacer = Pacer::new(1000, Duration::from_secs(1), 1.0, 8);
        let slot = pacer.acquire(false).await;
        pacer.finish(slot, Signal::Overloaded);
        assert_eq!(pacer.current().0, 4);
        for _ in 0..40 {
            let slot = pacer.acquire(false).await;
            pacer.finish(slot, Signal::Answered { limit_used: None });
        }
        assert_eq!(pacer.current().0, 8);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_without_retry_after_backs_off_exponentially() {
        let pacer = Pacer::new(1000, Duration::from_secs(1), 1.0, 2);
        let mut waits = Vec::new();
        for _ in 0..3 {
            let slot = pacer.acquire(true).await;
            waits.push(pacer.finish(slot, Signal::Throttled { retry_after: Duration::ZERO }).unwrap());
        }
        assert_eq!(waits, [Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)]);
    }
}
