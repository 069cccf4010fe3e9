//! The `exec` target: runs a program per change and hands it the change as JSON on stdin.
//!
//! This is the door the original product used (a PowerShell process per request), kept open
//! for any system pwsync has no built-in target for. The program gets a clean environment,
//! the password only on stdin (never argv or env), and its verdict is read from its exit status
//! and, optionally, one JSON object on stdout.
//!
//! Exit status: 0 applied; 75 (EX_TEMPFAIL) transient; any other status rejected. A stdout
//! object `{"result": "applied"|"rejected"|"retry", "reason": "...", "retry_after_secs": N}`
//! takes precedence. A timeout kills the program and counts as transient.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::{ApplyFuture, ApplyRequest, Target, TargetOutcome};
use crate::redact::scrub;

/// Exit status by which a program says "try again later" (sysexits.h EX_TEMPFAIL).
pub const EXIT_TRANSIENT: i32 = 75;
/// Most output read from the program's stdout and stderr each.
const MAX_OUTPUT_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExecConfig {
    /// Name of the target in the ledger and in verdicts.
    pub name: String,
    /// Absolute path of the program.
    pub program: PathBuf,
    /// Arguments (never the password: it comes on stdin).
    #[serde(default)]
    pub args: Vec<String>,
    /// Kill the program after this long and retry later.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// How many programs may run at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

fn default_timeout_ms() -> u64 {
    30_000
}

fn default_concurrency() -> usize {
    4
}

pub struct ExecTarget {
    name: String,
    config: ExecConfig,
}

impl ExecTarget {
    pub fn new(config: &ExecConfig) -> Result<Self, String> {
        let name = &config.name;
        if !config.program.is_absolute() {
            return Err(format!("exec target {name}: program must be an absolute path"));
        }
        if !config.program.is_file() {
            return Err(format!("exec target {name}: program {} does not exist", config.program.display()));
        }
        if config.concurrency == 0 {
            return Err(format!("exec target {name}: concurrency must be at least 1"));
        }
        Ok(ExecTarget { name: name.clone(), config: config.clone() })
    }

    async fn run(&self, request: &ApplyRequest) -> TargetOutcome {
        let mut child = match Command::new(&self.config.program)
            .args(&self.config.args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("PWSYNC_TARGET", &self.name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                // A configuration problem: keep the change pending (it is not the change's fault).
                tracing::error!(target_name = %self.name, %error, "cannot start the exec target's program");
                return transient(format!("cannot start {}: {error}", self.config.program.display()));
            }
        };

        let document = zeroize::Zeroizing::new(stdin_document(request));
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let conversation = async {
            // A program that exits without reading stdin is not an error of ours.
            let _ = stdin.write_all(document.as_bytes()).await;
            drop(stdin);
            let mut out = Vec::new();
            let mut err = Vec::new();
            let _ = (&mut stdout).take(MAX_OUTPUT_BYTES).read_to_end(&mut out).await;
            let _ = (&mut stderr).take(MAX_OUTPUT_BYTES).read_to_end(&mut err).await;
            let status = child.wait().await;
            (status, out, err)
        };
        let timeout = Duration::from_millis(self.config.timeout_ms);
        let Ok((status, stdout, stderr)) = tokio::time::timeout(timeout, conversation).await else {
            return transient(format!("the program did not finish within {} ms", self.config.timeout_ms));
        };
        let password = request.password.expose();
        let stdout = zeroize::Zeroizing::new(String::from_utf8_lossy(&stdout).into_owned());
        let stderr = scrub(&String::from_utf8_lossy(&stderr), password);
        let status = match status {
            Ok(status) => status,
            Err(error) => return transient(format!("waiting for the program failed: {error}")),
        };
        if let Some(verdict) = parse_stdout_verdict(&stdout, password) {
            return verdict;
        }
        let detail = if stderr.is_empty() { String::new() } else { format!(": {stderr}") };
        match status.code() {
            Some(0) => TargetOutcome::Applied,
            Some(EXIT_TRANSIENT) => transient(format!("the program asked to retry{detail}")),
            Some(code) => {
                TargetOutcome::Rejected { reason: format!("the program exited with status {code}{detail}") }
            }
            None => transient(format!("the program was killed by a signal{detail}")),
        }
    }
}

fn transient(reason: String) -> TargetOutcome {
    TargetOutcome::Transient { reason, retry_after: None }
}

#[derive(Serialize)]
struct StdinDocument<'a> {
    version: u32,
    change_id: &'a str,
    domain: &'a str,
    account: &'a str,
    identity: &'a pwsync_proto::Identity,
    password: &'a str,
    captured_at_ns: i64,
    origin: &'a str,
}

