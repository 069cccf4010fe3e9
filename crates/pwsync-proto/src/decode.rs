//! Decoding of a JSON request body into a protocol type, with the refusals named: not UTF-8,
//! nested deeper than any protocol document, or not the expected document.
//!
//! The server decodes every request through here, and the fuzz checks call the same function.
//! A message here must never quote a value from the body (any field may hold a password): only
//! positions, kinds, and key names.

use serde::de::DeserializeOwned;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the request body is not valid UTF-8 (at byte {at})")]
    NotUtf8 { at: usize },
    #[error("the request body nests arrays and objects deeper than {max} levels")]
    TooDeep { max: usize },
    #[error("{description}")]
    Malformed { description: String },
}

impl DecodeError {
    /// The stable code of the refusal (`ApiError` body).
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::NotUtf8 { .. } | DecodeError::Malformed { .. } => "malformed_body",
            DecodeError::TooDeep { .. } => "json_too_deep",
        }
    }
}

/// Decodes `body` as a `T`, refusing it first if its arrays and objects nest deeper than
/// `max_depth`. The protocol's documents nest 4 levels at most; serde_json's own recursion limit
/// (128) is reached only by input that the typed decoding would refuse for other reasons, and is
/// mapped to the same refusal.
pub fn decode_json<T: DeserializeOwned>(body: &[u8], max_depth: usize) -> Result<T, DecodeError> {
    if let Err(utf8_error) = std::str::from_utf8(body) {
        return Err(DecodeError::NotUtf8 { at: utf8_error.valid_up_to() });
    }
    if json_depth(body) > max_depth {
        return Err(DecodeError::TooDeep { max: max_depth });
    }
    serde_json::from_slice(body).map_err(|error| {
        if error.to_string().starts_with("recursion limit exceeded") {
            DecodeError::TooDeep { max: max_depth }
        } else {
            DecodeError::Malformed { description: describe_json_error(&error) }
        }
    })
}

/// The deepest nesting of arrays and objects in `body`, brackets inside strings not counted.
/// Linear and allocation-free, so that a hostile body costs no more than reading it.
pub fn json_depth(body: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in body {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Describes a JSON error by position and kind only: serde's own message may quote a value.
fn describe_json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let names_a_field = text.starts_with("unknown field") || text.starts_with("missing field");
    if names_a_field {
        // These quote a key name and the list of expected keys, never a value.
        text
    } else {
        format!(
            "malformed request body at line {} column {} ({:?} error)",
            error.line(),
            error.column(),
            error.classify()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert_eq!(json_depth(br#"{"a":[{"b":"[[[{{{\"[["}]}"#), 3);
        assert_eq!(json_depth(b"1"), 0);
        assert_eq!(json_depth(&[b'['; 50]), 50);
    }

    #[test]
    fn deep_json_is_refused_by_name_before_parsing() {
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        let error = decode_json::<serde_json::Value>(deep.as_bytes(), 32).unwrap_err();
        assert_eq!(error, DecodeError::TooDeep { max: 32 });
        assert_eq!(error.code(), "json_too_deep");
        decode_json::<serde_json::Value>(deep.as_bytes(), 40).unwrap();
    }

    #[test]
    fn serde_json_recursion_limit_maps_to_the_same_refusal() {
        // With the pre-scan lifted, serde_json stops at depth 128 with its own error.
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let error = decode_json::<serde_json::Value>(deep.as_bytes(), usize::MAX).unwrap_err();
        assert_eq!(error.code(), "json_too_deep");
    }

    #[test]
    fn a_value_is_never_quoted() {
        let error = decode_json::<crate::ChangeBatch>(br#"{"changes": "pwsync-canary-1!"}"#, 32).unwrap_err();
        assert_eq!(error.code(), "malformed_body");
        assert!(!error.to_string().contains("canary"), "{error}");
    }
}
