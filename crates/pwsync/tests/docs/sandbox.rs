//! A throwaway directory standing in for a machine the documentation talks about: the absolute
//! paths of the examples (`/etc/pwsync`, `/var/spool/pwsync`...) are rewritten into it, its
//! shell lines run with the binaries cargo built first on PATH, and the files a configuration
//! example names are made when no documented command made them.
//!
//! The password a documented capture reads (`$NEW_PASSWORD`) comes from a file of the sandbox
//! into a shell variable: it must never be passed in argv or the environment, and `scan` checks
//! that no file or output but that one holds it.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{files_under, read_unless_gone, TestDir};

/// The absolute paths of the examples that are rewritten into the sandbox.
const REWRITTEN: [&str; 6] = [
    "/etc/pwsync",
    "/var/spool/pwsync",
    "/var/lib/pwsync",
    "/var/log/pwsync",
    "/usr/local/lib/pwsync",
    "/srv/pwsync-spool",
];

/// How long a daemon must stay up to count as started (a usage error ends it at once).
const DAEMON_GRACE: Duration = Duration::from_millis(1500);

/// What a line of a runnable block is.
enum Line<'a> {
    /// Run it; it must succeed.
    Run(String),
    /// A daemon: it must start (or stop only because of its files), and is stopped again.
    Daemon(String),
    /// `scripts/test-all.sh`: the CI script that runs this very test; checked, not run.
    TestScript(&'a str),
}

pub struct Sandbox {
    pub dir: TestDir,
    password: String,
    password_file: PathBuf,
    /// Everything the documented commands printed, for the leak scan.
    outputs: Vec<Vec<u8>>,
}

impl Sandbox {
    pub fn new(name: &str) -> Sandbox {
        let dir = TestDir::new(&format!("docs-{name}"));
        for path in REWRITTEN {
            std::fs::create_dir_all(dir.path.join(&path[1..]).parent().unwrap()).unwrap();
        }
        std::fs::create_dir_all(dir.path.join("etc/pwsync")).unwrap();
        let password = crate::common::password();
        let password_file = dir.path.join("new-password");
        std::fs::write(&password_file, &password).unwrap();
        std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        Sandbox { dir, password, password_file, outputs: Vec::new() }
    }

    pub fn root(&self) -> &Path {
        &self.dir.path
    }

