//! [`Case`]: one password change of the test table and what the DLL must make of it.
//!
//! It deliberately has no `Debug`: the passwords in it are test data, but the harness and
//! verify print case names only, the way real code treats passwords.

use crate::Utf16Input;

/// One password change: what PasswordChangeNotify receives and what must follow.
pub struct Case {
    /// Short name, printed by the harness and verify.
    pub name: &'static str,
    /// The RelativeId passed to PasswordChangeNotify; unique per case, so that the DLL's
    /// log line about the case can be found.
    pub rid: u32,
    /// The UserName UNICODE_STRING.
    pub account: Utf16Input,
    /// The NewPassword UNICODE_STRING.
    pub password: Utf16Input,
    /// What the DLL must do with it.
    pub expect: Expect,
}

/// The outcome a case requires.
pub enum Expect {
    /// Exactly one record in the spool, opened with the secret key, holding exactly this
    /// account and password.
    Captured {
        /// The account the record must carry.
        account: String,
        /// The password the record must carry.
        password: String,
    },
    /// No record, and a log line that names the case's RID and contains `log_fragment`.
    Refused {
        /// Part of the DLL's explanation, e.g. "odd byte length".
        log_fragment: &'static str,
    },
}
