//! The newest-wins order between changes of one account.
//!
//! When both changes carry the directory's version of the password (`msDS-KeyVersionNumber`,
//! one more for every originating change, replicated with it), the higher version is newer:
//! that is how Active Directory itself resolves two changes of one password, whatever the DCs'
//! clocks say. Otherwise — equal versions (AD then compares originating times too), or a change
//! without one (a PAM host, a record the client could not attribute) — capture time decides;
//! origin name and origin sequence break ties so that every server, every restart and every
//! redelivery orders the same two changes the same way. The change id is the last resort.
//! This module must never consult arrival time: arrival order is exactly what retries and slow
//! DCs scramble.

use std::cmp::Ordering;

/// The ordering key of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderKey {
    /// The directory's version of the password this change set, when known.
    pub directory_version: Option<u32>,
    pub captured_at_ns: i64,
    pub origin: String,
    pub origin_seq: u64,
    pub change_id: String,
}

impl Ord for OrderKey {
    fn cmp(&self, other: &Self) -> Ordering {
        let by_version = match (self.directory_version, other.directory_version) {
            (Some(mine), Some(theirs)) => mine.cmp(&theirs),
            _ => Ordering::Equal,
        };
        by_version
            .then_with(|| self.captured_at_ns.cmp(&other.captured_at_ns))
            .then_with(|| self.origin.cmp(&other.origin))
            .then_with(|| self.origin_seq.cmp(&other.origin_seq))
            .then_with(|| self.change_id.cmp(&other.change_id))
    }
}

impl PartialOrd for OrderKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: i64, origin: &str, seq: u64, id: &str) -> OrderKey {
        OrderKey {
            directory_version: None,
            captured_at_ns: t,
            origin: origin.into(),
            origin_seq: seq,
            change_id: id.into(),
        }
    }

    fn versioned(version: u32, t: i64, origin: &str) -> OrderKey {
        OrderKey { directory_version: Some(version), ..key(t, origin, 0, "0") }
    }

    #[test]
    fn capture_time_decides_before_anything_else() {
        assert!(key(2, "a", 0, "0") > key(1, "z", 9, "f"));
    }

    #[test]
    fn ties_break_on_origin_then_sequence_then_id() {
        assert!(key(1, "dc2", 0, "0") > key(1, "dc1", 5, "f"));
        assert!(key(1, "dc1", 6, "0") > key(1, "dc1", 5, "f"));
        assert!(key(1, "dc1", 5, "b") > key(1, "dc1", 5, "a"));
    }

    #[test]
    fn the_directory_version_decides_before_capture_time_when_both_have_one() {
        // A reset on a DC whose clock is minutes behind, after the change it replaced.
        assert!(versioned(6, 1_000, "dc2") > versioned(5, 180_000, "dc1"));
        // Equal versions: as AD, fall back to time.
        assert!(versioned(5, 2, "dc1") > versioned(5, 1, "dc2"));
    }

    #[test]
    fn without_a_version_on_either_side_capture_time_decides() {
        assert!(key(2, "pam1", 0, "0") > versioned(9, 1, "dc1"));
        assert!(versioned(1, 2, "dc1") > key(1, "pam1", 0, "0"));
    }
}
