//! Capture hooks as the storm runs them: real `pwsync-capture` processes, optionally under a
//! skewed clock (libfaketime preloaded) and optionally SIGKILLed at a chosen moment after the
//! password went in — what a domain controller crashing mid-change looks like to the spool.
//!
//! Must never pass the password anywhere but the hook's standard input.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pwsync_testbed::samba_ad::LIBFAKETIME;

/// What the DC learned from the hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// Exit 0: the change is durable and the DC was told so; it must never be lost.
    Acknowledged(String),
    /// SIGKILLed before it answered: the DC never heard back; the change may be absent, but
    /// never half-present or applied with another password.
    Killed,
    /// The hook refused (e.g. the spool was full or read-only) and said so: not captured.
    Refused(i32),
}

/// A clock skew for one origin's hooks, through libfaketime.
#[derive(Debug, Clone)]
pub struct Skew {
    pub offset_s: i64,
}

impl Skew {
    /// None (and why) when libfaketime is not installed.
    pub fn available() -> Result<(), String> {
        if Path::new(LIBFAKETIME).exists() {
            Ok(())
        } else {
            Err(format!("{LIBFAKETIME} missing (Debian package faketime)"))
        }
    }
}

pub struct HookRunner {
    public_key: PathBuf,
}

impl HookRunner {
    pub fn new(public_key: &Path) -> HookRunner {
        HookRunner { public_key: public_key.to_path_buf() }
    }

    /// Runs one capture; `kill_after` SIGKILLs the hook that long after its input was written.
    /// Returns the outcome and how long the hook ran.
    #[allow(clippy::too_many_arguments)]
    pub fn capture(
        &self,
        spool: &Path,
        account: &str,
        upn: &str,
        password: &str,
        origin: &str,
        skew: Option<&Skew>,
        kill_after: Option<Duration>,
    ) -> (HookOutcome, Duration) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pwsync-capture"));
        command
            .arg("--spool")
            .arg(spool)
            .arg("--key")
            .arg(&self.public_key)
            .args(["--account", account, "--upn", upn, "--origin", origin, "--print-id", "--exact-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(skew) = skew {
            // The offset keeps the clock running, shifted; no cache, so every call asks.
            command
                .env("LD_PRELOAD", LIBFAKETIME)
                .env("FAKETIME", format!("{:+}s", skew.offset_s))
                .env("FAKETIME_NO_CACHE", "1");
        }
        let started = Instant::now();
        let mut child = command.spawn().unwrap();
        // A hook killed before it read everything closes the pipe: that is part of the fault.
        let _ = child.stdin.take().unwrap().write_all(password.as_bytes());
        if let Some(delay) = kill_after {
            std::thread::sleep(delay);
            let _ = child.kill();
        }
        let output = child.wait_with_output().unwrap();
        let took = started.elapsed();
        let outcome = if output.status.signal() == Some(libc::SIGKILL) {
            HookOutcome::Killed
        } else if output.status.success() {
            let id = String::from_utf8(output.stdout).unwrap().trim().to_string();
            assert_eq!(id.len(), 32, "the hook printed no change id");
            HookOutcome::Acknowledged(id)
        } else {
            HookOutcome::Refused(output.status.code().unwrap_or(-1))
        };
        (outcome, took)
    }
}