    /// `text` with the example paths moved into the sandbox.
    pub fn rewrite(&self, text: &str) -> String {
        let root = self.root().display().to_string();
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while !rest.is_empty() {
            let at_boundary = out.chars().last().is_none_or(|c| !(c.is_alphanumeric() || "/._-".contains(c)));
            if at_boundary {
                for prefix in REWRITTEN {
                    if rest.starts_with(prefix) {
                        out.push_str(&root);
                        out.push_str(prefix);
                        rest = &rest[prefix.len()..];
                        continue 'scan;
                    }
                }
            }
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    fn classify<'a>(&self, line: &'a str) -> Line<'a> {
        let trimmed = line.trim();
        if trimmed == "scripts/test-all.sh" || trimmed.starts_with("scripts/test-all.sh ") {
            return Line::TestScript(trimmed);
        }
        // `cargo run --release -- ARGS` is `pwsync ARGS` built by cargo: the binary under test.
        let line = match trimmed.strip_prefix("cargo run --release -- ") {
            Some(args) => format!("pwsync {args}"),
            None => trimmed.to_string(),
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        let daemon = words.first() == Some(&"pwsync")
            && match words.get(1) {
                Some(&"server") | Some(&"graph-emulator") => true,
                Some(&"client") => words.get(2) != Some(&"test-scope"),
                _ => false,
            };
        let line = self.rewrite(&line);
        if daemon {
            Line::Daemon(line)
        } else {
            Line::Run(line)
        }
    }

    /// A shell command with the sandbox's PATH, working directory and `$NEW_PASSWORD`.
    fn shell(&self, line: &str) -> Command {
        let script = format!(
            "set -euo pipefail\nIFS= read -r NEW_PASSWORD < \"$PWSYNC_DOCS_PASSWORD_FILE\" || true\n{line}\n"
        );
        let bin = Path::new(env!("CARGO_BIN_EXE_pwsync")).parent().unwrap().to_path_buf();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(script)
            .current_dir(self.root().join("etc/pwsync"))
            .env("PATH", path)
            .env("PWSYNC_DOCS_PASSWORD_FILE", &self.password_file)
            .env_remove("PWSYNC_LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn keep(&mut self, output: &Output) -> String {
        self.outputs.push(output.stdout.clone());
        self.outputs.push(output.stderr.clone());
        self.assert_no_password_in(&output.stdout, "the output of a documented command");
        self.assert_no_password_in(&output.stderr, "the output of a documented command");
        format!(
            "status {:?}\nstdout:\n{}\nstderr:\n{}",
            output.status.code(),
            lossy(&output.stdout),
            lossy(&output.stderr)
        )
    }

    /// Runs every line of a runnable block, in order; `at` names the block in messages.
    pub fn run_block(&mut self, at: &str, text: &str) {
        for line in logical_lines(text) {
            eprintln!("{at}: {line}");
            match self.classify(&line) {
                Line::TestScript(script) => check_test_script(at, script),
                Line::Run(command) => {
                    let output = self.shell(&command).output().unwrap();
                    let report = self.keep(&output);
                    assert!(output.status.success(), "{at}: `{line}` failed ({report})");
                }
                Line::Daemon(command) => self.start_and_stop(at, &line, &command),
            }
        }
    }

    fn start_and_stop(&mut self, at: &str, line: &str, command: &str) {
        let mut child = self.shell(&format!("exec {command}")).spawn().unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > DAEMON_GRACE {
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        match status {
            None => {
                eprintln!("  started, stopped after {DAEMON_GRACE:?}");
                child.kill().unwrap();
            }
            Some(status) => eprintln!("  stopped by itself: {status}"),
        }
        let output = child.wait_with_output().unwrap();
        let report = self.keep(&output);
        // Exit status 2 is clap's usage error; a daemon that stops at once for want of its
        // configuration (exit status 1) accepted its command line.
        assert!(
            status.is_none()
                || (output.status.code() == Some(1) && !lossy(&output.stderr).contains("Usage:")),
            "{at}: `{line}` was not accepted ({report})"
        );
    }

    pub fn check_config(&mut self, at: &str, file: &Path) {
        let output = self.shell(&format!("pwsync check-config '{}'", file.display())).output().unwrap();
        let report = self.keep(&output);
        assert!(output.status.success(), "{at}: check-config refused the example ({report})");
        assert!(lossy(&output.stdout).contains(": valid "), "{at}: {report}");
    }

    /// Runs a `pwsync` command the sandbox needs for itself (making a missing file).
    pub fn pwsync(&mut self, args: &[&str]) {
        let output = crate::common::pwsync().args(args).stdin(Stdio::null()).output().unwrap();
        let report = self.keep(&output);
        assert!(output.status.success(), "pwsync {args:?}: {report}");
    }

    fn assert_no_password_in(&self, bytes: &[u8], what: &str) {
        let needle = self.password.as_bytes();
        assert!(!bytes.windows(needle.len()).any(|window| window == needle), "the password is in {what}");
    }

    /// The end of every document's run: the password is in no file but its own and was in no
    /// output (the spool records hold it sealed, not in clear).
    pub fn scan(&self) {
        for path in files_under(self.root()) {
            if path == self.password_file {
                continue;
            }
            let Some(bytes) = read_unless_gone(&path) else { continue };
            self.assert_no_password_in(&bytes, &path.display().to_string());
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The commands of a block: continued lines joined, blank and comment lines left out.
pub fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        match line.trim_end().strip_suffix('\\') {
            Some(start) => {
                current.push_str(start);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                let done = std::mem::take(&mut current);
                if !done.trim().is_empty() && !done.trim_start().starts_with('#') {
                    lines.push(done.trim().to_string());
                }
            }
        }
    }
    lines
}

/// `scripts/test-all.sh` runs this test, so running it here would never end: the test checks
/// that it is there, executable, and valid bash.
fn check_test_script(at: &str, script: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join(script.split_whitespace().next().unwrap());
    let mode = std::fs::metadata(&path)
        .unwrap_or_else(|error| panic!("{at}: {script}: {error}"))
        .permissions()
        .mode();
    assert!(mode & 0o111 != 0, "{at}: {} is not executable", path.display());
    let mut child = Command::new("bash").arg("-n").arg(&path).stderr(Stdio::piped()).spawn().unwrap();
    let mut errors = String::new();
    child.stderr.take().unwrap().read_to_string(&mut errors).unwrap();
    assert!(child.wait().unwrap().success(), "{at}: {} is not valid bash: {errors}", path.display());
}
