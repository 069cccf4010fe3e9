//! [`PwsyncModule`]: the `pam_sm_chauthtok` hook — reads `PAM_USER` and `PAM_AUTHTOK` in the
//! update pass, captures the change, logs the outcome and answers PAM.
//!
//! It must never let a panic reach PAM (everything runs under `catch_unwind`, inside the one
//! pam-bindings puts around every hook), never answer a failure unless `reject_on_failure`
//! is given, and never hold the new password beyond the capture: it only borrows PAM's copy.

use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pam::constants::{PamFlag, PamResultCode};
use pam::items::{AuthTok, User};
use pam::module::{PamHandle, PamHooks};

use crate::answer::{answer, Outcome};
use crate::arguments::{rejects_on_failure, ModuleArguments};
use crate::capture::{capture_change, check_ready};
use crate::{syslog, CaptureFailure, Phase};

/// The PAM module. Only the password hook does anything; the others answer `PAM_IGNORE`.
pub struct PwsyncModule;

impl PamHooks for PwsyncModule {
    fn sm_chauthtok(pamh: &mut PamHandle, args: Vec<&CStr>, flags: PamFlag) -> PamResultCode {
        let phase = Phase::from_flags(flags);
        let reject_on_failure = rejects_on_failure(&args);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let call = run(pamh, &args, phase);
            report(&call, phase, reject_on_failure);
            call.outcome
        }))
        .unwrap_or_else(|payload| {
            // Dropping a panic payload can itself panic; leaking it once is the safe choice.
            std::mem::forget(payload);
            let failure = CaptureFailure::Panicked;
            syslog::error(&failure_line(None, &failure, phase, reject_on_failure));
            Outcome::Failed(failure)
        });
        answer(phase, &outcome, reject_on_failure)
    }
}

/// One call's outcome with what the log line needs.
struct Call {
    outcome: Outcome,
    account: Option<String>,
    debug: bool,
    arguments: Option<ModuleArguments>,
}

impl Call {
    fn new(outcome: Outcome) -> Call {
        Call { outcome, account: None, debug: false, arguments: None }
    }
}

fn run(pamh: &PamHandle, args: &[&CStr], phase: Phase) -> Call {
    let has_work = match phase {
        Phase::UpdateAuthtok => true,
        // Without reject_on_failure this pass has nothing to decide; not even parsing the
        // arguments keeps a broken line from being logged twice per change.
        Phase::PrelimCheck => rejects_on_failure(args),
        Phase::Other => false,
    };
    if !has_work {
        return Call::new(Outcome::Skipped);
    }
    let arguments = match ModuleArguments::parse(args) {
        Ok(arguments) => arguments,
        Err(error) => return Call::new(Outcome::Failed(error.into())),
    };
    let debug = arguments.debug;
    if phase == Phase::PrelimCheck {
        let outcome = match check_ready(&arguments) {
            Ok(()) => Outcome::Ready,
            Err(failure) => Outcome::Failed(failure),
        };
        // Only to name the account in the log line; the check does not depend on it.
        let account = account_name(pamh).ok();
        return Call { outcome, account, debug, arguments: Some(arguments) };
    }
    let account = match account_name(pamh) {
        Ok(account) => account,
        Err(failure) => {
            return Call { debug, arguments: Some(arguments), ..Call::new(Outcome::Failed(failure)) }
        }
    };
    let outcome =
        match new_password_then(pamh, |password| capture_change(&arguments, account.clone(), password)) {
            Ok(captured) => Outcome::Captured(captured),
            Err(failure) => Outcome::Failed(failure),
        };
    Call { outcome, account: Some(account), debug, arguments: Some(arguments) }
}

/// `PAM_USER`, as already set by the application (never prompted for: a password change
/// always knows whose password it is).
fn account_name(pamh: &PamHandle) -> Result<String, CaptureFailure> {
    let user = pamh
        .get_item::<User>()
        .map_err(|code| CaptureFailure::PamItem { item: "PAM_USER", code: format!("{code:?}") })?
        .ok_or(CaptureFailure::NoUser)?;
    user.0.to_str().map(str::to_owned).map_err(|_| CaptureFailure::UserNotUtf8)
}

/// Lends PAM's own copy of the new password to `capture` and nothing else; NULL is an error.
fn new_password_then<T>(
    pamh: &PamHandle,
    capture: impl FnOnce(&[u8]) -> Result<T, CaptureFailure>,
) -> Result<T, CaptureFailure> {
    let token = pamh
        .get_item::<AuthTok>()
        .map_err(|code| CaptureFailure::PamItem { item: "PAM_AUTHTOK", code: format!("{code:?}") })?
        .ok_or(CaptureFailure::NoNewPassword)?;
    capture(token.as_bytes())
}

fn report(call: &Call, phase: Phase, reject_on_failure: bool) {
    match (&call.outcome, &call.arguments) {
        (Outcome::Failed(failure), _) => {
            syslog::error(&failure_line(call.account.as_deref(), failure, phase, reject_on_failure))
        }
        (Outcome::Captured(captured), Some(arguments)) if call.debug => syslog::info(&format!(
            "captured the password change of account {:?} as record {} in spool {}",
            call.account.as_deref().unwrap_or_default(),
            captured.id,
            arguments.spool.display()
        )),
        (Outcome::Ready, Some(arguments)) if call.debug => syslog::info(&format!(
            "preliminary check passed: key {} loads, spool {} opens",
            arguments.key.display(),
            arguments.spool.display()
        )),
        _ => {}
    }
}

/// The log line of a failure: what was not captured, why, and what happens to the change.
fn failure_line(
    account: Option<&str>,
    failure: &CaptureFailure,
    phase: Phase,
    reject_on_failure: bool,
) -> String {
    let whose = match account {
        Some(account) => format!("of account {account:?}"),
        None => "(account unknown)".to_owned(),
    };
    let consequence = match (reject_on_failure, phase) {
        (false, _) => "the password change goes ahead uncaptured (add reject_on_failure to refuse it instead)",
        (true, Phase::PrelimCheck) => "the password change is refused before any module makes it (reject_on_failure)",
        (true, _) => {
            "PAM reports the change as failed (reject_on_failure), but modules listed before pam_pwsync may already have made it"
        }
    };
    format!("password change {whose} NOT captured: {failure}; {consequence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_line_names_account_cause_and_consequence() {
        let line = failure_line(Some("alice"), &CaptureFailure::NoNewPassword, Phase::UpdateAuthtok, false);
        assert!(line.contains("\"alice\"") && line.contains("NOT captured"), "{line}");
        assert!(line.contains("PAM_AUTHTOK is not set"), "{line}");
        assert!(line.contains("goes ahead uncaptured"), "{line}");
    }

    #[test]
    fn the_consequence_follows_the_flag_and_the_pass() {
        let prelim = failure_line(None, &CaptureFailure::Panicked, Phase::PrelimCheck, true);
        assert!(prelim.contains("(account unknown)") && prelim.contains("refused before"), "{prelim}");
        let update = failure_line(None, &CaptureFailure::Panicked, Phase::UpdateAuthtok, true);
        assert!(update.contains("may already have made it"), "{update}");
    }
}
