//! Commit confirmation for changes captured before the directory committed them.
//!
//! Samba runs its check password script inside the password change, before the commit; a later
//! check (password history, minimum age) can still refuse the change. Such a record may hold a
//! password that never took effect, and must not reach a target. The directory's own record of
//! the change decides:
//!
//! * Samba sets `pwdLastSet` when the change begins, a little *before* the script runs (key
//!   derivation happens in between: tens of milliseconds, more under load), and changes of one
//!   DC are serialised. So the change captured at `t` committed iff `pwdLastSet` lies after
//!   `t - allowance` and after the capture time of the account's previous pre-commit record.
//! * `pwdLastSet` at or after the capture time of the account's *next* record means a later
//!   change committed: this record is superseded, whether or not it committed.
//! * `pwdLastSet` = 0 (must change at next logon) carries no time; `whenChanged` (one-second
//!   resolution) stands in for it.
//! * No evidence yet: wait, and after the confirmation window give the change up as not
//!   committed. An unreachable directory is never such evidence (the caller keeps the record).
//!
//! This module decides from times only; it must never see a password.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::CommitEvidence;

/// Most capture times remembered per account: enough for any real burst of changes.
const MAX_REMEMBERED_PER_ACCOUNT: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The directory shows this change committed: forward it.
    Committed,
    /// A later change of the account committed: this one is of no use any more.
    Superseded,
    /// Not (yet) visible: look again shortly.
    Waiting,
    /// Not visible within the window: the directory refused it after the hook. Never forward.
    NotCommitted { reason: String },
}

/// Shared by every lane of the client: a record's neighbours may be in another lane.
pub struct CommitConfirmer {
    window: Duration,
    allowance: Duration,
    /// Capture times of pre-commit records seen recently, per case-folded account.
    seen: Mutex<HashMap<String, Vec<i64>>>,
}

impl CommitConfirmer {
    pub fn new(window: Duration, allowance: Duration) -> CommitConfirmer {
        CommitConfirmer { window, allowance, seen: Mutex::new(HashMap::new()) }
    }

    /// Remembers a pre-commit record's capture time. Call it for every such record of a pass
    /// before deciding any: a record's neighbours bound its confirmation.
    pub fn note(&self, account: &str, captured_at_ns: i64, now_ns: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let horizon = now_ns - self.memory().as_nanos() as i64;
        seen.retain(|_, times| {
            times.retain(|time| *time >= horizon);
            !times.is_empty()
        });
        let times = seen.entry(account.to_lowercase()).or_default();
        if !times.contains(&captured_at_ns) {
            times.push(captured_at_ns);
            times.sort_unstable();
            if times.len() > MAX_REMEMBERED_PER_ACCOUNT {
                times.remove(0);
            }
        }
    }

    /// Decides about the record of `account` captured at `captured_at_ns`, given what the
    /// directory shows now.
    pub fn decide(
        &self,
        account: &str,
        captured_at_ns: i64,
        evidence: &CommitEvidence,
        now_ns: i64,
    ) -> Confirmation {
        let (previous, next) = {
            let seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let times = seen.get(&account.to_lowercase());
            let previous =
                times.and_then(|times| times.iter().copied().filter(|t| *t < captured_at_ns).max());
            let next = times.and_then(|times| times.iter().copied().filter(|t| *t > captured_at_ns).min());
            (previous, next)
        };
        let allowance = self.allowance.as_nanos() as i64;
        let lower =
            previous.map_or(captured_at_ns - allowance, |previous| previous.max(captured_at_ns - allowance));
        // The time the directory gives, and how coarse it is.
        let (last_set, resolution) = match (evidence.password_last_set_ns, evidence.when_changed_ns) {
            (Some(time), _) => (Some(time), 0),
            (None, Some(time)) => (Some(time), 1_000_000_000),
            (None, None) => (None, 0),
        };
        if let Some(last_set) = last_set {
            if next.is_some_and(|next| last_set >= next) {
                return Confirmation::Superseded;
            }
            if last_set + resolution > lower {
                return Confirmation::Committed;
            }
        }
        let age = Duration::from_nanos((now_ns - captured_at_ns).max(0) as u64);
        if age <= self.window {
            return Confirmation::Waiting;
        }
        Confirmation::NotCommitted {
            reason: format!(
                "the directory shows no password change of this account since the capture ({} s \
                 confirmation window): the domain controller refused it after the check password \
                 script (password history, minimum age, ...)",
                self.window.as_secs()
            ),
        }
    }

