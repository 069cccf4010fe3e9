//! Reading the configuration key `HKLM\SOFTWARE\pwsync\PasswordFilter`: every value under
//! it, as text, so that `settings` can refuse unknown names exactly as for the file.
//!
//! Accepts REG_SZ and REG_EXPAND_SZ (the latter expanded, e.g. `%ProgramData%\pwsync\spool`);
//! any other type is a named error rather than a guess. Must never leave a key handle open.

use std::ffi::OsStr;

use crate::settings::REGISTRY_KEY;
use crate::utf16;
use crate::win32;

/// Why the key could not be read. A missing key is not an error (see [`read_values`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A registry call failed.
    #[error(r"cannot {action} registry key HKLM\{key}: Windows error {code}")]
    Call {
        /// What was being done.
        action: &'static str,
        /// The key.
        key: &'static str,
        /// The Win32 error code.
        code: i32,
    },
    /// A value of a type the filter does not read.
    #[error(r"registry value HKLM\{key}\{name} has type {type_code}; use REG_SZ or REG_EXPAND_SZ")]
    UnsupportedType {
        /// The key.
        key: &'static str,
        /// The value's name.
        name: String,
        /// The REG_* type number.
        type_code: u32,
    },
    /// A name or value that is not valid UTF-16.
    #[error(r"registry value {name:?} under HKLM\{key} is not valid UTF-16 text")]
    NotText {
        /// The key.
        key: &'static str,
        /// The value's name (possibly with replacement characters).
        name: String,
    },
}

/// An open registry key, closed on drop.
struct OpenKey(win32::HKEY);

impl Drop for OpenKey {
    fn drop(&mut self) {
        // SAFETY: the handle came from RegOpenKeyExW and is closed exactly once.
        unsafe { win32::RegCloseKey(self.0) };
    }
}

/// Every `(name, value)` under the configuration key, or `None` if the key does not exist.
pub fn read_values() -> Result<Option<Vec<(String, String)>>, RegistryError> {
    let call_failed = |action, code| RegistryError::Call { action, key: REGISTRY_KEY, code };
    let subkey = win32::wide(OsStr::new(REGISTRY_KEY));
    let mut handle: win32::HKEY = 0;
    // SAFETY: `subkey` is NUL-terminated and `handle` is a valid out pointer.
    let status = unsafe {
        win32::RegOpenKeyExW(win32::HKEY_LOCAL_MACHINE, subkey.as_ptr(), 0, win32::KEY_READ, &mut handle)
    };
    if status == win32::ERROR_FILE_NOT_FOUND {
        return Ok(None);
    }
    if status != win32::ERROR_SUCCESS {
        return Err(call_failed("open", status));
    }
    let key = OpenKey(handle);
    let mut values = Vec::new();
    // Value names are at most 16383 characters; data is read with a buffer that grows.
    let mut name_buffer = vec![0u16; 16384];
    let mut data = vec![0u8; 1024];
    let mut index = 0;
    loop {
        let mut name_len = name_buffer.len() as u32;
        let mut value_type = 0u32;
        let mut data_len = data.len() as u32;
        // SAFETY: all buffers are valid for the lengths passed; the reserved pointer is NULL.
        let status = unsafe {
            win32::RegEnumValueW(
                key.0,
                index,
                name_buffer.as_mut_ptr(),
                &mut name_len,
                std::ptr::null_mut(),
                &mut value_type,
                data.as_mut_ptr(),
                &mut data_len,
            )
        };
        if status == win32::ERROR_NO_MORE_ITEMS {
            break;
        }
        if status == win32::ERROR_MORE_DATA && data_len as usize > data.len() {
            data.resize(data_len as usize, 0);
            continue;
        }
        if status != win32::ERROR_SUCCESS {
            return Err(call_failed("read a value of", status));
        }
        let name_units = &name_buffer[..name_len as usize];
        let name = String::from_utf16(name_units).map_err(|_| RegistryError::NotText {
            key: REGISTRY_KEY,
            name: String::from_utf16_lossy(name_units),
        })?;
        let not_text = || RegistryError::NotText { key: REGISTRY_KEY, name: name.clone() };
        let text = match value_type {
            win32::REG_SZ => string_data(&data[..data_len as usize]).ok_or_else(not_text)?,
            win32::REG_EXPAND_SZ => expand(&string_data(&data[..data_len as usize]).ok_or_else(not_text)?)
                .ok_or_else(|| call_failed("expand a value of", 0))?,
            type_code => return Err(RegistryError::UnsupportedType { key: REGISTRY_KEY, name, type_code }),
        };
        values.push((name, text.trim().to_owned()));
        index += 1;
    }
    Ok(Some(values))
}

/// The text of REG_SZ data: UTF-16LE, usually (not always) with a terminating NUL.
fn string_data(bytes: &[u8]) -> Option<String> {
    let units: Vec<u16> = bytes.chunks_exact(2).map(|pair| u16::from_le_bytes([pair[0], pair[1]])).collect();
    let end = units.iter().position(|&unit| unit == 0).unwrap_or(units.len());
    utf16::to_utf8(&units[..end]).ok().map(|text| text.as_str().to_owned())
}

/// `%VARIABLE%` references expanded, as Windows does for REG_EXPAND_SZ.
fn expand(text: &str) -> Option<String> {
    let source = win32::wide(OsStr::new(text));
    let mut size = 260u32;
    loop {
        let mut buffer = vec![0u16; size as usize];
        // SAFETY: `source` is NUL-terminated, `buffer` holds `size` units.
        let needed = unsafe { win32::ExpandEnvironmentStringsW(source.as_ptr(), buffer.as_mut_ptr(), size) };
        if needed == 0 {
            return None;
        }
        if needed <= size {
            let end = buffer.iter().position(|&unit| unit == 0).unwrap_or(buffer.len());
            return String::from_utf16(&buffer[..end]).ok();
        }
        size = needed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_data_stops_at_the_terminator_or_the_end() {
        let mut bytes = Vec::new();
        for unit in "C:\\spool\0junk".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(string_data(&bytes).as_deref(), Some("C:\\spool"));
        assert_eq!(string_data(&bytes[..6]).as_deref(), Some("C:\\"));
        assert_eq!(string_data(&[0x00, 0xD8]), None);
    }

    #[test]
    fn expand_replaces_environment_variables() {
        let windir = std::env::var("SystemRoot").expect("Windows sets SystemRoot");
        assert_eq!(expand(r"%SystemRoot%\pwsync").unwrap(), format!(r"{}\pwsync", windir));
        assert_eq!(expand("no variables").unwrap(), "no variables");
    }
}
