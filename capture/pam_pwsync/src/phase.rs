//! [`Phase`]: which of the two passes of `pam_chauthtok` the module is being called in.
//!
//! pam-bindings 0.4 does not define the two flags, so they are copied here from Linux-PAM's
//! `<security/pam_modules.h>`. This must never guess: flags that name neither pass are
//! [`Phase::Other`], on which the module does nothing.

use pam::constants::PamFlag;

/// First pass: every module checks it could change the token; nothing is changed yet.
pub const PAM_PRELIM_CHECK: PamFlag = 0x4000;
/// Second pass: the token is changed; `PAM_AUTHTOK` holds the new password.
pub const PAM_UPDATE_AUTHTOK: PamFlag = 0x2000;

/// The pass of `pam_chauthtok` named by a module's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `PAM_PRELIM_CHECK`.
    PrelimCheck,
    /// `PAM_UPDATE_AUTHTOK`.
    UpdateAuthtok,
    /// Neither flag (Linux-PAM never does this, other callers might).
    Other,
}

impl Phase {
    /// Reads the pass from `flags`; other bits (`PAM_SILENT`, `PAM_CHANGE_EXPIRED_AUTHTOK`)
    /// do not matter.
    pub fn from_flags(flags: PamFlag) -> Phase {
        // Linux-PAM never sets both; if a caller did, capturing is the safe reading because
        // skipping would lose a change.
        if flags & PAM_UPDATE_AUTHTOK != 0 {
            Phase::UpdateAuthtok
        } else if flags & PAM_PRELIM_CHECK != 0 {
            Phase::PrelimCheck
        } else {
            Phase::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pam::constants::{PAM_CHANGE_EXPIRED_AUTHTOK, PAM_SILENT};

    #[test]
    fn reads_each_pass_whatever_the_other_flags() {
        assert_eq!(Phase::from_flags(0x4000), Phase::PrelimCheck);
        assert_eq!(Phase::from_flags(0x2000), Phase::UpdateAuthtok);
        assert_eq!(Phase::from_flags(PAM_SILENT | PAM_PRELIM_CHECK), Phase::PrelimCheck);
        assert_eq!(
            Phase::from_flags(PAM_SILENT | PAM_CHANGE_EXPIRED_AUTHTOK | PAM_UPDATE_AUTHTOK),
            Phase::UpdateAuthtok
        );
    }

    #[test]
    fn flags_without_a_pass_are_other() {
        assert_eq!(Phase::from_flags(0), Phase::Other);
        assert_eq!(Phase::from_flags(PAM_SILENT | PAM_CHANGE_EXPIRED_AUTHTOK), Phase::Other);
    }
}
