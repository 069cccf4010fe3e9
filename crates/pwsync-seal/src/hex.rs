//! Lowercase hexadecimal encoding for ids, key files and test vectors.
//!
//! Plain text conversion, not cryptography. It must never allocate more than once for an
//! output (so that a secret written through it leaves no stray copies behind) and never put
//! the input into an error.

use std::fmt;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends the lowercase hex form of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
}

/// The lowercase hex form of `bytes`.
#[cfg(test)]
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    encode_into(bytes, &mut out);
    out
}

/// Writes the lowercase hex form of `bytes` to a formatter (for `Display` impls).
pub(crate) fn write(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for byte in bytes {
        write!(f, "{:02x}", byte)?;
    }
    Ok(())
}

/// Why a hex string could not be decoded. Carries positions, never the text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HexError {
    /// The text has `found` characters where exactly `expected` are needed.
    Length { expected: usize, found: usize },
    /// The character at this (0-based, in characters) position is not a hex digit.
    NotHex { position: usize },
}

/// Decodes exactly `out.len()` bytes from `text` (either case) into `out`.
pub(crate) fn decode_into(text: &str, out: &mut [u8]) -> Result<(), HexError> {
    let expected = out.len() * 2;
    let found = text.chars().count();
    if found != expected || text.len() != expected {
        return Err(HexError::Length { expected, found });
    }
    let digits = text.as_bytes();
    for (index, slot) in out.iter_mut().enumerate() {
        let high = nibble(digits[2 * index]).ok_or(HexError::NotHex { position: 2 * index })?;
        let low = nibble(digits[2 * index + 1]).ok_or(HexError::NotHex { position: 2 * index + 1 })?;
        *slot = (high << 4) | low;
    }
    Ok(())
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_lowercase() {
        assert_eq!(encode(&[0x00, 0x9f, 0xa0, 0xff]), "009fa0ff");
    }

    #[test]
    fn decodes_both_cases() {
        let mut out = [0u8; 3];
        decode_into("0aFf10", &mut out).unwrap();
        assert_eq!(out, [0x0a, 0xff, 0x10]);
    }

    #[test]
    fn refuses_wrong_length() {
        let mut out = [0u8; 2];
        assert_eq!(decode_into("abc", &mut out), Err(HexError::Length { expected: 4, found: 3 }));
    }

    #[test]
    fn refuses_non_hex_with_position() {
        let mut out = [0u8; 2];
        assert_eq!(decode_into("ab0g", &mut out), Err(HexError::NotHex { position: 3 }));
    }

    #[test]
    fn refuses_multibyte_characters_of_the_right_byte_length() {
        // "é" is two bytes: four bytes of text but only three characters.
        let mut out = [0u8; 2];
        assert!(matches!(decode_into("aé1", &mut out), Err(HexError::Length { .. })));
    }
}
