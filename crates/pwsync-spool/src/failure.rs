//! Why a record was moved to `failed/`: [`FailureReason`] (given by the caller),
//! [`FailedRecord`] (what an operator lists), and the `.reason` file beside each failed
//! record.
//!
//! A reason must never carry a secret or break the one-line file format: the code is short
//! snake_case and the detail one printable line, both checked before anything is written.

use pwsync_seal::{ChangeId, OpenError};

use crate::SpoolError;

const REASON_LABEL: &str = "pwsync-failure-v1";
const MAX_CODE_LEN: usize = 64;
/// Longest detail, in bytes.
pub const MAX_DETAIL_LEN: usize = 1024;

/// Why a record failed permanently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureReason {
    /// Short snake_case code, e.g. `tampered`, `rejected_by_target`.
    pub code: String,
    /// One line for operators, at most 1024 bytes, never a secret.
    pub detail: String,
}

impl FailureReason {
    /// A reason whose detail is made one printable line (control characters become
    /// spaces) and cut to [`MAX_DETAIL_LEN`] bytes — for details from elsewhere, such as a
    /// server's rejection text. The code is still checked when the reason is used.
    pub fn one_line(code: &str, detail: &str) -> FailureReason {
        let mut clean = String::with_capacity(detail.len().min(MAX_DETAIL_LEN));
        for character in detail.chars() {
            let character = if character.is_control() { ' ' } else { character };
            if clean.len() + character.len_utf8() > MAX_DETAIL_LEN {
                break;
            }
            clean.push(character);
        }
        FailureReason { code: code.to_owned(), detail: clean }
    }

    /// Checks the code and detail.
    pub fn validate(&self) -> Result<(), SpoolError> {
        let code_ok = !self.code.is_empty()
            && self.code.len() <= MAX_CODE_LEN
            && self.code.starts_with(|c: char| c.is_ascii_lowercase())
            && self.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !code_ok {
            return Err(SpoolError::InvalidFailureCode { code: self.code.clone() });
        }
        if self.detail.len() > MAX_DETAIL_LEN {
            return Err(SpoolError::InvalidFailureDetail { problem: "is longer than 1024 bytes" });
        }
        if self.detail.chars().any(char::is_control) {
            return Err(SpoolError::InvalidFailureDetail {
                problem: "contains a line break or other control character",
            });
        }
        Ok(())
    }
}

/// A record that could not be opened becomes a failure with the error's stable code; the
/// error text holds no payload content.
impl From<&OpenError> for FailureReason {
    fn from(error: &OpenError) -> FailureReason {
        FailureReason::one_line(error.code(), &error.to_string())
    }
}

/// A record in `failed/`, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecord {
    /// File name (pass it to `retry_failed` / `purge_failed`).
    pub name: String,
    /// Capture time, from the name.
    pub captured_at_ns: i64,
    /// Change id, from the name.
    pub id: ChangeId,
    /// Failure code; `reason_missing` / `reason_unreadable` if the reason file is absent or
    /// damaged (e.g. a crash between writing it and moving the record).
    pub code: String,
    /// Failure detail.
    pub detail: String,
    /// When the record was failed (Unix ns), if the reason file says.
    pub failed_at_ns: Option<i64>,
}

/// The reason file's text.
pub(crate) fn reason_file_text(reason: &FailureReason, failed_at_ns: i64) -> String {
    format!(
        "{}\ncode: {}\nfailed_at_ns: {}\ndetail: {}\n",
        REASON_LABEL, reason.code, failed_at_ns, reason.detail
    )
}

/// Parses a reason file; `None` if it is not one.
pub(crate) fn parse_reason_file(text: &str) -> Option<(FailureReason, i64)> {
    let mut lines = text.lines();
    if lines.next()? != REASON_LABEL {
        return None;
    }
    let code = lines.next()?.strip_prefix("code: ")?.to_owned();
    let failed_at_ns = lines.next()?.strip_prefix("failed_at_ns: ")?.parse().ok()?;
    let detail_line = lines.next()?;
    let detail =
        detail_line.strip_prefix("detail: ").or_else(|| detail_line.strip_prefix("detail:"))?.to_owned();
    if lines.next().is_some() {
        return None;
    }
    Some((FailureReason { code, detail }, failed_at_ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(code: &str, detail: &str) -> FailureReason {
        FailureReason { code: code.to_owned(), detail: detail.to_owned() }
    }

    #[test]
    fn reason_file_round_trips() {
        for detail in ["target said: password too short (ppolicy)", ""] {
            let original = reason("rejected_by_target", detail);
            let text = reason_file_text(&original, 1_790_000_000_000_000_000);
            assert_eq!(parse_reason_file(&text), Some((original, 1_790_000_000_000_000_000)));
        }
        assert_eq!(parse_reason_file("garbage"), None);
    }

    #[test]
    fn codes_and_details_are_checked() {
        assert!(reason("tampered", "x").validate().is_ok());
        assert!(reason("a1_b", "").validate().is_ok());
        for code in ["", "Tampered", "1abc", "has space", "dash-ed", &"a".repeat(65)] {
            assert!(
                matches!(reason(code, "x").validate(), Err(SpoolError::InvalidFailureCode { .. })),
                "{:?}",
                code
            );
        }
        for detail in ["two\nlines".to_owned(), "tab\there".to_owned(), "d".repeat(1025)] {
            assert!(matches!(
                reason("code", &detail).validate(),
                Err(SpoolError::InvalidFailureDetail { .. })
            ));
        }
    }

    #[test]
    fn one_line_cleans_and_cuts_on_a_character_boundary() {
        let cleaned = FailureReason::one_line("rejected", "line one\r\nline two");
        assert_eq!(cleaned.detail, "line one  line two");
        assert!(cleaned.validate().is_ok());
        let long = FailureReason::one_line("rejected", &"密".repeat(400)); // 1200 bytes
        assert!(long.detail.len() <= MAX_DETAIL_LEN);
        assert_eq!(long.detail.len() % 3, 0);
        assert!(long.validate().is_ok());
    }

    #[test]
    fn open_errors_become_reasons_with_their_code() {
        let from_error = FailureReason::from(&OpenError::Tampered);
        assert_eq!(from_error.code, "tampered");
        assert!(from_error.validate().is_ok());
    }
}
