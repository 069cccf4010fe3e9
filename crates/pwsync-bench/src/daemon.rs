//! The server, client and Graph emulator as real child processes: started with their output in
//! a log file, waited for through their ready files, watched for an early exit, stopped with
//! SIGTERM (SIGKILL after a grace period).
//!
//! A `Daemon` never outlives the benchmark: dropping it kills and reaps the process.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub struct Daemon {
    pub name: String,
    pub log: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    pub fn start(name: &str, program: &Path, args: &[&str], log: &Path) -> anyhow::Result<Daemon> {
        let log_file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start the {name} ({})", program.display()))?;
        Ok(Daemon { name: name.into(), log: log.into(), child: Some(child) })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits for `ready_file` to hold the address the process bound, and returns it.
    pub fn wait_ready(&mut self, ready_file: &Path, timeout: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(text) = std::fs::read_to_string(ready_file) {
                if !text.trim().is_empty() {
                    return Ok(text.trim().to_string());
                }
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                bail!("the {} was not ready after {timeout:?}; see {}", self.name, self.log.display());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Fails, with the last lines of its log, if the process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        let Some(child) = self.child.as_mut() else { bail!("the {} was stopped", self.name) };
        if let Some(status) = child.try_wait()? {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(10).collect();
            bail!(
                "the {} exited ({status}); last log lines:\n{}",
                self.name,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
    }

    /// SIGTERM, then up to `grace` for a clean exit, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else { return };
        // SAFETY: signalling our own child by its pid; it has not been reaped yet.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
