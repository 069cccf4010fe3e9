//! Lossless UTF-16 to UTF-8: [`to_utf8`] turns the code units of a UNICODE_STRING into a
//! UTF-8 string that is wiped on drop.
//!
//! It must never replace, drop or reorder anything: an unpaired surrogate (which Windows
//! accepts in a password, and which has no UTF-8 form) is an error that names its
//! position, never U+FFFD, because a "repaired" password synchronized elsewhere would be a
//! different password. And it must never leave a copy behind: the output is sized exactly
//! before the first character is written, so the string never reallocates.

use zeroize::Zeroizing;

/// Why code units are not valid UTF-16. Names the position, never the content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Utf16Error {
    /// A high surrogate not followed by a low one, or a low surrogate not preceded by a
    /// high one.
    #[error("unpaired UTF-16 surrogate at code unit {index}; not captured, because no UTF-8 form of it exists and an altered password must never be synchronized")]
    UnpairedSurrogate {
        /// 0-based index of the offending code unit.
        index: usize,
    },
}

/// `units` as UTF-8, in a buffer that is wiped on drop.
pub fn to_utf8(units: &[u16]) -> Result<Zeroizing<String>, Utf16Error> {
    let utf8_len = utf8_len(units)?;
    let mut text = Zeroizing::new(String::with_capacity(utf8_len));
    for decoded in char::decode_utf16(units.iter().copied()) {
        // Validated by `utf8_len`: every unit decodes.
        text.push(decoded.map_err(|_| Utf16Error::UnpairedSurrogate { index: 0 })?);
    }
    debug_assert_eq!(text.len(), utf8_len);
    debug_assert_eq!(text.capacity(), utf8_len);
    Ok(text)
}

/// The UTF-8 length of `units`, or the position of the first unpaired surrogate.
fn utf8_len(units: &[u16]) -> Result<usize, Utf16Error> {
    let mut len = 0;
    let mut index = 0;
    for decoded in char::decode_utf16(units.iter().copied()) {
        match decoded {
            Ok(character) => {
                len += character.len_utf8();
                index += character.len_utf16();
            }
            Err(_) => return Err(Utf16Error::UnpairedSurrogate { index }),
        }
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(text: &str) -> Vec<u16> {
        text.encode_utf16().collect()
    }

    #[test]
    fn converts_ascii_bmp_and_supplementary_characters_exactly() {
        for text in
            ["Correct-Horse-42!", "Pässwörd-密码-Ωμέγα", "\u{1F511}-\u{1D11E}-\u{1F600}", "a\u{0}b", ""]
        {
            let converted = to_utf8(&units(text)).unwrap();
            assert_eq!(converted.as_str(), text);
            assert_eq!(converted.capacity(), text.len(), "no spare capacity, hence no reallocation");
        }
    }

    #[test]
    fn names_the_first_unpaired_surrogate() {
        let cases: [(&[u16], usize); 5] = [
            (&[0x41, 0x62, 0x63, 0xD83D], 3),
            (&[0xDC00], 0),
            (&[0x41, 0x62, 0xDC00, 0x63], 2),
            (&[0x31, 0xDD1E, 0xD834], 1),
            (&[0xD834, 0xDD1E, 0x41, 0xD800, 0x42], 3),
        ];
        for (input, index) in cases {
            assert_eq!(to_utf8(input).unwrap_err(), Utf16Error::UnpairedSurrogate { index }, "{:x?}", input);
        }
    }

    #[test]
    fn error_message_says_why_nothing_was_captured() {
        let message = Utf16Error::UnpairedSurrogate { index: 7 }.to_string();
        assert!(message.starts_with("unpaired UTF-16 surrogate at code unit 7;"), "{}", message);
    }
}
