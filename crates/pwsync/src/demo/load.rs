//! The demo's load: many `pwsync capture` processes, exactly as a DC's password hook would run
//! them, each timed from spawn to exit.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::distr::{Alphanumeric, SampleString};
use zeroize::Zeroizing;

/// Every demo password starts with this, so that anyone can scan the demo directory for leaks.
pub const CANARY_PREFIX: &str = "pwsync-canary-";

pub struct LoadPlan<'a> {
    pub spool: &'a Path,
    pub public_key: &'a Path,
    pub changes: usize,
    pub accounts: usize,
    pub parallel: usize,
    pub rate: f64,
}

pub struct LoadResult {
    pub hook_durations: Vec<Duration>,
    pub elapsed: Duration,
}

pub fn demo_password() -> Zeroizing<String> {
    Zeroizing::new(format!("{CANARY_PREFIX}{}-Aa1!", Alphanumeric.sample_string(&mut rand::rng(), 20)))
}

/// The hook program: `pwsync-capture` beside this executable, else `pwsync capture`.
fn hook_command() -> anyhow::Result<(std::path::PathBuf, Vec<&'static str>)> {
    let exe = std::env::current_exe()?;
    let small = exe.with_file_name(format!("pwsync-capture{}", std::env::consts::EXE_SUFFIX));
    if small.is_file() {
        Ok((small, vec![]))
    } else {
        Ok((exe, vec!["capture"]))
    }
}

pub fn run(plan: &LoadPlan) -> anyhow::Result<LoadResult> {
    let hook = hook_command()?;
    let next = AtomicUsize::new(0);
    let durations = Mutex::new(Vec::with_capacity(plan.changes));
    let failure = Mutex::new(None::<String>);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..plan.parallel.max(1) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= plan.changes || failure.lock().unwrap().is_some() {
                    return;
                }
                if plan.rate > 0.0 {
                    let due = started + Duration::from_secs_f64(index as f64 / plan.rate);
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                }
                let account = format!("user{:05}", index % plan.accounts.max(1));
                match capture_one(&hook, plan, &account) {
                    Ok(took) => durations.lock().unwrap().push(took),
                    Err(error) => *failure.lock().unwrap() = Some(format!("{error:#}")),
                }
            });
        }
    });
    if let Some(error) = failure.into_inner().unwrap() {
        bail!("a capture failed: {error}");
    }
    let mut hook_durations = durations.into_inner().unwrap();
    hook_durations.sort();
    Ok(LoadResult { hook_durations, elapsed: started.elapsed() })
}

fn capture_one(
    hook: &(std::path::PathBuf, Vec<&str>),
    plan: &LoadPlan,
    account: &str,
) -> anyhow::Result<Duration> {
    let password = demo_password();
    let started = Instant::now();
    let mut child = Command::new(&hook.0)
        .args(&hook.1)
        .arg("--spool")
        .arg(plan.spool)
        .arg("--key")
        .arg(plan.public_key)
        .args(["--account", account, "--origin", super::setup::DEMO_CLIENT, "--exact-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start the capture hook")?;
    child.stdin.take().context("no stdin")?.write_all(password.as_bytes())?;
    let output = child.wait_with_output()?;
    let took = started.elapsed();
    if !output.status.success() {
        bail!(
            "pwsync capture exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(took)
}
