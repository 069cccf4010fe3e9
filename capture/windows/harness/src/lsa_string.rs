//! [`LsaString`]: a UNICODE_STRING built from a test case's [`Utf16Input`], with the buffer
//! it points to kept alive next to it.
//!
//! Must never let the UNICODE_STRING outlive its buffer (both live in one value, and the
//! buffer, a boxed slice, never moves when the value does).

use pwsync_filter_cases::Utf16Input;

/// `UNICODE_STRING` (ntdef.h).
#[repr(C)]
pub struct UnicodeString {
    length: u16,
    maximum_length: u16,
    buffer: *mut u16,
}

/// A UNICODE_STRING and its buffer, or the NULL pointer the case asks for.
pub struct LsaString {
    string: Option<UnicodeString>,
    _buffer: Box<[u16]>,
}

impl LsaString {
    /// Builds the UNICODE_STRING `input` describes.
    pub fn new(input: &Utf16Input) -> LsaString {
        match input {
            Utf16Input::Buffer { units, length_bytes, maximum_bytes } => {
                let mut buffer: Box<[u16]> = units.clone().into_boxed_slice();
                let pointer = if buffer.is_empty() { std::ptr::null_mut() } else { buffer.as_mut_ptr() };
                LsaString {
                    string: Some(UnicodeString {
                        length: *length_bytes,
                        maximum_length: *maximum_bytes,
                        buffer: pointer,
                    }),
                    _buffer: buffer,
                }
            }
            Utf16Input::NullBuffer { length_bytes } => LsaString {
                string: Some(UnicodeString {
                    length: *length_bytes,
                    maximum_length: *length_bytes,
                    buffer: std::ptr::null_mut(),
                }),
                _buffer: Box::new([]),
            },
            Utf16Input::NullPointer => LsaString { string: None, _buffer: Box::new([]) },
        }
    }

    /// The pointer to pass to an export (NULL for [`Utf16Input::NullPointer`]).
    pub fn as_ptr(&self) -> *const UnicodeString {
        self.string.as_ref().map_or(std::ptr::null(), |string| string as *const UnicodeString)
    }
}
