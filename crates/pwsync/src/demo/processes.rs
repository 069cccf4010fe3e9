//! Starting and stopping the demo's server and client as real child processes, each logging
//! to its own file in the demo directory.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub struct Daemon {
    pub name: &'static str,
    child: Child,
}

pub fn start(name: &'static str, args: &[&str], log: &Path) -> anyhow::Result<Daemon> {
    let exe = std::env::current_exe().context("cannot find the pwsync executable")?;
    let log_file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("cannot start the {name}"))?;
    Ok(Daemon { name, child })
}

impl Daemon {
    /// Fails early, with the log's tail, if the process has died.
    pub fn check_alive(&mut self, log: &Path) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(10).collect();
            bail!(
                "the {} exited ({status}); last log lines:\n{}",
                self.name,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
    }

    /// Asks the process to stop (SIGTERM where available) and waits up to `grace`.
    pub fn stop(mut self, grace: Duration) {
        terminate(&self.child);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Never leave a demo process behind, whatever path the demo leaves by.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(unix)]
fn terminate(child: &Child) {
    // SAFETY: kill(2) with a pid we own and a valid signal number has no memory effects.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
}

#[cfg(not(unix))]
fn terminate(_child: &Child) {}

/// Waits for the server's ready file and returns the address in it.
pub fn wait_ready(
    daemon: &mut Daemon,
    ready_file: &Path,
    log: &Path,
    timeout: Duration,
) -> anyhow::Result<String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(address) = std::fs::read_to_string(ready_file) {
            return Ok(address.trim().to_string());
        }
        daemon.check_alive(log)?;
        if Instant::now() > deadline {
            bail!("the {} did not become ready within {timeout:?}", daemon.name);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