    /// How long a capture time can matter: a record waits at most the window, plus the allowance.
    fn memory(&self) -> Duration {
        self.window + self.allowance + Duration::from_secs(60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;
    const T: i64 = 1_795_556_482 * SECOND;

    fn confirmer() -> CommitConfirmer {
        CommitConfirmer::new(Duration::from_secs(300), Duration::from_secs(10))
    }

    fn last_set(ns: i64) -> CommitEvidence {
        CommitEvidence { password_last_set_ns: Some(ns), when_changed_ns: Some(ns) }
    }

    #[test]
    fn pwd_last_set_just_before_the_capture_confirms() {
        let confirmer = confirmer();
        confirmer.note("alice", T, T);
        // Samba sets pwdLastSet ~70 ms before the script runs.
        assert_eq!(confirmer.decide("alice", T, &last_set(T - 70_000_000), T), Confirmation::Committed);
    }

    #[test]
    fn an_old_pwd_last_set_waits_then_gives_up() {
        let confirmer = confirmer();
        confirmer.note("alice", T, T);
        let before = last_set(T - 3600 * SECOND);
        assert_eq!(confirmer.decide("alice", T, &before, T + SECOND), Confirmation::Waiting);
        assert!(matches!(
            confirmer.decide("alice", T, &before, T + 301 * SECOND),
            Confirmation::NotCommitted { .. }
        ));
    }

    #[test]
    fn the_previous_change_of_the_account_does_not_confirm_a_refused_one() {
        // P1 captured at T and committed (pwdLastSet T - 50 ms); P2 captured 2 s later, refused:
        // pwdLastSet stays T - 50 ms, which is within the allowance of P2 but before P1's capture.
        let confirmer = confirmer();
        confirmer.note("alice", T, T);
        confirmer.note("Alice", T + 2 * SECOND, T + 2 * SECOND);
        let evidence = last_set(T - 50_000_000);
        assert_eq!(confirmer.decide("alice", T, &evidence, T + 3 * SECOND), Confirmation::Committed);
        assert_eq!(
            confirmer.decide("alice", T + 2 * SECOND, &evidence, T + 3 * SECOND),
            Confirmation::Waiting
        );
    }

    #[test]
    fn a_later_committed_change_supersedes_an_earlier_record() {
        let confirmer = confirmer();
        confirmer.note("alice", T, T);
        confirmer.note("alice", T + 2 * SECOND, T + 2 * SECOND);
        // A third change began after the second's capture and committed.
        let evidence = last_set(T + 3 * SECOND);
        assert_eq!(confirmer.decide("alice", T, &evidence, T + 4 * SECOND), Confirmation::Superseded);
        assert_eq!(
            confirmer.decide("alice", T + 2 * SECOND, &evidence, T + 4 * SECOND),
            Confirmation::Committed
        );
    }

    #[test]
    fn must_change_at_next_logon_falls_back_to_when_changed() {
        let confirmer = confirmer();
        confirmer.note("bob", T + 400_000_000, T);
        // pwdLastSet 0; whenChanged has whole seconds only, here the second of the capture.
        let evidence = CommitEvidence { password_last_set_ns: None, when_changed_ns: Some(T) };
        assert_eq!(confirmer.decide("bob", T + 400_000_000, &evidence, T + SECOND), Confirmation::Committed);
        let stale = CommitEvidence { password_last_set_ns: None, when_changed_ns: Some(T - 60 * SECOND) };
        assert_eq!(confirmer.decide("bob", T + 400_000_000, &stale, T + SECOND), Confirmation::Waiting);
    }
}
