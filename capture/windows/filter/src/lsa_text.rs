//! The text of a UNICODE_STRING from LSA: checked header, lossless UTF-8, wiping buffer —
//! the one way the exports read an account name or a password.
//!
//! Must never return text that differs from what LSA passed, and never leave an unwiped
//! copy (the only copy is the returned buffer).

use zeroize::Zeroizing;

use crate::unicode_string::{self, UnicodeString, UnicodeStringError};
use crate::utf16::{self, Utf16Error};

/// Why a UNICODE_STRING has no text. Never contains its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LsaTextError {
    /// The UNICODE_STRING itself is inconsistent.
    #[error(transparent)]
    UnicodeString(#[from] UnicodeStringError),
    /// Its code units are not valid UTF-16.
    #[error(transparent)]
    Utf16(#[from] Utf16Error),
}

/// The text of the UNICODE_STRING at `string`, in a buffer wiped on drop.
///
/// # Safety
/// As for [`unicode_string::code_units`].
pub unsafe fn read(string: *const UnicodeString) -> Result<Zeroizing<String>, LsaTextError> {
    // SAFETY: passed on to the caller.
    let units = unsafe { unicode_string::code_units(string) }?;
    Ok(utf16::to_utf8(units)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_and_passes_on_both_kinds_of_error() {
        let mut units: Vec<u16> = "Pässwörd-𝄞".encode_utf16().collect();
        let length = (units.len() * 2) as u16;
        let string = UnicodeString { length, maximum_length: length, buffer: units.as_mut_ptr() };
        assert_eq!(unsafe { read(&string) }.unwrap().as_str(), "Pässwörd-𝄞");

        let odd = UnicodeString { length: 3, maximum_length: length, buffer: units.as_mut_ptr() };
        assert_eq!(
            unsafe { read(&odd) }.unwrap_err(),
            LsaTextError::UnicodeString(UnicodeStringError::OddLength { length: 3 })
        );

        let mut lone = vec![0x41u16, 0xD800];
        let unpaired = UnicodeString { length: 4, maximum_length: 4, buffer: lone.as_mut_ptr() };
        assert_eq!(
            unsafe { read(&unpaired) }.unwrap_err(),
            LsaTextError::Utf16(Utf16Error::UnpairedSurrogate { index: 1 })
        );
    }
}
