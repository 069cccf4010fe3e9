//! Record file names: `{captured_at_ns:020}-{change_id}.pws`, or `….retry.pws` for a record
//! an operator moved back from `failed/`.
//!
//! Names sort oldest first and carry no account or other content. Parsing is exact (the
//! name must be the canonical form of what it parses to), so a name taken from an operator
//! can never smuggle a path separator, `..` or a look-alike into a path.

use std::fmt;

use pwsync_seal::ChangeId;

const EXTENSION: &str = ".pws";
const RETRY_EXTENSION: &str = ".retry.pws";
const TIME_DIGITS: usize = 20;
const ID_DIGITS: usize = 32;

/// A parsed record file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordName {
    pub(crate) captured_at_ns: i64,
    pub(crate) id: ChangeId,
    pub(crate) operator_retry: bool,
}

impl RecordName {
    /// The name of a newly written record. `captured_at_ns` must not be negative.
    pub(crate) fn new(captured_at_ns: i64, id: ChangeId) -> RecordName {
        debug_assert!(captured_at_ns >= 0);
        RecordName { captured_at_ns, id, operator_retry: false }
    }

    /// The same record, marked as moved back by an operator.
    pub(crate) fn as_retry(self) -> RecordName {
        RecordName { operator_retry: true, ..self }
    }

    /// Parses a canonical record name; anything else is `None`.
    pub(crate) fn parse(name: &str) -> Option<RecordName> {
        let (stem, operator_retry) = if let Some(stem) = name.strip_suffix(RETRY_EXTENSION) {
            (stem, true)
        } else {
            (name.strip_suffix(EXTENSION)?, false)
        };
        let (time, id) = stem.split_once('-')?;
        if time.len() != TIME_DIGITS || !time.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        let is_lower_hex = |byte: u8| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
        if id.len() != ID_DIGITS || !id.bytes().all(is_lower_hex) {
            return None;
        }
        let parsed = RecordName { captured_at_ns: time.parse().ok()?, id: id.parse().ok()?, operator_retry };
        if parsed.to_string() == name {
            Some(parsed)
        } else {
            None
        }
    }
}

impl fmt::Display for RecordName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:020}-{}{}",
            self.captured_at_ns,
            self.id,
            if self.operator_retry { RETRY_EXTENSION } else { EXTENSION }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> ChangeId {
        "0123456789abcdef0123456789abcdef".parse().unwrap()
    }

    #[test]
    fn formats_and_parses() {
        let name = RecordName::new(1_790_000_000_123_456_789, id());
        assert_eq!(name.to_string(), "01790000000123456789-0123456789abcdef0123456789abcdef.pws");
        assert_eq!(RecordName::parse(&name.to_string()), Some(name));
        let retry = name.as_retry();
        assert_eq!(retry.to_string(), "01790000000123456789-0123456789abcdef0123456789abcdef.retry.pws");
        assert_eq!(RecordName::parse(&retry.to_string()), Some(retry));
    }

    #[test]
    fn names_sort_by_time() {
        let early = RecordName::new(999, id()).to_string();
        let late = RecordName::new(1_000, id()).to_string();
        assert!(early < late);
    }

    #[test]
    fn refuses_everything_else() {
        for name in [
            "",
            ".pws",
            "01790000000123456789-0123456789abcdef0123456789abcdef",
            "01790000000123456789-0123456789ABCDEF0123456789abcdef.pws",
            "1790000000123456789-0123456789abcdef0123456789abcdef.pws",
            "99999999999999999999-0123456789abcdef0123456789abcdef.pws",
            "-0000000000000000001-0123456789abcdef0123456789abcdef.pws",
            "01790000000123456789-0123456789abcdef0123456789abcdef.pws.reason",
            "01790000000123456789-0123456789abcdef0123456789abcde.pws",
            "../01790000000123456789-0123456789abcdef0123456789abcdef.pws",
            "failed/01790000000123456789-0123456789abcdef0123456789abcdef.pws",
            "01790000000123456789-0123456789abcdef0123456789abcdef.retry.retry.pws",
            ".tmp-0123456789abcdef",
        ] {
            assert_eq!(RecordName::parse(name), None, "{:?}", name);
        }
    }
}
