//! [`FilterDll`]: the filter DLL loaded with LoadLibraryW and its three exports looked up by
//! name with GetProcAddress — the way lsass finds a notification package.
//!
//! Must never call an export through a signature other than ntsecapi.h's.

use std::ffi::{c_void, OsStr};
use std::os::windows::ffi::OsStrExt;

use crate::lsa_string::UnicodeString;

type InitializeChangeNotify = unsafe extern "system" fn() -> u8;
type PasswordFilter =
    unsafe extern "system" fn(*const UnicodeString, *const UnicodeString, *const UnicodeString, u8) -> u8;
type PasswordChangeNotify = unsafe extern "system" fn(*const UnicodeString, u32, *const UnicodeString) -> i32;

#[link(name = "kernel32")]
extern "system" {
    fn LoadLibraryW(lpLibFileName: *const u16) -> *mut c_void;
    fn GetProcAddress(hModule: *mut c_void, lpProcName: *const u8) -> *mut c_void;
}

/// The loaded DLL's exports. The DLL stays loaded until the process ends, as in lsass.
#[derive(Clone, Copy)]
pub struct FilterDll {
    initialize: InitializeChangeNotify,
    filter: PasswordFilter,
    notify: PasswordChangeNotify,
}

impl FilterDll {
    /// Loads `path` and finds the three exports.
    pub fn load(path: &str) -> Result<FilterDll, String> {
        let wide: Vec<u16> = OsStr::new(path).encode_wide().chain(Some(0)).collect();
        // SAFETY: `wide` is NUL-terminated. Loading runs the DLL's initialisation, which is
        // what this harness tests.
        let module = unsafe { LoadLibraryW(wide.as_ptr()) };
        if module.is_null() {
            return Err(format!("LoadLibraryW({}) failed: {}", path, std::io::Error::last_os_error()));
        }
        let find = |name: &[u8]| {
            // SAFETY: `name` is NUL-terminated ASCII; `module` is loaded.
            let address = unsafe { GetProcAddress(module, name.as_ptr()) };
            if address.is_null() {
                Err(format!("{} does not export {}", path, String::from_utf8_lossy(&name[..name.len() - 1])))
            } else {
                Ok(address)
            }
        };
        let (initialize, filter, notify) = (
            find(b"InitializeChangeNotify\0")?,
            find(b"PasswordFilter\0")?,
            find(b"PasswordChangeNotify\0")?,
        );
        // SAFETY: the exports have exactly these signatures (ntsecapi.h); a function pointer
        // and a data pointer have the same size on Windows.
        unsafe {
            Ok(FilterDll {
                initialize: std::mem::transmute::<*mut c_void, InitializeChangeNotify>(initialize),
                filter: std::mem::transmute::<*mut c_void, PasswordFilter>(filter),
                notify: std::mem::transmute::<*mut c_void, PasswordChangeNotify>(notify),
            })
        }
    }

    /// Calls InitializeChangeNotify.
    pub fn initialize(&self) -> u8 {
        // SAFETY: no arguments.
        unsafe { (self.initialize)() }
    }

    /// Calls PasswordFilter for a password set (SetOperation TRUE) or change (FALSE).
    pub fn filter(
        &self,
        account: *const UnicodeString,
        full_name: *const UnicodeString,
        password: *const UnicodeString,
        set_operation: bool,
    ) -> u8 {
        // SAFETY: the pointers are NULL or point to live UNICODE_STRINGs (lsa_string).
        unsafe { (self.filter)(account, full_name, password, u8::from(set_operation)) }
    }

    /// Calls PasswordChangeNotify.
    pub fn notify(&self, account: *const UnicodeString, rid: u32, password: *const UnicodeString) -> i32 {
        // SAFETY: the pointers are NULL or point to live UNICODE_STRINGs (lsa_string).
        unsafe { (self.notify)(account, rid, password) }
    }
}
