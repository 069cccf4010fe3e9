//! Fault injection: what a test (in-process through [`Faults`], or over HTTP through the
//! control API) asks the emulator to do wrong — latency, chosen error answers for the next
//! writes, dropped connections, echoing the password in error messages, revoked tokens.
//!
//! Faults change only how the emulator answers; they never bypass its checks.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One error answer queued for a coming write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub struct InjectedFailure {
    /// 409, 412, 500, 503 or 504 (any status works; these have Graph's codes and messages).
    pub status: u16,
    /// A `Retry-After` header (seconds) on the answer.
    #[serde(default)]
    pub retry_after_s: Option<u64>,
}

/// What the control API accepts; every field is optional and only given ones change.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultUpdate {
    pub latency_ms: Option<u64>,
    /// Appended to the queue of failures for the next writes.
    #[serde(default)]
    pub fail_writes: Vec<InjectedFailure>,
    /// Close this many coming connections' requests without an answer.
    pub drop_requests: Option<u32>,
    /// Put the received password into error messages (a badly behaved service).
    pub echo_password: Option<bool>,
    /// Invalidate every access token issued so far (as a revocation or key roll-over would).
    #[serde(default)]
    pub revoke_tokens: bool,
    /// Lifetime of tokens issued from now on.
    pub token_lifetime_s: Option<u64>,
}

#[derive(Debug, Default)]
struct FaultState {
    latency: Duration,
    fail_writes: VecDeque<InjectedFailure>,
    drop_requests: u32,
    echo_password: bool,
}

/// The faults in force; shared by the handlers and whoever controls the emulator.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<FaultState>,
}

impl Faults {
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    pub fn latency(&self) -> Duration {
        self.lock().latency
    }

    pub fn fail_next_writes(&self, failures: impl IntoIterator<Item = InjectedFailure>) {
        self.lock().fail_writes.extend(failures);
    }

    pub fn take_write_failure(&self) -> Option<InjectedFailure> {
        self.lock().fail_writes.pop_front()
    }

    pub fn drop_next_requests(&self, count: u32) {
        self.lock().drop_requests = count;
    }

    /// Whether this request is to be dropped (counts it down).
    pub fn take_drop(&self) -> bool {
        let mut state = self.lock();
        if state.drop_requests == 0 {
            return false;
        }
        state.drop_requests -= 1;
        true
    }

    pub fn set_echo_password(&self, echo: bool) {
        self.lock().echo_password = echo;
    }

    pub fn echo_password(&self) -> bool {
        self.lock().echo_password
    }

    /// Applies the fields of an update that concern this struct.
    pub fn apply(&self, update: &FaultUpdate) {
        let mut state = self.lock();
        if let Some(latency_ms) = update.latency_ms {
            state.latency = Duration::from_millis(latency_ms);
        }
        state.fail_writes.extend(update.fail_writes.iter().copied());
        if let Some(count) = update.drop_requests {
            state.drop_requests = count;
        }
        if let Some(echo) = update.echo_password {
            state.echo_password = echo;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
