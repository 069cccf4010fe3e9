//! The newest-wins order between changes of one account.
//!
//! Capture time decides; origin name and origin sequence break ties so that every server,
//! every restart and every redelivery orders the same two changes the same way. The change id
//! is the last resort, which makes the order total. This module must never consult arrival time:
//! arrival order is exactly what retries and slow DCs scramble.

use std::cmp::Ordering;

/// The ordering key of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderKey {
    pub captured_at_ns: i64,
    pub origin: String,
    pub origin_seq: u64,
    pub change_id: String,
}

impl Ord for OrderKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.captured_at_ns
            .cmp(&other.captured_at_ns)
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
        OrderKey { captured_at_ns: t, origin: origin.into(), origin_seq: seq, change_id: id.into() }
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
}
