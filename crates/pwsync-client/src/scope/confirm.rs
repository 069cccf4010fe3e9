//! Commit confirmation for changes captured before the directory committed them.
//!
//! Samba runs its check password script inside the password change, before the commit; a later
//! check (password history, minimum age) can still refuse the change. Such a record may hold a
//! password that never took effect, and must not reach a target. A record is confirmed only by
//! **its own** commit, never by a neighbour's:
//!
//! * Samba stamps `pwdLastSet` when the change begins, a little *before* the script runs (key
//!   derivation happens in between: 40–90 ms measured, more under load), on the clock the hook
//!   reads, and one DC's changes are serialised. So the change captured at `t` committed iff
//!   `pwdLastSet` lies in `(max(t - allowance, previous capture), t]`. A `pwdLastSet` after `t`
//!   was stamped by a later change, which began only after this one's script had returned: this
//!   record is then superseded once that later capture is known, and waits until then. So the
//!   order in which the spool was listed and the directory asked cannot matter: a commit after
//!   the listing belongs to a change that began after every listed capture, and can only make a
//!   listed record wait, never confirm it.
//! * `pwdLastSet` = 0 (must change at next logon) carries no time; `whenChanged` stands in. It
//!   is written at the commit, *after* the script (0–50 ms measured), with one-second
//!   resolution: it confirms when the second it names can hold this change's commit and no
//!   neighbour's. When it could be the next record's, the record waits (holding beats guessing).
//! * The key version (`msDS-KeyVersionNumber`, one more for every committed password change)
//!   unchanged since this client confirmed the account's previous record means nothing has
//!   committed since: a time stamp alone never outweighs that.
//! * No evidence yet: wait, and after the confirmation window give the change up as not
//!   committed. An unreachable directory is never such evidence (the caller keeps the record).
//!
//! This module decides from times and counters only; it must never see a password.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::CommitEvidence;

/// Most capture times remembered per account: enough for any real burst of changes.
const MAX_REMEMBERED_PER_ACCOUNT: usize = 64;

/// The resolution of `whenChanged`.
const SECOND_NS: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The directory shows this change committed: forward it.
    Committed,
    /// A later change of the account committed, and its capture is known: this one is of no
    /// use any more.
    Superseded,
    /// Not (yet) visible: look again shortly.
    Waiting,
    /// Not visible within the window: the directory refused it after the hook. Never forward.
    NotCommitted { reason: String },
}

/// What the directory's stamp says about one record, before the window is considered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// The stamp is this record's own commit.
    Own,
    /// The stamp belongs to a change after this record.
    Later,
    /// The stamp is older than this record, ambiguous, or absent: no answer yet.
    Unknown,
}

/// The account's neighbouring pre-commit captures of one record.
#[derive(Debug, Clone, Copy, Default)]
struct Neighbours {
    previous: Option<i64>,
    next: Option<i64>,
}

/// Per account: capture times seen, and the key version at the last confirmation.
#[derive(Debug, Default)]
struct AccountMemory {
    captures: Vec<i64>,
    /// (capture time of the confirmed record, key version the directory showed then).
    confirmed: Option<(i64, u32)>,
}

