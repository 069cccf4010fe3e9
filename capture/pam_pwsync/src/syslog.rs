//! Writes the module's log lines to syslog (facility `authpriv`, where PAM modules log).
//!
//! The format string is the fixed `"%s"`, so a message is never read as a format. It does
//! not call `openlog`: the process belongs to the application, whose identity and syslog
//! settings stay as they are. Callers must never pass text that contains the password.

use std::ffi::CString;

/// Every line starts with this, so that operators can grep the module's lines.
const PREFIX: &str = "pam_pwsync: ";

/// Logs a failure (`LOG_ERR`).
pub fn error(message: &str) {
    write(libc::LOG_ERR, message);
}

/// Logs a `debug` success line (`LOG_INFO`).
pub fn info(message: &str) {
    write(libc::LOG_INFO, message);
}

fn write(level: libc::c_int, message: &str) {
    let line = c_line(message);
    // SAFETY: the format is a NUL-terminated literal whose one `%s` consumes exactly the one
    // argument given, and `line` is a NUL-terminated string that outlives the call.
    unsafe { libc::syslog(libc::LOG_AUTHPRIV | level, c"%s".as_ptr(), line.as_ptr()) };
}

/// The line as a C string, with every ASCII control character escaped: a NUL would cut the
/// line short, and a newline from an account or path name could forge a second log line.
fn c_line(message: &str) -> CString {
    let mut line = String::with_capacity(PREFIX.len() + message.len());
    line.push_str(PREFIX);
    for character in message.chars() {
        if character.is_ascii_control() {
            line.push_str(&character.escape_default().to_string());
        } else {
            line.push(character);
        }
    }
    // Cannot fail: every NUL was escaped above.
    CString::new(line).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_prefixed_and_control_characters_escaped() {
        let line = c_line("account \"eve\nforged\" in /spool\0x");
        assert_eq!(line.to_str().unwrap(), "pam_pwsync: account \"eve\\nforged\" in /spool\\u{0}x");
    }

    #[test]
    fn non_ascii_text_is_kept() {
        assert_eq!(c_line("José").to_str().unwrap(), "pam_pwsync: José");
    }
}
