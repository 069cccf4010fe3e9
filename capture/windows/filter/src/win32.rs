//! The few kernel32 and advapi32 functions and constants the filter calls, declared by hand
//! with their documented Win32 signatures. Not windows-sys: its current releases need a
//! newer Rust than the 1.63 this DLL is built with, and an older pinned release would bring
//! a multi-megabyte import-library crate for a dozen functions. MinGW's import libraries
//! resolve these.
//!
//! Must never grow beyond thin declarations: every safe wrapper lives in the module that
//! needs it, next to the reasoning about its buffers. Types follow the Windows headers for
//! x86_64: `BOOL` is i32, `DWORD` u32, `LSTATUS` i32, handles and `HKEY` pointer-sized.

#![allow(non_snake_case, clippy::upper_case_acronyms)]

use std::ffi::c_void;

pub(crate) type BOOL = i32;
pub(crate) type BOOLEAN = u8;
pub(crate) type DWORD = u32;
pub(crate) type HANDLE = *mut c_void;
pub(crate) type HKEY = isize;
pub(crate) type HMODULE = *mut c_void;
pub(crate) type LSTATUS = i32;
pub(crate) type NTSTATUS = i32;

pub(crate) const TRUE: BOOLEAN = 1;
pub(crate) const STATUS_SUCCESS: NTSTATUS = 0;

/// `(HKEY)(ULONG_PTR)(LONG)0x80000002`: sign-extended to pointer width, as in winreg.h.
pub(crate) const HKEY_LOCAL_MACHINE: HKEY = 0x8000_0002_u32 as i32 as isize;
pub(crate) const KEY_READ: DWORD = 0x0002_0019;
pub(crate) const REG_SZ: DWORD = 1;
pub(crate) const REG_EXPAND_SZ: DWORD = 2;

pub(crate) const ERROR_SUCCESS: LSTATUS = 0;
pub(crate) const ERROR_FILE_NOT_FOUND: LSTATUS = 2;
pub(crate) const ERROR_MORE_DATA: LSTATUS = 234;
pub(crate) const ERROR_NO_MORE_ITEMS: LSTATUS = 259;

pub(crate) const GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT: DWORD = 0x2;
pub(crate) const GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS: DWORD = 0x4;

/// `COMPUTER_NAME_FORMAT` values.
pub(crate) const COMPUTER_NAME_NETBIOS: i32 = 0;
pub(crate) const COMPUTER_NAME_DNS_FULLY_QUALIFIED: i32 = 3;

pub(crate) const EVENTLOG_ERROR_TYPE: u16 = 0x0001;
pub(crate) const EVENTLOG_WARNING_TYPE: u16 = 0x0002;
pub(crate) const EVENTLOG_INFORMATION_TYPE: u16 = 0x0004;

pub(crate) const SDDL_REVISION_1: DWORD = 1;

/// `SECURITY_ATTRIBUTES` from minwinbase.h.
#[repr(C)]
pub(crate) struct SECURITY_ATTRIBUTES {
    pub(crate) nLength: DWORD,
    pub(crate) lpSecurityDescriptor: *mut c_void,
    pub(crate) bInheritHandle: BOOL,
}

#[link(name = "kernel32")]
extern "system" {
    pub(crate) fn GetModuleHandleExW(
        dwFlags: DWORD,
        lpModuleName: *const u16,
        phModule: *mut HMODULE,
    ) -> BOOL;
    pub(crate) fn GetModuleFileNameW(hModule: HMODULE, lpFilename: *mut u16, nSize: DWORD) -> DWORD;
    pub(crate) fn GetComputerNameExW(NameType: i32, lpBuffer: *mut u16, nSize: *mut DWORD) -> BOOL;
    pub(crate) fn ExpandEnvironmentStringsW(lpSrc: *const u16, lpDst: *mut u16, nSize: DWORD) -> DWORD;
    pub(crate) fn CreateDirectoryW(
        lpPathName: *const u16,
        lpSecurityAttributes: *const SECURITY_ATTRIBUTES,
    ) -> BOOL;
    pub(crate) fn LocalFree(hMem: *mut c_void) -> *mut c_void;
    pub(crate) fn GetCurrentThreadId() -> DWORD;
}

#[link(name = "advapi32")]
extern "system" {
    pub(crate) fn RegOpenKeyExW(
        hKey: HKEY,
        lpSubKey: *const u16,
        ulOptions: DWORD,
        samDesired: DWORD,
        phkResult: *mut HKEY,
    ) -> LSTATUS;
    pub(crate) fn RegEnumValueW(
        hKey: HKEY,
        dwIndex: DWORD,
        lpValueName: *mut u16,
        lpcchValueName: *mut DWORD,
        lpReserved: *mut DWORD,
        lpType: *mut DWORD,
        lpData: *mut u8,
        lpcbData: *mut DWORD,
    ) -> LSTATUS;
    pub(crate) fn RegCloseKey(hKey: HKEY) -> LSTATUS;
    pub(crate) fn RegisterEventSourceW(lpUNCServerName: *const u16, lpSourceName: *const u16) -> HANDLE;
    pub(crate) fn ReportEventW(
        hEventLog: HANDLE,
        wType: u16,
        wCategory: u16,
        dwEventID: DWORD,
        lpUserSid: *mut c_void,
        wNumStrings: u16,
        dwDataSize: DWORD,
        lpStrings: *const *const u16,
        lpRawData: *const c_void,
    ) -> BOOL;
    pub(crate) fn DeregisterEventSource(hEventLog: HANDLE) -> BOOL;
    pub(crate) fn ConvertStringSecurityDescriptorToSecurityDescriptorW(
        StringSecurityDescriptor: *const u16,
        StringSDRevision: DWORD,
        SecurityDescriptor: *mut *mut c_void,
        SecurityDescriptorSize: *mut DWORD,
    ) -> BOOL;
}

/// `text` as a NUL-terminated UTF-16 string for a `*W` function.
pub(crate) fn wide(text: &std::ffi::OsStr) -> Vec<u16> {
    use std::os::windows::ffi::OsStrExt;
    text.encode_wide().chain(std::iter::once(0)).collect()
}