/// Shared by every lane of the client: a record's neighbours may be in another lane.
pub struct CommitConfirmer {
    window: Duration,
    allowance: Duration,
    /// Per case-folded account.
    seen: Mutex<HashMap<String, AccountMemory>>,
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
        seen.retain(|_, memory| {
            memory.captures.retain(|time| *time >= horizon);
            !memory.captures.is_empty()
        });
        let captures = &mut seen.entry(account.to_lowercase()).or_default().captures;
        if !captures.contains(&captured_at_ns) {
            captures.push(captured_at_ns);
            captures.sort_unstable();
            if captures.len() > MAX_REMEMBERED_PER_ACCOUNT {
                captures.remove(0);
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
        let (neighbours, nothing_committed_since) = self.recall(account, captured_at_ns, evidence);
        let reading = if nothing_committed_since {
            Reading::Unknown
        } else {
            self.read_stamp(captured_at_ns, neighbours, evidence)
        };
        match reading {
            Reading::Own => {
                self.remember_confirmed(account, captured_at_ns, evidence);
                Confirmation::Committed
            }
            Reading::Later if neighbours.next.is_some() => Confirmation::Superseded,
            Reading::Later | Reading::Unknown => self.hold_or_give_up(captured_at_ns, reading, now_ns),
        }
    }

    /// The directory's version for a change captured *after* its commit (the Windows filter
    /// DLL's notification, a generic capture): the version read now is this change's only if
    /// the latest change the directory shows began within the allowance before this capture.
    /// After a later change, or without an exact stamp, the record carries no version and is
    /// ordered by capture time, rather than by a later change's version.
    pub fn version_after_commit(&self, captured_at_ns: i64, evidence: &CommitEvidence) -> Option<u32> {
        let began = evidence.password_last_set_ns?;
        let allowance = self.allowance.as_nanos() as i64;
        // The same rule as for a pre-commit capture, with no neighbours to narrow the window.
        let own = read_begin_stamp(began, captured_at_ns, allowance, Neighbours::default()) == Reading::Own;
        own.then_some(evidence.key_version).flatten()
    }

    /// The record's neighbours, and whether the key version shows that nothing committed since
    /// the account's previous confirmed record (which is older than this one).
    fn recall(&self, account: &str, captured_at_ns: i64, evidence: &CommitEvidence) -> (Neighbours, bool) {
        let seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(memory) = seen.get(&account.to_lowercase()) else {
            return (Neighbours::default(), false);
        };
        let times = memory.captures.iter().copied();
        let neighbours = Neighbours {
            previous: times.clone().filter(|t| *t < captured_at_ns).max(),
            next: times.filter(|t| *t > captured_at_ns).min(),
        };
        let unchanged = match (memory.confirmed, evidence.key_version) {
            (Some((confirmed_at, version)), Some(now)) => confirmed_at < captured_at_ns && version == now,
            _ => false,
        };
        (neighbours, unchanged)
    }

    fn remember_confirmed(&self, account: &str, captured_at_ns: i64, evidence: &CommitEvidence) {
        let Some(version) = evidence.key_version else { return };
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let memory = seen.entry(account.to_lowercase()).or_default();
        if memory.confirmed.is_none_or(|(at, _)| at <= captured_at_ns) {
            memory.confirmed = Some((captured_at_ns, version));
        }
    }

    /// Whose commit the directory's stamp can be.
    fn read_stamp(&self, captured_at_ns: i64, neighbours: Neighbours, evidence: &CommitEvidence) -> Reading {
        let allowance = self.allowance.as_nanos() as i64;
        match (evidence.password_last_set_ns, evidence.when_changed_ns) {
            (Some(stamp), _) => read_begin_stamp(stamp, captured_at_ns, allowance, neighbours),
            (None, Some(second)) => read_commit_second(second, captured_at_ns, allowance, neighbours),
            (None, None) => Reading::Unknown,
        }
    }

    fn hold_or_give_up(&self, captured_at_ns: i64, reading: Reading, now_ns: i64) -> Confirmation {
        let age = Duration::from_nanos((now_ns - captured_at_ns).max(0) as u64);
        if age <= self.window {
            return Confirmation::Waiting;
        }
        let seconds = self.window.as_secs();
        let reason = if reading == Reading::Later {
            format!(
                "the directory shows only a later password change of this account, of which this \
                 client holds no capture, within the {seconds} s confirmation window: this change \
                 was refused by the domain controller after the check password script, or replaced \
                 before it could be confirmed"
            )
        } else {
            format!(
                "the directory shows no password change of this account since the capture ({seconds} s \
                 confirmation window): the domain controller refused it after the check password \
                 script (password history, minimum age, ...)"
            )
        };
        Confirmation::NotCommitted { reason }
    }

    /// How long a capture time can matter: a record waits at most the window, plus the allowance.
    fn memory(&self) -> Duration {
        self.window + self.allowance + Duration::from_secs(60)
    }
}

/// `pwdLastSet`: stamped when the change begins, before its script runs.
fn read_begin_stamp(stamp: i64, captured_at_ns: i64, allowance: i64, neighbours: Neighbours) -> Reading {
    let lower = neighbours
        .previous
        .map_or(captured_at_ns - allowance, |previous| previous.max(captured_at_ns - allowance));
    if stamp > captured_at_ns {
        Reading::Later
    } else if stamp > lower {
        Reading::Own
    } else {
        Reading::Unknown
    }
}

/// `whenChanged`: the second (truncated) in which the change committed, after its script ran.
/// The commit of this record lies in `(captured, min(captured + allowance, next capture))`.
fn read_commit_second(second: i64, captured_at_ns: i64, allowance: i64, neighbours: Neighbours) -> Reading {
    let latest = second + SECOND_NS;
    if neighbours.next.is_some_and(|next| second >= next) || second > captured_at_ns + allowance {
        return Reading::Later;
    }
    if latest <= captured_at_ns {
        return Reading::Unknown;
    }
    // The second could also hold the next change's commit: hold rather than guess.
    if neighbours.next.is_some_and(|next| latest > next) {
        return Reading::Unknown;
    }
    Reading::Own
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;
    const SECOND: i64 = 1_000 * MS;
    const T: i64 = 1_795_556_482 * SECOND + 300 * MS;

    fn confirmer() -> CommitConfirmer {
        CommitConfirmer::new(Duration::from_secs(300), Duration::from_secs(10))
    }

    fn last_set(ns: i64) -> CommitEvidence {
        CommitEvidence { password_last_set_ns: Some(ns), when_changed_ns: Some(ns), key_version: None }
    }

    fn when_changed(ns: i64) -> CommitEvidence {
        let second = ns - ns.rem_euclid(SECOND);
        CommitEvidence { password_last_set_ns: None, when_changed_ns: Some(second), key_version: None }
    }

    #[test]
    fn pwd_last_set_just_before_the_capture_confirms() {
        let confirmer = confirmer();
        confirmer.note("alice", T, T);
        // Samba sets pwdLastSet 40-90 ms before the script runs.
        assert_eq!(confirmer.decide("alice", T, &last_set(T - 70 * MS), T), Confirmation::Committed);
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
        let evidence = last_set(T - 50 * MS);
        assert_eq!(confirmer.decide("alice", T, &evidence, T + 3 * SECOND), Confirmation::Committed);
        assert_eq!(
            confirmer.decide("alice", T + 2 * SECOND, &evidence, T + 3 * SECOND),
            Confirmation::Waiting
        );
    }

    /// The sequence of the field report: A accepted, B refused for history after its script,
    /// C accepted at once. C's pwdLastSet (stamped after B's script) must not confirm B, whether
    /// or not C's capture is in the spool yet.
    #[test]
    fn the_next_change_of_the_account_does_not_confirm_a_refused_one() {
        for gap in [0, 50 * MS, 500 * MS, 2 * SECOND] {
            let confirmer = confirmer();
            let (a, b) = (T, T + 150 * MS);
            let c_stamp = b + 70 * MS + gap;
            let c = c_stamp + 70 * MS;
            confirmer.note("alice", a, a);
            confirmer.note("alice", b, b);
            assert_eq!(confirmer.decide("alice", a, &last_set(a - 60 * MS), b), Confirmation::Committed);
            // B refused: the directory still shows A's stamp.
            assert_eq!(confirmer.decide("alice", b, &last_set(a - 60 * MS), b + MS), Confirmation::Waiting);
            // C committed before its capture was listed: B waits, it is not confirmed.
            let after_c = last_set(c_stamp);
            assert_eq!(confirmer.decide("alice", b, &after_c, c + MS), Confirmation::Waiting, "gap {gap}");
            confirmer.note("alice", c, c + MS);
            assert_eq!(confirmer.decide("alice", b, &after_c, c + MS), Confirmation::Superseded, "gap {gap}");
            assert_eq!(confirmer.decide("alice", c, &after_c, c + MS), Confirmation::Committed, "gap {gap}");
        }
    }

    #[test]
    fn a_later_stamp_without_a_later_capture_is_never_taken_as_this_change() {
        let confirmer = confirmer();
        confirmer.note("alice", T, T);
        let later = last_set(T + 200 * MS);
        assert_eq!(confirmer.decide("alice", T, &later, T + SECOND), Confirmation::Waiting);
        let Confirmation::NotCommitted { reason } = confirmer.decide("alice", T, &later, T + 301 * SECOND)
        else {
            panic!("a stamp after the capture is someone else's");
        };
        assert!(reason.contains("later password change"), "{reason}");
    }

    #[test]
    fn a_later_committed_change_supersedes_an_earlier_record() {
        let confirmer = confirmer();
        confirmer.note("alice", T, T);
        confirmer.note("alice", T + 2 * SECOND, T + 2 * SECOND);
        // A third change began after the second's capture and committed.
        let evidence = last_set(T + 3 * SECOND);
        assert_eq!(confirmer.decide("alice", T, &evidence, T + 4 * SECOND), Confirmation::Superseded);
        // The second waits for the third's capture: only a known later record supersedes.
        assert_eq!(
            confirmer.decide("alice", T + 2 * SECOND, &evidence, T + 4 * SECOND),
            Confirmation::Waiting
        );
        confirmer.note("alice", T + 3 * SECOND + 60 * MS, T + 4 * SECOND);
        assert_eq!(
            confirmer.decide("alice", T + 2 * SECOND, &evidence, T + 4 * SECOND),
            Confirmation::Superseded
        );
    }

    #[test]
    fn must_change_at_next_logon_falls_back_to_when_changed() {
        let confirmer = confirmer();
        confirmer.note("bob", T, T);
        // whenChanged is written at the commit, after the script, in whole seconds: also when
        // the commit falls into the next second.
        assert_eq!(
            confirmer.decide("bob", T, &when_changed(T + 40 * MS), T + SECOND),
            Confirmation::Committed
        );
        assert_eq!(
            confirmer.decide("bob", T, &when_changed(T + 800 * MS), T + SECOND),
            Confirmation::Committed
        );
        let stale = when_changed(T - 60 * SECOND);
        assert_eq!(confirmer.decide("bob", T, &stale, T + SECOND), Confirmation::Waiting);
    }

    #[test]
    fn a_when_changed_second_shared_with_the_next_capture_holds_the_earlier_record() {
        let confirmer = confirmer();
        let (b, c) = (T, T + 300 * MS);
        confirmer.note("bob", b, b);
        confirmer.note("bob", c, c);
        let shared = when_changed(c + 50 * MS);
        assert_eq!(confirmer.decide("bob", b, &shared, c + SECOND), Confirmation::Waiting);
        assert_eq!(confirmer.decide("bob", c, &shared, c + SECOND), Confirmation::Committed);
        // A second wholly after the next capture is the next change's (or a later one's).
        let after = when_changed(c + 2 * SECOND);
        assert_eq!(confirmer.decide("bob", b, &after, c + 3 * SECOND), Confirmation::Superseded);
    }

    #[test]
    fn a_post_commit_capture_carries_the_version_only_when_the_latest_change_is_its_own() {
        let confirmer = confirmer();
        let versioned = |stamp: i64| CommitEvidence { key_version: Some(12), ..last_set(stamp) };
        assert_eq!(confirmer.version_after_commit(T, &versioned(T - 30 * MS)), Some(12));
        // A change began after this capture: the version is that change's.
        assert_eq!(confirmer.version_after_commit(T, &versioned(T + 30 * MS)), None);
        assert_eq!(confirmer.version_after_commit(T, &versioned(T - 60 * SECOND)), None);
        assert_eq!(confirmer.version_after_commit(T, &when_changed(T)), None);
    }

    #[test]
    fn an_unchanged_key_version_outweighs_a_plausible_stamp() {
        // A committed (version 7). B, a must-change reset, was refused after its script; then
        // an administrator touched the account (whenChanged moves, no password committed).
        let confirmer = confirmer();
        let (a, b) = (T, T + 3 * SECOND);
        confirmer.note("bob", a, a);
        confirmer.note("bob", b, b);
        let at = |evidence: CommitEvidence, version: u32| CommitEvidence {
            key_version: Some(version),
            ..evidence
        };
        assert_eq!(confirmer.decide("bob", a, &at(last_set(a - 60 * MS), 7), b), Confirmation::Committed);
        let touched = at(when_changed(b + 400 * MS), 7);
        assert_eq!(confirmer.decide("bob", b, &touched, b + SECOND), Confirmation::Waiting);
        // The same stamp with the next version is B's own commit.
        assert_eq!(
            confirmer.decide("bob", b, &at(when_changed(b + 400 * MS), 8), b + SECOND),
            Confirmation::Committed
        );
    }
}
