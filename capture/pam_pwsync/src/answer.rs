//! [`Outcome`] and [`answer`]: what the module tells PAM after each call.
//!
//! The rule the whole module exists to keep: without `reject_on_failure` the answer is only
//! ever `PAM_SUCCESS` or `PAM_IGNORE`, so pwsync can never be the reason a password change
//! fails. With it, a failure becomes the failure code PAM expects for the pass.

use pam::constants::PamResultCode;
use pwsync_spool::Captured;

use crate::{CaptureFailure, Phase};

/// What one call of `pam_sm_chauthtok` did.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing to do in this pass.
    Skipped,
    /// Preliminary pass with `reject_on_failure`: the key loads and the spool opens.
    Ready,
    /// Update pass: the change is in the spool.
    Captured(Captured),
    /// The change was not (or, in the preliminary pass, could not be) captured.
    Failed(CaptureFailure),
}

/// The PAM result for `outcome` in `phase`.
pub fn answer(phase: Phase, outcome: &Outcome, reject_on_failure: bool) -> PamResultCode {
    match outcome {
        Outcome::Skipped => PamResultCode::PAM_IGNORE,
        Outcome::Ready | Outcome::Captured(_) => PamResultCode::PAM_SUCCESS,
        Outcome::Failed(_) if !reject_on_failure => PamResultCode::PAM_IGNORE,
        // The preliminary pass's failure code: the application is told to stop, and no
        // module changes the password.
        Outcome::Failed(_) if phase == Phase::PrelimCheck => PamResultCode::PAM_TRY_AGAIN,
        Outcome::Failed(_) => PamResultCode::PAM_AUTHTOK_ERR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> Outcome {
        Outcome::Failed(CaptureFailure::NoNewPassword)
    }

    #[test]
    fn without_reject_on_failure_only_success_or_ignore() {
        for phase in [Phase::PrelimCheck, Phase::UpdateAuthtok, Phase::Other] {
            assert_eq!(answer(phase, &failed(), false), PamResultCode::PAM_IGNORE);
            assert_eq!(answer(phase, &Outcome::Skipped, false), PamResultCode::PAM_IGNORE);
            assert_eq!(answer(phase, &Outcome::Ready, false), PamResultCode::PAM_SUCCESS);
        }
    }

    #[test]
    fn with_reject_on_failure_a_failure_fails_the_pass() {
        assert_eq!(answer(Phase::PrelimCheck, &failed(), true), PamResultCode::PAM_TRY_AGAIN);
        assert_eq!(answer(Phase::UpdateAuthtok, &failed(), true), PamResultCode::PAM_AUTHTOK_ERR);
        assert_eq!(
            answer(Phase::UpdateAuthtok, &Outcome::Failed(CaptureFailure::Panicked), true),
            PamResultCode::PAM_AUTHTOK_ERR
        );
    }

    #[test]
    fn skipped_and_successful_calls_do_not_depend_on_the_flag() {
        let captured = Outcome::Captured(Captured {
            id: pwsync_seal::ChangeId::from_bytes([1; 16]),
            captured_at_ns: 1,
            origin_seq: 1,
            path: std::path::PathBuf::from("/spool/record.pws"),
        });
        for reject_on_failure in [false, true] {
            assert_eq!(answer(Phase::Other, &Outcome::Skipped, reject_on_failure), PamResultCode::PAM_IGNORE);
            assert_eq!(
                answer(Phase::PrelimCheck, &Outcome::Ready, reject_on_failure),
                PamResultCode::PAM_SUCCESS
            );
            assert_eq!(
                answer(Phase::UpdateAuthtok, &captured, reject_on_failure),
                PamResultCode::PAM_SUCCESS
            );
        }
    }
}