fn stdin_document(request: &ApplyRequest) -> String {
    let document = StdinDocument {
        version: 1,
        change_id: &request.change_id,
        domain: &request.domain,
        account: &request.account,
        identity: &request.identity,
        password: request.password.expose(),
        captured_at_ns: request.captured_at_ns,
        origin: &request.origin,
    };
    let mut text = serde_json::to_string(&document).unwrap_or_default();
    text.push('\n');
    text
}

#[derive(Deserialize)]
struct StdoutVerdict {
    result: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    retry_after_secs: Option<u64>,
}

fn parse_stdout_verdict(stdout: &str, password: &str) -> Option<TargetOutcome> {
    let line = stdout.lines().rev().find(|line| line.trim_start().starts_with('{'))?;
    let verdict: StdoutVerdict = serde_json::from_str(line.trim()).ok()?;
    let reason = scrub(verdict.reason.as_deref().unwrap_or(""), password);
    match verdict.result.as_str() {
        "applied" => Some(TargetOutcome::Applied),
        "rejected" => Some(TargetOutcome::Rejected {
            reason: if reason.is_empty() { "rejected by the program".into() } else { reason },
        }),
        "retry" => Some(TargetOutcome::Transient {
            reason: if reason.is_empty() { "the program asked to retry".into() } else { reason },
            retry_after: verdict.retry_after_secs.map(Duration::from_secs),
        }),
        _ => None,
    }
}

impl Target for ExecTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn concurrency(&self) -> usize {
        self.config.concurrency
    }

    fn apply<'a>(&'a self, request: &'a ApplyRequest) -> ApplyFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let outcome = self.run(request).await;
            tracing::debug!(target_name = %self.name, change_id = %request.change_id,
                elapsed_ms = started.elapsed().as_millis() as u64, "exec target finished");
            outcome
        })
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use pwsync_proto::{Identity, SecretString};
    use std::os::unix::fs::PermissionsExt;

    fn request(password: &str) -> ApplyRequest {
        ApplyRequest {
            change_id: "c1".into(),
            domain: "corp.example".into(),
            account: "alice".into(),
            identity: Identity::default(),
            password: SecretString::new(password.into()),
            captured_at_ns: 1,
            origin: "dc1".into(),
        }
    }

    fn script(dir: &std::path::Path, body: &str) -> ExecTarget {
        let path = dir.join("target.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        ExecTarget::new(&ExecConfig {
            name: "script".into(),
            program: path,
            args: vec![],
            timeout_ms: 2000,
            concurrency: 1,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn exit_status_decides_and_stdin_carries_the_password() {
        let dir = tempdir();
        let target = script(&dir, r#"grep -q '"password":"S3cret-ü"' && exit 0; exit 1"#);
        assert_eq!(target.apply(&request("S3cret-ü")).await, TargetOutcome::Applied);
        assert!(matches!(target.apply(&request("other")).await, TargetOutcome::Rejected { .. }));
        let target = script(&dir, "cat >/dev/null; exit 75");
        assert!(matches!(target.apply(&request("x")).await, TargetOutcome::Transient { .. }));
    }

    #[tokio::test]
    async fn an_echoed_password_is_scrubbed_from_the_reason() {
        let dir = tempdir();
        let target = script(&dir, r#"cat >&2; exit 2"#);
        let TargetOutcome::Rejected { reason } = target.apply(&request("pwsync-canary-LEAK")).await else {
            panic!("expected a rejection")
        };
        assert!(!reason.contains("pwsync-canary-LEAK"), "{reason}");
        assert!(reason.contains("<redacted>"));
    }

    #[tokio::test]
    async fn stdout_json_overrides_and_a_timeout_is_transient() {
        let dir = tempdir();
        let target = script(
            &dir,
            r#"cat >/dev/null; echo '{"result":"retry","reason":"busy","retry_after_secs":7}'; exit 0"#,
        );
        assert_eq!(
            target.apply(&request("x")).await,
            TargetOutcome::Transient { reason: "busy".into(), retry_after: Some(Duration::from_secs(7)) }
        );
        let mut slow = script(&dir, "sleep 5");
        slow.config.timeout_ms = 200;
        assert!(matches!(slow.apply(&request("x")).await, TargetOutcome::Transient { .. }));
    }

    #[tokio::test]
    async fn the_environment_and_arguments_hold_no_password() {
        let dir = tempdir();
        let seen = dir.join("seen.txt");
        let target = script(
            &dir,
            &format!(r#"cat >/dev/null; env > {0}; echo "$0 $@" >> {0}; exit 0"#, seen.display()),
        );
        assert_eq!(target.apply(&request("pwsync-canary-ENV")).await, TargetOutcome::Applied);
        let seen = std::fs::read_to_string(seen).unwrap();
        assert!(seen.contains("PWSYNC_TARGET=script"), "the probe did run: {seen}");
        assert!(!seen.contains("pwsync-canary-ENV"));
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pwsync-exec-test-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
