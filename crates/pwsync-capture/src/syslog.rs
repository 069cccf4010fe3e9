//! Reports a capture failure to the system log (facility authpriv), where it reaches the
//! journal even when the program that ran the hook (Samba, a PAM stack) keeps no stderr.
//!
//! The message is passed as an argument to a constant "%s" format, never as the format itself.
//! It must never contain a password.

use std::ffi::CString;

pub fn error(message: &str) {
    let Ok(message) = CString::new(message.replace('\0', " ")) else { return };
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call, and
    // the format consumes exactly one string argument.
    unsafe {
        libc::openlog(c"pwsync-capture".as_ptr(), libc::LOG_PID, libc::LOG_AUTHPRIV);
        libc::syslog(libc::LOG_ERR, c"%s".as_ptr(), message.as_ptr());
        libc::closelog();
    }
}
