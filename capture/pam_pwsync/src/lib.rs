//! `pam_pwsync.so`: the pwsync capture hook for Linux hosts, a PAM password module.
//!
//! Listed after `pam_unix.so` in a `password` stack, it is called once the new password has
//! been set (`PAM_UPDATE_AUTHTOK`), seals `(PAM_USER, PAM_AUTHTOK, now, this host)` to the
//! spool public key and writes the record durably into the spool. Its only configuration is
//! its module arguments (`spool=`, `key=`, `debug`, `reject_on_failure`); see
//! docs/deploy-pam.md.
//!
//! It runs inside somebody else's password change (passwd, sshd, a display manager), so it
//! must never break or stall that change unless `reject_on_failure` asks it to, never let a
//! panic cross into C, never start a runtime or touch the network, and never put the password
//! anywhere but the seal: not in a log line, an error, or a buffer that outlives the call.

mod answer;
mod arguments;
mod capture;
mod failure;
mod hook;
mod origin;
mod phase;
mod syslog;

pub use arguments::{ArgumentError, ModuleArguments};
pub use failure::CaptureFailure;
pub use hook::PwsyncModule;
pub use phase::{Phase, PAM_PRELIM_CHECK, PAM_UPDATE_AUTHTOK};

// Exports the `pam_sm_*` entry points; each runs its hook under `catch_unwind`.
pam::pam_hooks!(PwsyncModule);
