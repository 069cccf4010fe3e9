//! The three functions LSA calls in a password notification package, with the exact
//! signatures of ntsecapi.h (`__stdcall`, i.e. `extern "system"`, undecorated on x86_64).
//!
//! Each body runs inside [`guard`], so that no panic ever unwinds into lsass, and each
//! returns the answer that lets the password change go ahead — whether or not the change
//! could be captured: pwsync must never be the reason a password change fails or a domain
//! controller stops. Nothing here may block for long (see `capture` for the one write).

use crate::capture;
use crate::guard::{guard, install_panic_hook};
use crate::log;
use crate::module_path;
use crate::state;
use crate::unicode_string::UnicodeString;
use crate::win32::{BOOLEAN, NTSTATUS, STATUS_SUCCESS, TRUE};

/// Called once when LSA loads the package. Loads the configuration and reports what is
/// wrong with it; returns TRUE even then, so that the DLL stays loaded and picks up a fixed
/// configuration at the next password change.
#[no_mangle]
pub extern "system" fn InitializeChangeNotify() -> BOOLEAN {
    guard("InitializeChangeNotify", TRUE, || {
        install_panic_hook();
        log::info(&format!(
            "pwsync LSA password filter {} loaded into process {} from {}",
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            module_path::this_module()
                .map_or_else(|| "an unknown path".to_owned(), |path| path.display().to_string())
        ));
        if let Err(error) = state::current() {
            log::error(&format!(
                "{}; password changes are NOT captured until this is fixed (the configuration is read again at every password change)",
                error
            ));
        }
        TRUE
    })
}

/// Called before a password is set, to accept or veto it. pwsync enforces no password
/// policy of its own (the domain's policy and other filters do): it always accepts, and
/// never reads the password.
///
/// # Safety
/// LSA passes valid UNICODE_STRINGs; this function does not dereference them.
#[no_mangle]
pub unsafe extern "system" fn PasswordFilter(
    _account_name: *const UnicodeString,
    _full_name: *const UnicodeString,
    _password: *const UnicodeString,
    _set_operation: BOOLEAN,
) -> BOOLEAN {
    guard("PasswordFilter", TRUE, || TRUE)
}

/// Called after a password has been stored: seals the change into the spool (see
/// `capture`). Always returns STATUS_SUCCESS: the password is already set, and a failure
/// here could only be logged, which `capture` has done.
///
/// # Safety
/// `user_name` and `new_password` must be NULL or valid UNICODE_STRINGs for the duration
/// of the call, as LSA passes them.
#[no_mangle]
pub unsafe extern "system" fn PasswordChangeNotify(
    user_name: *const UnicodeString,
    relative_id: u32,
    new_password: *const UnicodeString,
) -> NTSTATUS {
    guard("PasswordChangeNotify", STATUS_SUCCESS, || {
        // SAFETY: passed on from LSA's (or the caller's) promise above.
        unsafe { capture::password_change(user_name, relative_id, new_password) };
        STATUS_SUCCESS
    })
}
