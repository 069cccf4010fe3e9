//! [`Utf16Input`]: one UNICODE_STRING as the harness hands it to the DLL — the UTF-16 code
//! units of its buffer plus the `Length` and `MaximumLength` it claims, which a test may set
//! to anything, including values that disagree with the buffer.
//!
//! It must never make a string whose claimed lengths reach past its own buffer, except for
//! the one shape that says so ([`Utf16Input::length_beyond_maximum`], where the DLL must
//! refuse before reading): the harness would otherwise read out of bounds itself.

/// Largest even `Length` a UNICODE_STRING can have, in bytes (32767 code units).
pub const MAX_UNICODE_STRING_BYTES: u16 = 65534;

/// The content and claimed lengths of one UNICODE_STRING.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Utf16Input {
    /// A buffer of `units`, of which `length_bytes` are claimed to be the string and
    /// `maximum_bytes` the capacity.
    Buffer {
        /// Every code unit of the buffer, including any after the string.
        units: Vec<u16>,
        /// The UNICODE_STRING's `Length`, in bytes.
        length_bytes: u16,
        /// The UNICODE_STRING's `MaximumLength`, in bytes.
        maximum_bytes: u16,
    },
    /// A UNICODE_STRING whose `Buffer` is NULL although `Length` is not zero.
    NullBuffer {
        /// The claimed `Length`, in bytes.
        length_bytes: u16,
    },
    /// No UNICODE_STRING at all: the pointer to it is NULL.
    NullPointer,
}

impl Utf16Input {
    /// `text` as UTF-16, exactly as long as the buffer (no NUL terminator, as LSA passes it).
    pub fn text(text: &str) -> Utf16Input {
        Utf16Input::units(text.encode_utf16().collect())
    }

    /// Raw code units (for unpaired surrogates, which no `&str` can hold).
    pub fn units(units: Vec<u16>) -> Utf16Input {
        let bytes = byte_len(&units);
        Utf16Input::Buffer { units, length_bytes: bytes, maximum_bytes: bytes }
    }

    /// `text` followed in the same buffer by `junk` code units that are not part of the
    /// string (`MaximumLength` covers them, `Length` does not): the DLL must stop at `Length`.
    pub fn text_with_junk_after(text: &str, junk: u16, junk_units: usize) -> Utf16Input {
        let mut units: Vec<u16> = text.encode_utf16().collect();
        let length_bytes = byte_len(&units);
        units.extend(std::iter::repeat(junk).take(junk_units));
        let maximum_bytes = byte_len(&units);
        Utf16Input::Buffer { units, length_bytes, maximum_bytes }
    }

    /// `text` with a `Length` one byte short of its UTF-16 size: an odd byte length.
    pub fn odd_length(text: &str) -> Utf16Input {
        let units: Vec<u16> = text.encode_utf16().collect();
        let maximum_bytes = byte_len(&units);
        Utf16Input::Buffer { units, length_bytes: maximum_bytes - 1, maximum_bytes }
    }

    /// `text` whose `Length` claims two bytes more than `MaximumLength` (the buffer is
    /// exactly `MaximumLength` long: the DLL must refuse without reading past it).
    pub fn length_beyond_maximum(text: &str) -> Utf16Input {
        let units: Vec<u16> = text.encode_utf16().collect();
        let maximum_bytes = byte_len(&units);
        Utf16Input::Buffer { units, length_bytes: maximum_bytes + 2, maximum_bytes }
    }
}

fn byte_len(units: &[u16]) -> u16 {
    u16::try_from(units.len() * 2).expect("test strings fit in a UNICODE_STRING")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_claims_exactly_its_utf16_bytes() {
        assert_eq!(
            Utf16Input::text("aé𝄞"),
            Utf16Input::Buffer { units: vec![0x61, 0xe9, 0xd834, 0xdd1e], length_bytes: 8, maximum_bytes: 8 }
        );
    }

    #[test]
    fn junk_is_covered_by_maximum_but_not_by_length() {
        match Utf16Input::text_with_junk_after("ab", 0x58, 3) {
            Utf16Input::Buffer { units, length_bytes, maximum_bytes } => {
                assert_eq!(units, vec![0x61, 0x62, 0x58, 0x58, 0x58]);
                assert_eq!((length_bytes, maximum_bytes), (4, 10));
            }
            other => panic!("{:?}", other),
        }
    }

    #[test]
    fn odd_and_overlong_lengths() {
        match Utf16Input::odd_length("abc") {
            Utf16Input::Buffer { length_bytes, maximum_bytes, .. } => {
                assert_eq!((length_bytes, maximum_bytes), (5, 6))
            }
            other => panic!("{:?}", other),
        }
        match Utf16Input::length_beyond_maximum("abc") {
            Utf16Input::Buffer { length_bytes, maximum_bytes, .. } => {
                assert_eq!((length_bytes, maximum_bytes), (8, 6))
            }
            other => panic!("{:?}", other),
        }
    }
}
