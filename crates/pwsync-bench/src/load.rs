//! The change stream: passwords that carry a canary prefix (so any leak can be found by
//! scanning), captured either through real `pwsync-capture` processes (as a DC's hook runs
//! them) or, for mass resets, through the spool crate's own `Spool::capture`, many per process.
//!
//! A password goes only to a hook's stdin or into the sealing call: never to argv, the
//! environment, a log or a file in clear.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::distr::{Alphanumeric, SampleString};
use zeroize::Zeroizing;

/// Every benchmark password starts with this; the leak check looks for it.
pub const CANARY_PREFIX: &str = "pwsync-canary-";

pub fn password() -> Zeroizing<String> {
    Zeroizing::new(format!("{CANARY_PREFIX}{}-Aa1!", Alphanumeric.sample_string(&mut rand::rng(), 20)))
}

pub struct HookCall<'a> {
    pub capture: &'a Path,
    pub spool: &'a Path,
    pub public_key: &'a Path,
    pub origin: &'a str,
}

impl HookCall<'_> {
    /// Runs one hook process for `account` and returns its time from spawn to exit.
    pub fn run(&self, account: &str, upn: Option<&str>) -> anyhow::Result<Duration> {
        let password = password();
        let started = Instant::now();
        let mut command = Command::new(self.capture);
        command.arg("--spool").arg(self.spool).arg("--key").arg(self.public_key).args([
            "--account",
            account,
            "--origin",
            self.origin,
            "--exact-stdin",
        ]);
        if let Some(upn) = upn {
            command.args(["--upn", upn]);
        }
        let mut child = command
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
                "the capture hook exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(took)
    }
}

/// Captures `count` changes at `rate` per second, one hook process at a time (light load).
pub fn paced_hooks(
    call: &HookCall,
    count: usize,
    rate: f64,
    account: impl Fn(usize) -> (String, Option<String>),
) -> anyhow::Result<Vec<Duration>> {
    let started = Instant::now();
    let mut durations = Vec::with_capacity(count);
    for index in 0..count {
        let due = started + Duration::from_secs_f64(index as f64 / rate.max(0.001));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let (name, upn) = account(index);
        durations.push(call.run(&name, upn.as_deref())?);
    }
    Ok(durations)
}

/// Fills each spool with its share of `changes` sealed records, as the hook would write them
/// (stamp under the origin lock, HPKE seal, durable write), on `threads` threads. Account
/// names are distinct across all spools, so that no change supersedes another.
pub fn fill_spools(
    spools: &[(&Path, &str)],
    public_key: &pwsync_seal::PublicKey,
    changes: usize,
    threads: usize,
    upn: impl Fn(usize) -> Option<String> + Sync,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let opened: Vec<pwsync_spool::Spool> =
        spools.iter().map(|(path, _)| pwsync_spool::Spool::open(path)).collect::<Result<_, _>>()?;
    let failure = std::sync::Mutex::new(None::<String>);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= changes || failure.lock().unwrap().is_some() {
                    return;
                }
                let which = index % spools.len();
                let input = pwsync_spool::CaptureInput {
                    account: format!("user{index:06}"),
                    upn: upn(index),
                    password: pwsync_seal::Password::new(password().to_string()),
                    origin: spools[which].1.to_string(),
                    source: pwsync_seal::SourceKind::Generic,
                };
                if let Err(error) = opened[which].capture(public_key, input) {
                    *failure.lock().unwrap() = Some(error.to_string());
                }
            });
        }
    });
    if let Some(error) = failure.into_inner().unwrap() {
        bail!("cannot fill the spools: {error}");
    }
    Ok(started.elapsed())
}

/// Files under `dir` holding the canary prefix (a password in clear), and how many were read.
pub fn leak_scan(dir: &Path) -> anyhow::Result<(Vec<std::path::PathBuf>, usize)> {
    let needle = CANARY_PREFIX.as_bytes();
    let mut hits = Vec::new();
    let mut scanned = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                scanned += 1;
                let bytes = std::fs::read(entry.path())?;
                if bytes.windows(needle.len()).any(|window| window == needle) {
                    hits.push(entry.path());
                }
            }
        }
    }
    Ok((hits, scanned))
}

/// Fails, naming the files, if any file under `dir` holds a password in clear.
pub fn assert_no_leak(dir: &Path) -> anyhow::Result<usize> {
    let (hits, scanned) = leak_scan(dir)?;
    if !hits.is_empty() {
        bail!("a benchmark password was found in clear in: {hits:?}");
    }
    Ok(scanned)
}
