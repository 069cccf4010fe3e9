//! [`UnicodeString`]: the `UNICODE_STRING` that LSA passes to the exports, and the checked
//! view of its code units.
//!
//! `Length` and `MaximumLength` are byte counts and the buffer is not NUL-terminated, so the
//! string is exactly `Length / 2` code units, whatever follows in the buffer. This module
//! must never read a byte outside `Buffer[0..Length]`, never trust a `Length` that is odd,
//! larger than `MaximumLength`, or paired with a NULL buffer, and never copy the units (the
//! caller converts them once, straight into a wiping buffer).

use std::fmt;

/// `UNICODE_STRING` from ntdef.h (x86_64 layout: two u16, padding, a pointer).
#[repr(C)]
pub struct UnicodeString {
    /// Length of the string in bytes, not counting any terminator.
    pub length: u16,
    /// Size of the buffer in bytes.
    pub maximum_length: u16,
    /// The UTF-16 code units.
    pub buffer: *mut u16,
}

impl fmt::Debug for UnicodeString {
    // The buffer may be a password: show the lengths only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UnicodeString(length={}, maximum_length={}, <buffer not shown>)",
            self.length, self.maximum_length
        )
    }
}

/// Why a UNICODE_STRING was not read. Never contains its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnicodeStringError {
    /// The pointer to the UNICODE_STRING itself is NULL.
    #[error("no UNICODE_STRING (NULL pointer)")]
    NullPointer,
    /// `Buffer` is NULL but `Length` is not zero.
    #[error("the UNICODE_STRING has a NULL buffer but a Length of {length} bytes")]
    NullBuffer {
        /// The claimed length in bytes.
        length: u16,
    },
    /// `Length` is odd: not a whole number of UTF-16 code units.
    #[error("the UNICODE_STRING has an odd byte length ({length}); UTF-16 needs whole 2-byte code units")]
    OddLength {
        /// The claimed length in bytes.
        length: u16,
    },
    /// `Length` is larger than `MaximumLength`, the size of the buffer.
    #[error("the UNICODE_STRING's Length ({length} bytes) exceeds its MaximumLength ({maximum} bytes)")]
    LengthBeyondMaximum {
        /// The claimed length in bytes.
        length: u16,
        /// The claimed buffer size in bytes.
        maximum: u16,
    },
}

/// The `Length / 2` code units of the UNICODE_STRING at `string`, after checking that the
/// header is consistent.
///
/// # Safety
/// `string` must be NULL or point to a readable UNICODE_STRING whose `Buffer`, if not NULL,
/// is readable for `min(Length, MaximumLength)` bytes and stays unchanged for `'a`. LSA
/// guarantees this for the strings it passes to a notification package.
pub unsafe fn code_units<'a>(string: *const UnicodeString) -> Result<&'a [u16], UnicodeStringError> {
    // SAFETY: NULL is checked; otherwise the caller promises a readable UNICODE_STRING.
    let header = match unsafe { string.as_ref() } {
        Some(header) => header,
        None => return Err(UnicodeStringError::NullPointer),
    };
    let (length, maximum) = (header.length, header.maximum_length);
    if length > maximum {
        return Err(UnicodeStringError::LengthBeyondMaximum { length, maximum });
    }
    if length % 2 != 0 {
        return Err(UnicodeStringError::OddLength { length });
    }
    if length == 0 {
        return Ok(&[]);
    }
    if header.buffer.is_null() {
        return Err(UnicodeStringError::NullBuffer { length });
    }
    // SAFETY: the buffer is not NULL and, by the caller's promise, readable for `length`
    // bytes (length <= maximum was checked); u16 alignment is the ABI's for PWSTR.
    Ok(unsafe { std::slice::from_raw_parts(header.buffer, usize::from(length / 2)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_over(units: &mut [u16], length: u16, maximum_length: u16) -> UnicodeString {
        UnicodeString { length, maximum_length, buffer: units.as_mut_ptr() }
    }

    #[test]
    fn reads_exactly_length_bytes_and_ignores_the_rest_of_the_buffer() {
        let mut units = [0x61, 0x62, 0x63, 0x58, 0x58];
        let string = string_over(&mut units, 6, 10);
        assert_eq!(unsafe { code_units(&string) }, Ok(&[0x61u16, 0x62, 0x63][..]));
    }

    #[test]
    fn empty_string_may_have_a_null_buffer() {
        let string = UnicodeString { length: 0, maximum_length: 0, buffer: std::ptr::null_mut() };
        assert_eq!(unsafe { code_units(&string) }, Ok(&[][..]));
    }

    #[test]
    fn refuses_inconsistent_headers_with_named_errors() {
        let mut units = [0x61, 0x62];
        assert_eq!(unsafe { code_units(std::ptr::null()) }, Err(UnicodeStringError::NullPointer));
        assert_eq!(
            unsafe { code_units(&string_over(&mut units, 3, 4)) },
            Err(UnicodeStringError::OddLength { length: 3 })
        );
        assert_eq!(
            unsafe { code_units(&string_over(&mut units, 6, 4)) },
            Err(UnicodeStringError::LengthBeyondMaximum { length: 6, maximum: 4 })
        );
        let null_buffer = UnicodeString { length: 4, maximum_length: 4, buffer: std::ptr::null_mut() };
        assert_eq!(unsafe { code_units(&null_buffer) }, Err(UnicodeStringError::NullBuffer { length: 4 }));
    }

    #[test]
    fn debug_shows_lengths_only() {
        let mut units: Vec<u16> = "Secret-9".encode_utf16().collect();
        let string = string_over(&mut units, 16, 16);
        let shown = format!("{:?}", string);
        assert!(shown.contains("length=16") && !shown.contains("Secret"), "{}", shown);
    }
}
