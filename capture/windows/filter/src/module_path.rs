//! The full path of this DLL, found from the address of its own code, so that the filter
//! can look for `pwsync-filter.conf` (and, before it knows the spool, write its log) next to
//! itself wherever it was installed.
//!
//! Must never change the DLL's reference count (UNCHANGED_REFCOUNT): taking a reference
//! that is never released would pin the DLL in lsass.

use std::ffi::OsString;
use std::os::windows::ffi::OsStringExt;
use std::path::PathBuf;

use crate::win32;

/// The path of the module (DLL, or test executable) that contains this function.
pub fn this_module() -> Option<PathBuf> {
    let mut module: win32::HMODULE = std::ptr::null_mut();
    let address = this_module as *const u16;
    // SAFETY: with FROM_ADDRESS the "name" is an address inside the module, here this very
    // function; `module` is a valid out pointer.
    let found = unsafe {
        win32::GetModuleHandleExW(
            win32::GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS
                | win32::GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
            address,
            &mut module,
        )
    };
    if found == 0 {
        return None;
    }
    // Paths may be longer than MAX_PATH (260); the buffer grows up to the 32767-unit limit.
    let mut capacity = 260usize;
    loop {
        let mut buffer = vec![0u16; capacity];
        // SAFETY: `buffer` holds `capacity` units.
        let len = unsafe { win32::GetModuleFileNameW(module, buffer.as_mut_ptr(), capacity as u32) } as usize;
        if len == 0 {
            return None;
        }
        if len < capacity {
            return Some(PathBuf::from(OsString::from_wide(&buffer[..len])));
        }
        if capacity >= 32768 {
            return None;
        }
        capacity *= 2;
    }
}

/// The directory that contains this DLL.
pub fn this_module_dir() -> Option<PathBuf> {
    this_module().and_then(|path| path.parent().map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_module_that_runs_this_code() {
        // Under `cargo test` the code is in the test executable.
        let path = this_module().unwrap();
        assert_eq!(path, std::env::current_exe().unwrap());
        assert_eq!(this_module_dir().unwrap(), path.parent().unwrap());
    }
}
