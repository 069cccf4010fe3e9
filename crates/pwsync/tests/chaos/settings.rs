//! What a run of the fault-injection test is: its seed and how long the storm lasts, from
//! `PWSYNC_CHAOS_SEED` and `PWSYNC_CHAOS_SECONDS`, and the stretch lengths derived from them.
//!
//! Must never pick a seed without printing it: a failure is only useful if it can be replayed.

use std::time::Duration;

/// The storm length when `PWSYNC_CHAOS_SECONDS` is not set: what `cargo test` (and CI) runs.
/// With setup and settling the whole test stays under 150 s on a 2-core machine.
pub const CI_STORM_SECONDS: u64 = 60;

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub seed: u64,
    pub storm: Duration,
}

impl Settings {
    pub fn from_env() -> Settings {
        let seed = match std::env::var("PWSYNC_CHAOS_SEED") {
            Ok(text) => text
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("PWSYNC_CHAOS_SEED must be a u64, not {text:?}")),
            Err(_) => rand::random(),
        };
        let seconds = match std::env::var("PWSYNC_CHAOS_SECONDS") {
            Ok(text) => text
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("PWSYNC_CHAOS_SECONDS must be a number, not {text:?}")),
            Err(_) => CI_STORM_SECONDS,
        };
        assert!(seconds >= 10, "PWSYNC_CHAOS_SECONDS must be at least 10");
        Settings { seed, storm: Duration::from_secs(seconds) }
    }

    /// How long the server stays down in one "server down" stretch: minutes in a long run,
    /// scaled down to a few seconds in the CI budget.
    pub fn server_down_range(&self) -> (Duration, Duration) {
        let storm = self.storm.as_secs();
        let longest = (storm / 5).clamp(6, 180);
        (Duration::from_secs(longest / 2), Duration::from_secs(longest))
    }

    /// The command that replays this run.
    pub fn replay_command(&self) -> String {
        format!(
            "PWSYNC_CHAOS_SEED={} PWSYNC_CHAOS_SECONDS={} cargo test -p pwsync --test chaos -- --nocapture",
            self.seed,
            self.storm.as_secs()
        )
    }
}
