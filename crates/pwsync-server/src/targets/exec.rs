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
//!
//! stdin, stdout and stderr are served at once, so a program that writes a lot to one stream
//! before it reads or closes another never blocks on a full pipe. Output beyond
//! [`MAX_OUTPUT_BYTES`] per stream is read and discarded (not refused by closing the pipe, which
//! would kill a shell script with SIGPIPE and turn its verdict into "killed by a signal").

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::{ApplyFuture, ApplyRequest, Target, TargetOutcome};
use crate::redact::scrub;

/// Exit status by which a program says "try again later" (sysexits.h EX_TEMPFAIL).
pub const EXIT_TRANSIENT: i32 = 75;
/// Most output kept from the program's stdout and stderr each; the rest is read and discarded.
const MAX_OUTPUT_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExecConfig {
    /// Name of the target in the ledger and in verdicts.
    pub name: String,
    /// Path of the program (relative to the configuration file's directory).
    pub program: PathBuf,
    /// Arguments (never the password: it comes on stdin).
    #[serde(default)]
    pub args: Vec<String>,
    /// Kill the program after this long and retry later. At least 1.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// How many programs may run at once. At least 1.
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
    /// Checks the configuration without running anything: the program must be an existing,
    /// executable file given by an absolute path, `timeout_ms` and `concurrency` at least 1.
    pub fn new(config: &ExecConfig) -> Result<Self, String> {
        let name = &config.name;
        let program = config.program.display();
        if !config.program.is_absolute() {
            return Err(format!("exec target {name}: program {program} must be an absolute path"));
        }
        if !config.program.is_file() {
            return Err(format!("exec target {name}: program {program} does not exist or is not a file"));
        }
        if !is_executable(&config.program) {
            return Err(format!(
                "exec target {name}: program {program} is not executable (no x permission bit; chmod +x)"
            ));
        }
        if config.timeout_ms == 0 {
            return Err(format!("exec target {name}: timeout_ms must be at least 1"));
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
                tracing::error!(change_id = %request.change_id, target_name = %self.name, %error,
                    "cannot start the exec target's program");
                return transient(format!("cannot start {}: {error}", self.config.program.display()));
            }
        };

        let document = zeroize::Zeroizing::new(stdin_document(request));
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let conversation = async {
            let feed = async move {
                // A program that exits without reading stdin is not an error of ours.
                let _ = stdin.write_all(document.as_bytes()).await;
                drop(stdin);
            };
            // All three at once: a full stderr pipe must not stall the reading of stdout.
            let ((), out, err) = tokio::join!(feed, read_capped(stdout), read_capped(stderr));
            let status = child.wait().await;
            (status, out, err)
        };
        let timeout = Duration::from_millis(self.config.timeout_ms);
        let Ok((status, stdout, stderr)) = tokio::time::timeout(timeout, conversation).await else {
            return transient(format!("the program did not finish within {} ms", self.config.timeout_ms));
        };
        let password = request.password.expose();
        let stdout = zeroize::Zeroizing::new(String::from_utf8_lossy(&stdout).into_owned());
        let stderr = scrub(&zeroize::Zeroizing::new(String::from_utf8_lossy(&stderr).into_owned()), password);
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

/// Reads a stream to its end, keeping the first [`MAX_OUTPUT_BYTES`] and discarding the rest.
/// The output may hold the password (a program echoing its input): both buffers are wiped.
async fn read_capped(mut stream: impl AsyncRead + Unpin) -> zeroize::Zeroizing<Vec<u8>> {
    // Allocated once at full size: a growing Vec would leave copies behind in freed memory.
    let mut kept = zeroize::Zeroizing::new(vec![0u8; MAX_OUTPUT_BYTES]);
    let mut discard = zeroize::Zeroizing::new(vec![0u8; 8 * 1024]);
    let mut filled = 0;
    loop {
        let read = if filled < kept.len() {
            stream.read(&mut kept[filled..]).await
        } else {
            stream.read(&mut discard[..]).await
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(count) if filled < kept.len() => filled += count,
            Ok(_) => {}
        }
    }
    kept.truncate(filled);
    kept
}

#[cfg(unix)]
fn is_executable(program: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(program).is_ok_and(|metadata| metadata.permissions().mode() & 0o111 != 0)
}

/// Elsewhere there is no permission bit to check: starting the program is the test.
#[cfg(not(unix))]
fn is_executable(_program: &std::path::Path) -> bool {
    true
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

    /// A script file with the given permissions, for the checks of `ExecTarget::new` (never run).
    fn script_config(dir: &std::path::Path, body: &str, mode: u32) -> ExecConfig {
        let path = dir.join("target.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        ExecConfig { name: "script".into(), program: path, args: vec![], timeout_ms: 2000, concurrency: 1 }
    }

    /// A target running `body` with `/bin/sh -c`. Not a script file of its own: executing a
    /// file just written races with other tests' forks, which briefly hold it open for writing
    /// (ETXTBSY, "Text file busy").
    fn script(body: &str) -> ExecTarget {
        ExecTarget::new(&ExecConfig {
            name: "script".into(),
            program: "/bin/sh".into(),
            args: vec!["-c".into(), body.into()],
            timeout_ms: 2000,
            concurrency: 1,
        })
        .unwrap()
    }

    /// The password as it appears inside the stdin document (serde_json's escaping).
    fn json_escaped(password: &str) -> String {
        let quoted = serde_json::to_string(password).unwrap();
        quoted[1..quoted.len() - 1].to_string()
    }

    #[tokio::test]
    async fn exit_status_decides_and_stdin_carries_the_password() {
        let target = script(r#"grep -q '"password":"S3cret-ü"' && exit 0; exit 1"#);
        assert_eq!(target.apply(&request("S3cret-ü")).await, TargetOutcome::Applied);
        assert!(matches!(target.apply(&request("other")).await, TargetOutcome::Rejected { .. }));
        let target = script("cat >/dev/null; exit 75");
        assert!(matches!(target.apply(&request("x")).await, TargetOutcome::Transient { .. }));
    }

    #[tokio::test]
    async fn an_echoed_password_is_scrubbed_from_the_reason() {
        let target = script(r#"cat >&2; exit 2"#);
        let TargetOutcome::Rejected { reason } = target.apply(&request("pwsync-canary-LEAK")).await else {
            panic!("expected a rejection")
        };
        assert!(!reason.contains("pwsync-canary-LEAK"), "{reason}");
        assert!(reason.contains("<redacted>"));
    }

    #[tokio::test]
    async fn an_echoed_document_leaks_no_escaped_form_of_the_password() {
        let target = script(r#"cat >&2; exit 2"#);
        for password in ["Pa\"ss\\word-1!", "Tab\there", "Pässwörd-密码", "Ctl\u{1}\u{1f}-\\u0041"] {
            let escaped = json_escaped(password);
            let TargetOutcome::Rejected { reason } = target.apply(&request(password)).await else {
                panic!("expected a rejection")
            };
            assert!(reason.contains(r#""account":"alice""#), "the document was not echoed: {reason}");
            assert!(reason.contains(r#""password":"<redacted>""#), "{password:?}: {reason}");
            assert!(!reason.contains(password), "{password:?}: {reason}");
            assert!(!reason.contains(&escaped), "{password:?} leaked as {escaped}: {reason}");
        }
    }

    #[tokio::test]
    async fn a_password_echoed_with_ascii_escapes_is_scrubbed() {
        // What Python's json.dumps writes by default: every non-ASCII character as \uXXXX.
        let target =
            script(r#"cat >/dev/null; printf '%s' 'bad: P\u00e4ssw\u00F6rd-\u5bc6\u7801!' >&2; exit 2"#);
        let TargetOutcome::Rejected { reason } = target.apply(&request("Pässwörd-密码")).await else {
            panic!("expected a rejection")
        };
        assert_eq!(reason, "the program exited with status 2: bad: <redacted>!");
    }

    #[tokio::test]
    async fn a_flood_on_stderr_does_not_stall_the_program() {
        let mut target = script("cat >/dev/null; head -c 204800 /dev/zero | tr '\\0' e >&2; exit 0");
        target.config.timeout_ms = 10_000;
        let started = Instant::now();
        assert_eq!(target.apply(&request("x")).await, TargetOutcome::Applied);
        assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn output_beyond_the_cap_is_drained_and_the_exit_status_still_counts() {
        let mut target = script(
            "cat >/dev/null; head -c 204800 /dev/zero | tr '\\0' o; head -c 204800 /dev/zero | tr '\\0' e >&2; exit 3",
        );
        target.config.timeout_ms = 10_000;
        let TargetOutcome::Rejected { reason } = target.apply(&request("x")).await else {
            panic!("expected a rejection by exit status, not a signal or a timeout")
        };
        assert!(reason.starts_with("the program exited with status 3: eeee"), "{reason}");
        assert!(reason.chars().count() <= crate::redact::MAX_REASON_CHARS + 60);
    }

    #[tokio::test]
    async fn capped_reading_keeps_the_first_bytes_and_consumes_the_rest() {
        let data: Vec<u8> = (0..3 * MAX_OUTPUT_BYTES).map(|i| (i % 251) as u8).collect();
        let mut reader = &data[..];
        let kept = read_capped(&mut reader).await;
        assert_eq!(&kept[..], &data[..MAX_OUTPUT_BYTES]);
        assert!(reader.is_empty(), "the rest was not read");
    }

    #[test]
    fn a_zero_timeout_and_a_program_that_cannot_run_are_refused_by_name() {
        let dir = tempdir();
        let mut config = script_config(&dir, "exit 0", 0o700);
        config.timeout_ms = 0;
        let error = ExecTarget::new(&config).err().expect("timeout_ms = 0 is refused");
        assert!(error.contains("timeout_ms must be at least 1"), "{error}");

        let config = script_config(&dir, "exit 0", 0o600);
        let error = ExecTarget::new(&config).err().expect("a program without an x bit is refused");
        assert!(error.contains("is not executable"), "{error}");
        assert!(error.contains(&config.program.display().to_string()), "{error}");
        // Any x bit will do: the server may run as the owner, a group member or another user.
        assert!(ExecTarget::new(&script_config(&dir, "exit 0", 0o641)).is_ok());

        let mut config = script_config(&dir, "exit 0", 0o700);
        config.program = dir.join("missing.sh");
        let error = ExecTarget::new(&config).err().expect("a missing program is refused");
        assert!(error.contains("does not exist"), "{error}");
        config.program = dir.clone();
        assert!(ExecTarget::new(&config).is_err(), "a directory is not a program");
    }

    #[tokio::test]
    async fn stdout_json_overrides_and_a_timeout_is_transient() {
        let target = script(
            r#"cat >/dev/null; echo '{"result":"retry","reason":"busy","retry_after_secs":7}'; exit 0"#,
        );
        assert_eq!(
            target.apply(&request("x")).await,
            TargetOutcome::Transient { reason: "busy".into(), retry_after: Some(Duration::from_secs(7)) }
        );
        let mut slow = script("sleep 5");
        slow.config.timeout_ms = 200;
        assert!(matches!(slow.apply(&request("x")).await, TargetOutcome::Transient { .. }));
    }

    #[tokio::test]
    async fn the_environment_and_arguments_hold_no_password() {
        let dir = tempdir();
        let seen = dir.join("seen.txt");
        let target =
            script(&format!(r#"cat >/dev/null; env > {0}; echo "$0 $@" >> {0}; exit 0"#, seen.display()));
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
