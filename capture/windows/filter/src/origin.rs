//! The default origin name: this domain controller's DNS name (e.g. `dc1.example.com`), or
//! its NetBIOS name when it has no DNS name — what the ledger shows as where a change was
//! captured.
//!
//! Must never return an empty name or one the record format refuses (over 255 bytes).

use std::ffi::OsString;
use std::os::windows::ffi::OsStringExt;

use pwsync_seal::MAX_ORIGIN_LEN;

use crate::win32;

/// The computer's fully qualified DNS name, else its NetBIOS name.
pub fn computer_name() -> Option<String> {
    [win32::COMPUTER_NAME_DNS_FULLY_QUALIFIED, win32::COMPUTER_NAME_NETBIOS]
        .iter()
        .filter_map(|&format| name_in(format))
        .find(|name| !name.is_empty() && name.len() <= MAX_ORIGIN_LEN && !name.contains('\0'))
}

fn name_in(format: i32) -> Option<String> {
    let mut size = 0u32;
    // SAFETY: a NULL buffer with size 0 asks for the needed size (the call then fails with
    // ERROR_MORE_DATA, which is expected).
    unsafe { win32::GetComputerNameExW(format, std::ptr::null_mut(), &mut size) };
    if size == 0 {
        return None;
    }
    let mut buffer = vec![0u16; size as usize];
    // SAFETY: `buffer` holds `size` units.
    if unsafe { win32::GetComputerNameExW(format, buffer.as_mut_ptr(), &mut size) } == 0 {
        return None;
    }
    OsString::from_wide(&buffer[..size as usize]).into_string().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_a_usable_computer_name() {
        let name = computer_name().unwrap();
        assert!(!name.is_empty() && name.len() <= MAX_ORIGIN_LEN, "{:?}", name);
    }
}
