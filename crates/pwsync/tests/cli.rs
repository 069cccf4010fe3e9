//! The `pwsync` command line, run as the real binary: what each subcommand writes on good
//! input, the exit status and message it gives on bad input, and that a failure never leaves a
//! record behind nor shows the password.
//!
//! These tests must never pass a password in argv or the environment to a capture that is
//! meant to succeed: the password goes on stdin, as an administrator's hook would send it.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pwsync_seal::{
    Change, PublicKey, SecretKey, SourceKind, MAX_ACCOUNT_LEN, MAX_ORIGIN_LEN, MAX_PASSWORD_LEN, MAX_UPN_LEN,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

const EXIT_USAGE: i32 = 2;
const EXIT_DATAERR: i32 = 65;
const EXIT_IOERR: i32 = 74;
const EXIT_CONFIG: i32 = 78;
/// What every subcommand but `capture` exits with on an error (`ExitCode::FAILURE`).
const EXIT_FAILURE: i32 = 1;

fn pwsync() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pwsync"))
}

/// The two ways to run the capture hook: the `pwsync capture` subcommand and the small
/// `pwsync-capture` executable. Both must behave the same, so every capture test runs both.
#[derive(Clone, Copy, Debug)]
enum Hook {
    Subcommand,
    Executable,
}

const HOOKS: [Hook; 2] = [Hook::Subcommand, Hook::Executable];

impl Hook {
    fn command(self) -> Command {
        match self {
            Hook::Subcommand => {
                let mut command = pwsync();
                command.arg("capture");
                command
            }
            Hook::Executable => Command::new(env!("CARGO_BIN_EXE_pwsync-capture")),
        }
    }
}

/// A temporary directory removed when the test passes, kept (and printed) when it fails.
struct TestDir {
    path: PathBuf,
}

impl TestDir {
    fn new(name: &str) -> TestDir {
        let path = std::env::temp_dir().join(format!("pwsync-cli-{name}-{}", rand::random::<u32>()));
        std::fs::create_dir_all(&path).unwrap();
        TestDir { path }
    }

    fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test files kept in {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Runs `command` with `stdin` fed from another thread (a capture that refuses early closes its
/// stdin, so a failed write is expected and ignored) and returns everything it printed.
fn run_with_stdin(mut command: Command, stdin: &[u8]) -> Output {
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}

/// `pwsync keygen --out DIR`; returns (secret key file, public key file).
fn keygen(dir: &Path) -> (PathBuf, PathBuf) {
    let output = run(pwsync().args(["keygen", "--out"]).arg(dir));
    assert!(output.status.success(), "keygen failed: {}", stderr(&output));
    (dir.join("spool.key"), dir.join("spool.pub"))
}

/// The hex of a key file (`<label> <hex>`).
fn key_hex(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().split_whitespace().nth(1).unwrap().to_string()
}

/// A capture command with the required flags; `extra` are added after them.
fn capture(hook: Hook, spool: &Path, key: &Path, extra: &[&str]) -> Command {
    let mut command = hook.command();
    command.arg("--spool").arg(spool).arg("--key").arg(key).args(["--account", "alice"]);
    command.args(extra);
    command
}

/// Every record or temporary record file anywhere under `dir` (a missing `dir` has none).
fn record_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".pws") || name.starts_with(".tmp-") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The one record in `spool`, opened with the secret key in `secret_key_file`.
fn only_record(spool: &Path, secret_key_file: &Path) -> (PathBuf, Change) {
    let records = record_files(spool);
    assert_eq!(records.len(), 1, "expected exactly one record in {}: {records:?}", spool.display());
    let secret = SecretKey::parse_file_text(&std::fs::read_to_string(secret_key_file).unwrap()).unwrap();
    let change = pwsync_seal::open(&std::fs::read(&records[0]).unwrap(), &[secret]).unwrap();
    (records[0].clone(), change)
}

/// Asserts a refused capture: the exit status, no record anywhere under `root`, a message on
/// stderr containing `message`, and none of `secrets` in its output.
fn assert_refused(output: &Output, code: i32, message: &str, root: &Path, secrets: &[&[u8]]) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(code), "stderr: {err}");
    assert!(err.contains(message), "stderr does not say {message:?}: {err}");
    assert!(output.stdout.is_empty(), "a refused capture printed on stdout: {}", stdout(output));
    assert_eq!(record_files(root), Vec::<PathBuf>::new(), "a refused capture left a record");
    for secret in secrets {
        assert!(!contains_bytes(&output.stderr, secret), "stderr shows a secret: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// pwsync capture: success
// ---------------------------------------------------------------------------------------------

#[test]
fn capture_writes_one_private_sealed_record_holding_the_exact_password_and_prints_its_id() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-capture-ok"));
        let (secret_key, public_key) = keygen(&dir.join("keys"));
        let spool = dir.join("var/spool"); // parents missing too
        let password = "Pässwörd-密码-1!";

        let output = run_with_stdin(
            capture(
                hook,
                &spool,
                &public_key,
                &["--upn", "alice@corp.example", "--origin", "dc1", "--print-id"],
            ),
            format!("{password}\n").as_bytes(),
        );
        assert!(output.status.success(), "stderr: {}", stderr(&output));
        assert!(output.stderr.is_empty(), "a successful capture printed: {}", stderr(&output));
        let printed_id = stdout(&output);
        assert!(printed_id.ends_with('\n') && printed_id.lines().count() == 1, "stdout: {printed_id:?}");
        let printed_id = printed_id.trim_end();

        let (record, change) = only_record(&spool, &secret_key);
        assert_eq!(change.password.expose(), password);
        assert_eq!(change.id.to_string(), printed_id);
        assert_eq!(change.account, "alice");
        assert_eq!(change.upn.as_deref(), Some("alice@corp.example"));
        assert_eq!(change.origin, "dc1");
        assert_eq!(change.source, SourceKind::Generic);
        assert_eq!(record.parent().unwrap(), spool, "the record is at the spool's top level");
        let name = record.file_name().unwrap().to_str().unwrap();
        assert!(name.ends_with(&format!("-{printed_id}.pws")), "record name {name}");

        assert_eq!(mode(&record), 0o600, "record mode");
        assert_eq!(mode(&spool), 0o700, "spool mode");
        assert_eq!(mode(&spool.join("failed")), 0o700, "failed/ mode");
        let sealed = std::fs::read(&record).unwrap();
        assert!(!contains_bytes(&sealed, password.as_bytes()), "the record holds the password in clear");
        assert!(!contains_bytes(&output.stdout, password.as_bytes()));
    }
}

#[test]
fn capture_without_print_id_prints_nothing_and_takes_the_host_name_as_origin() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-capture-quiet"));
        let (secret_key, public_key) = keygen(&dir.join("keys"));
        let spool = dir.join("spool");

        let output = run_with_stdin(capture(hook, &spool, &public_key, &[]), b"Quiet-Pw-1\n");
        assert!(output.status.success(), "stderr: {}", stderr(&output));
        assert!(output.stdout.is_empty(), "stdout: {}", stdout(&output));

        let (_, change) = only_record(&spool, &secret_key);
        assert_eq!(change.password.expose(), "Quiet-Pw-1");
        assert_eq!(change.upn, None);
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(change.origin, host.trim());
    }
}

#[test]
fn one_trailing_newline_is_removed_by_default_and_kept_with_exact_stdin() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-newline"));
        let (secret_key, public_key) = keygen(&dir.join("keys"));
        let cases: &[(&str, bool, &str)] = &[
            ("Pw-1\n", false, "Pw-1"),
            ("Pw-1\r\n", false, "Pw-1"),
            ("Pw-1", false, "Pw-1"),
            ("Pw-1\n\n", false, "Pw-1\n"),
            (" Pw 1 \t", false, " Pw 1 \t"),
            ("Pässwörd-密码-1!\n", false, "Pässwörd-密码-1!"),
            ("Pw-1\n", true, "Pw-1\n"),
            ("Pw-1\r\n", true, "Pw-1\r\n"),
            ("\n", true, "\n"),
            ("Pässwörd-密码-1!\n", true, "Pässwörd-密码-1!\n"),
            ("Pässwörd-密码-1!", true, "Pässwörd-密码-1!"),
        ];
        for (index, (input, exact, expected)) in cases.iter().enumerate() {
            let spool = dir.join(&format!("spool-{index}"));
            let flags: &[&str] = if *exact { &["--exact-stdin"] } else { &[] };
            let output = run_with_stdin(capture(hook, &spool, &public_key, flags), input.as_bytes());
            assert!(output.status.success(), "case {input:?} exact={exact}: {}", stderr(&output));
            let (_, change) = only_record(&spool, &secret_key);
            assert_eq!(change.password.expose(), *expected, "case {input:?} exact={exact}");
        }
    }
}

#[test]
fn a_password_of_exactly_the_limit_is_captured_with_or_without_its_newline() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-limit"));
        let (secret_key, public_key) = keygen(&dir.join("keys"));
        let longest = "L".repeat(MAX_PASSWORD_LEN);

        let spool = dir.join("spool-exact");
        let output =
            run_with_stdin(capture(hook, &spool, &public_key, &["--exact-stdin"]), longest.as_bytes());
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(only_record(&spool, &secret_key).1.password.expose(), longest);

        let spool = dir.join("spool-newline");
        let output =
            run_with_stdin(capture(hook, &spool, &public_key, &[]), format!("{longest}\r\n").as_bytes());
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(only_record(&spool, &secret_key).1.password.expose(), longest);
    }
}

// ---------------------------------------------------------------------------------------------
// pwsync capture: bad input (65)
// ---------------------------------------------------------------------------------------------

#[test]
fn an_empty_password_is_refused_with_65_and_nothing_written() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-empty"));
        let (_, public_key) = keygen(&dir.join("keys"));
        for (input, flags) in
            [(&b""[..], &[][..]), (b"\n", &[]), (b"\r\n", &[]), (b"", &["--exact-stdin"][..])]
        {
            let spool = dir.join("spool");
            let output = run_with_stdin(capture(hook, &spool, &public_key, flags), input);
            assert_refused(&output, EXIT_DATAERR, "no password on stdin", &dir.path, &[]);
        }
    }
}

#[test]
fn a_password_that_is_not_utf8_is_refused_with_65_without_echoing_any_of_it() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-not-utf8"));
        let (_, public_key) = keygen(&dir.join("keys"));
        let spool = dir.join("spool");
        let password = b"Canary-Head-\xff\xfe-Canary-Tail";
        let output = run_with_stdin(capture(hook, &spool, &public_key, &[]), password);
        assert_refused(
            &output,
            EXIT_DATAERR,
            "not valid UTF-8",
            &dir.path,
            &[password, b"Canary-Head", b"Canary-Tail", b"\xff\xfe"],
        );
    }
}

#[test]
fn a_password_longer_than_the_limit_is_refused_with_65_without_echoing_it() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-too-long"));
        let (_, public_key) = keygen(&dir.join("keys"));
        let spool = dir.join("spool");
        let one_too_many = "Canary".repeat(MAX_PASSWORD_LEN / 6 + 1)[..MAX_PASSWORD_LEN + 1].to_string();
        let limit = format!("longer than {MAX_PASSWORD_LEN} bytes");

        let output = run_with_stdin(capture(hook, &spool, &public_key, &[]), one_too_many.as_bytes());
        assert_refused(&output, EXIT_DATAERR, &limit, &dir.path, &[b"Canary"]);

        // At the limit plus a newline that --exact-stdin keeps: one byte too many.
        let at_limit_with_newline = format!("{}\n", &one_too_many[..MAX_PASSWORD_LEN]);
        let output = run_with_stdin(
            capture(hook, &spool, &public_key, &["--exact-stdin"]),
            at_limit_with_newline.as_bytes(),
        );
        assert_refused(&output, EXIT_DATAERR, &limit, &dir.path, &[b"Canary"]);

        // Far beyond the limit: refused after reading a bounded prefix, without hanging.
        let huge = "Canary".repeat(200_000);
        let output = run_with_stdin(capture(hook, &spool, &public_key, &[]), huge.as_bytes());
        assert_refused(&output, EXIT_DATAERR, &limit, &dir.path, &[b"Canary"]);
    }
}

#[test]
fn an_empty_or_too_long_account_upn_or_origin_is_refused_with_65() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-bad-fields"));
        let (_, public_key) = keygen(&dir.join("keys"));
        let spool = dir.join("spool");
        let long_account = "a".repeat(MAX_ACCOUNT_LEN + 1);
        let long_upn = format!("{}@corp.example", "u".repeat(MAX_UPN_LEN));
        let long_origin = "o".repeat(MAX_ORIGIN_LEN + 1);
        let cases: Vec<(Vec<&str>, String)> = vec![
            (vec!["--account", &long_account], format!("field account is {} bytes", MAX_ACCOUNT_LEN + 1)),
            (vec!["--account", ""], "field account is empty".to_string()),
            (vec!["--account", "bob", "--upn", &long_upn], format!("field upn is {} bytes", long_upn.len())),
            (
                vec!["--account", "bob", "--origin", &long_origin],
                format!("field origin is {} bytes", MAX_ORIGIN_LEN + 1),
            ),
        ];
        for (flags, message) in cases {
            let mut command = hook.command();
            command.arg("--spool").arg(&spool).arg("--key").arg(&public_key).args(&flags);
            let output = run_with_stdin(command, b"Canary-Field-Pw\n");
            assert_refused(&output, EXIT_DATAERR, &message, &dir.path, &[b"Canary-Field"]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// pwsync capture: key problems (78) and spool problems (74)
// ---------------------------------------------------------------------------------------------

#[test]
fn a_missing_key_file_is_refused_with_78() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-no-key"));
        let spool = dir.join("spool");
        let missing = dir.join("keys/spool.pub");
        let output = run_with_stdin(capture(hook, &spool, &missing, &[]), b"Canary-NoKey-Pw\n");
        assert_refused(
            &output,
            EXIT_CONFIG,
            "cannot read the spool public key",
            &dir.path,
            &[b"Canary-NoKey"],
        );
        assert!(stderr(&output).contains(&missing.display().to_string()), "{}", stderr(&output));
        assert!(!spool.exists(), "the spool was created although the key was missing");
    }
}

#[test]
fn a_secret_key_given_as_the_public_key_is_refused_with_78_without_showing_it() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-secret-as-public"));
        let (secret_key, _) = keygen(&dir.join("keys"));
        let spool = dir.join("spool");
        let secret_hex = key_hex(&secret_key);
        let output = run_with_stdin(capture(hook, &spool, &secret_key, &[]), b"Canary-Secret-Pw\n");
        assert_refused(
            &output,
            EXIT_CONFIG,
            "expected a public key file but this is a secret key file",
            &dir.path,
            &[b"Canary-Secret", secret_hex.as_bytes(), &secret_hex.as_bytes()[..16]],
        );
    }
}

#[test]
fn a_key_file_that_is_not_a_spool_key_is_refused_with_78() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-garbage-key"));
        let key = dir.join("spool.pub");
        std::fs::write(&key, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").unwrap();
        let output = run_with_stdin(capture(hook, &dir.join("spool"), &key, &[]), b"Canary-Garbage-Pw\n");
        assert_refused(&output, EXIT_CONFIG, "not a pwsync spool key file", &dir.path, &[b"Canary-Garbage"]);
    }
}

#[test]
fn a_spool_that_cannot_be_created_or_used_is_refused_with_74() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-bad-spool"));
        let (_, public_key) = keygen(&dir.join("keys"));
        let regular_file = dir.join("a-file");
        std::fs::write(&regular_file, "not a directory").unwrap();
        let insecure = dir.join("insecure-spool");
        std::fs::create_dir(&insecure).unwrap();
        std::fs::set_permissions(&insecure, std::fs::Permissions::from_mode(0o755)).unwrap();

        for spool in [regular_file.join("spool"), regular_file.clone(), insecure.clone()] {
            let output = run_with_stdin(capture(hook, &spool, &public_key, &[]), b"Canary-Spool-Pw\n");
            assert_refused(&output, EXIT_IOERR, "pwsync capture:", &dir.path, &[b"Canary-Spool"]);
            assert!(
                stderr(&output).contains(&spool.display().to_string()),
                "the message does not name {}: {}",
                spool.display(),
                stderr(&output)
            );
        }
        assert_eq!(std::fs::read_to_string(&regular_file).unwrap(), "not a directory");
        assert_eq!(mode(&insecure), 0o755, "capture must report an insecure spool, not repair it");
    }
}

// ---------------------------------------------------------------------------------------------
// pwsync capture: --on-failure and the password's only way in
// ---------------------------------------------------------------------------------------------

#[test]
fn on_failure_allow_exits_0_but_still_reports_the_error_and_writes_nothing() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-allow"));
        let (_, public_key) = keygen(&dir.join("keys"));
        let spool = dir.join("spool");
        let missing_key = dir.join("missing.pub");
        let cases: Vec<(&Path, &[u8], &str)> = vec![
            (&public_key, b"", "no password on stdin"),
            (&missing_key, b"Canary-Allow-Pw\n", "cannot read the spool public key"),
            (&public_key, b"Canary-Allow-\xff\n", "not valid UTF-8"),
        ];
        for (key, input, message) in cases {
            let output = run_with_stdin(capture(hook, &spool, key, &["--on-failure", "allow"]), input);
            let err = stderr(&output);
            assert_eq!(output.status.code(), Some(0), "stderr: {err}");
            assert!(err.contains(message), "the error is not reported: {err}");
            assert!(
                err.contains("--on-failure allow"),
                "stderr does not say the change goes uncaptured: {err}"
            );
            assert!(!err.contains("Canary-Allow"), "stderr shows the password: {err}");
            assert_eq!(record_files(&dir.path), Vec::<PathBuf>::new());

            // The same failure without `allow` (and with an explicit `reject`) is not 0.
            for flags in [&[][..], &["--on-failure", "reject"][..]] {
                let output = run_with_stdin(capture(hook, &spool, key, flags), input);
                assert_ne!(output.status.code(), Some(0), "{message} with {flags:?}");
            }
        }
    }
}

#[test]
fn on_failure_allow_does_not_change_a_successful_capture() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-allow-ok"));
        let (secret_key, public_key) = keygen(&dir.join("keys"));
        let spool = dir.join("spool");
        let output =
            run_with_stdin(capture(hook, &spool, &public_key, &["--on-failure", "allow"]), b"Allow-Ok-1\n");
        assert!(output.status.success() && output.stderr.is_empty(), "{}", stderr(&output));
        assert_eq!(only_record(&spool, &secret_key).1.password.expose(), "Allow-Ok-1");
    }
}

#[test]
fn the_password_cannot_be_given_in_argv_or_the_environment() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-argv"));
        let (_, public_key) = keygen(&dir.join("keys"));
        let spool = dir.join("spool");
        let attempts: &[&[&str]] = &[
            &["--password", "Canary-Argv-Pw"],
            &["--password=Canary-Argv-Pw"],
            &["--new-password", "Canary-Argv-Pw"],
            &["--pass", "Canary-Argv-Pw"],
            &["-p", "Canary-Argv-Pw"],
            &["Canary-Argv-Pw"],
        ];
        for attempt in attempts {
            // With a good password on stdin, so that only the flag can be the reason for refusing.
            let output = run_with_stdin(capture(hook, &spool, &public_key, attempt), b"Stdin-Pw-1\n");
            assert_eq!(
                output.status.code(),
                Some(EXIT_USAGE),
                "{attempt:?} was accepted: {}",
                stderr(&output)
            );
            assert_eq!(record_files(&dir.path), Vec::<PathBuf>::new(), "{attempt:?} captured a change");
            // A password typed onto the command line by mistake is not echoed into the hook's log.
            assert!(
                !stderr(&output).contains("Canary-Argv-Pw"),
                "{attempt:?} was echoed: {}",
                stderr(&output)
            );
        }

        // No capture flag takes a password: none is named like one.
        let help = stdout(&run(hook.command().arg("--help")));
        let flags: Vec<&str> = help
            .lines()
            .map(str::trim_start)
            .filter(|line| line.starts_with("--") || line.starts_with("-h"))
            .collect();
        assert!(flags.len() >= 8, "could not read the flags from the help:\n{help}");
        for flag in flags {
            assert!(
                !flag.to_lowercase().contains("pass"),
                "a capture flag looks like a password flag: {flag}"
            );
        }

        // A password in the environment is not read: with nothing on stdin the capture is refused.
        let mut command = capture(hook, &spool, &public_key, &[]);
        for variable in ["PWSYNC_PASSWORD", "PWSYNC_NEW_PASSWORD", "PASSWORD", "NEW_PASSWORD"] {
            command.env(variable, "Canary-Env-Pw");
        }
        let output = run_with_stdin(command, b"");
        assert_refused(&output, EXIT_DATAERR, "no password on stdin", &dir.path, &[b"Canary-Env"]);
    }
}

// ---------------------------------------------------------------------------------------------
// pwsync keygen
// ---------------------------------------------------------------------------------------------

#[test]
fn keygen_makes_a_private_secret_key_and_its_public_key() {
    let dir = TestDir::new("keygen");
    let out = dir.join("nested/keys");
    let output = run(pwsync().args(["keygen", "--out"]).arg(&out));
    assert!(output.status.success(), "{}", stderr(&output));
    let (secret_path, public_path) = (out.join("spool.key"), out.join("spool.pub"));

    assert_eq!(mode(&secret_path), 0o600, "secret key mode");
    assert_eq!(mode(&public_path) & 0o600, 0o600, "the owner reads and writes the public key");
    assert_eq!(mode(&public_path) & 0o022, 0, "nobody else may change the public key");
    let secret = SecretKey::parse_file_text(&std::fs::read_to_string(&secret_path).unwrap()).unwrap();
    let public = PublicKey::parse_file_text(&std::fs::read_to_string(&public_path).unwrap()).unwrap();
    assert!(*secret.public_key() == public, "spool.pub is not the public key of spool.key");

    let secret_hex = key_hex(&secret_path);
    let printed = format!("{}{}", stdout(&output), stderr(&output));
    assert!(!printed.contains(&secret_hex), "keygen printed the secret key");
    assert!(printed.contains("spool.key") && printed.contains("spool.pub"), "{printed}");

    // A second pair is a different pair.
    let (other_secret, _) = keygen(&dir.join("other"));
    assert_ne!(key_hex(&other_secret), secret_hex);
}

#[test]
fn keygen_never_overwrites_a_key() {
    let dir = TestDir::new("keygen-twice");
    let out = dir.join("keys");
    let (secret_path, public_path) = keygen(&out);
    let secret_before = std::fs::read(&secret_path).unwrap();
    let public_before = std::fs::read(&public_path).unwrap();

    let output = run(pwsync().args(["keygen", "--out"]).arg(&out));
    assert_eq!(output.status.code(), Some(EXIT_FAILURE), "a second keygen succeeded");
    assert!(stderr(&output).contains("already exists"), "{}", stderr(&output));
    assert_eq!(std::fs::read(&secret_path).unwrap(), secret_before);
    assert_eq!(std::fs::read(&public_path).unwrap(), public_before);
    assert_eq!(mode(&secret_path), 0o600);

    // Only the public key is left: refused too, and no new secret key appears beside it.
    std::fs::remove_file(&secret_path).unwrap();
    let output = run(pwsync().args(["keygen", "--out"]).arg(&out));
    assert_eq!(output.status.code(), Some(EXIT_FAILURE));
    assert!(!secret_path.exists(), "keygen wrote a secret key that does not match spool.pub");
    assert_eq!(std::fs::read(&public_path).unwrap(), public_before);
}

// ---------------------------------------------------------------------------------------------
// pwsync pki
// ---------------------------------------------------------------------------------------------

fn certificate(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn pki_init_and_issue_produce_a_ca_and_usable_server_and_client_certificates() {
    let dir = TestDir::new("pki");
    let ca = dir.join("ca");
    let output = run(pwsync().args(["pki", "init", "--dir"]).arg(&ca).args(["--name", "Test CA"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(mode(&ca.join("ca.key")), 0o600, "CA key mode");
    certificate(&ca.join("ca.pem"));
    assert!(!stdout(&output).contains("PRIVATE KEY"), "pki init printed a private key");

    let server_out = dir.join("server");
    let output = run(pwsync()
        .args(["pki", "issue-server", "--ca-dir"])
        .arg(&ca)
        .args(["--name", "pwsync-server", "--san", "127.0.0.1", "--san", "pwsync.corp.example", "--out"])
        .arg(&server_out));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(mode(&server_out.join("pwsync-server.key")), 0o600);
    certificate(&server_out.join("pwsync-server.pem"));

    let client_out = dir.join("client");
    let output = run(pwsync()
        .args(["pki", "issue-client", "--ca-dir"])
        .arg(&ca)
        .args(["--name", "dc1", "--domain", "corp.example", "--domain", "emea.corp.example", "--days"])
        .args(["30", "--out"])
        .arg(&client_out));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stdout(&output).contains("PRIVATE KEY"), "pki issue-client printed a private key");
    assert_eq!(mode(&client_out.join("dc1.key")), 0o600);
    let identity = pwsync_tls::peer_identity(&certificate(&client_out.join("dc1.pem"))).unwrap();
    assert_eq!(identity.name, "dc1");
    assert_eq!(identity.domains, vec!["corp.example".to_string(), "emea.corp.example".to_string()]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let days_left = (identity.not_after - now) as f64 / 86_400.0;
    assert!((29.0..=31.0).contains(&days_left), "--days 30 gave {days_left} days");
    assert!(stdout(&output).contains(&identity.serial), "the serial is not printed: {}", stdout(&output));

    // The files work together as TLS configurations.
    pwsync_tls::install_crypto_provider();
    pwsync_tls::server_config(
        &server_out.join("pwsync-server.pem"),
        &server_out.join("pwsync-server.key"),
        &ca.join("ca.pem"),
    )
    .unwrap();
    pwsync_tls::client_config(&ca.join("ca.pem"), &client_out.join("dc1.pem"), &client_out.join("dc1.key"))
        .unwrap();
}

#[test]
fn pki_issue_without_a_domain_or_san_is_a_usage_error_and_writes_nothing() {
    let dir = TestDir::new("pki-usage");
    let ca = dir.join("ca");
    assert!(run(pwsync().args(["pki", "init", "--dir"]).arg(&ca)).status.success());
    let out = dir.join("out");

    let output = run(pwsync()
        .args(["pki", "issue-client", "--ca-dir"])
        .arg(&ca)
        .args(["--name", "dc1", "--out"])
        .arg(&out));
    assert_eq!(output.status.code(), Some(EXIT_USAGE), "{}", stderr(&output));
    assert!(stderr(&output).contains("--domain"), "the error does not name --domain: {}", stderr(&output));

    let output = run(pwsync()
        .args(["pki", "issue-server", "--ca-dir"])
        .arg(&ca)
        .args(["--name", "server", "--out"])
        .arg(&out));
    assert_eq!(output.status.code(), Some(EXIT_USAGE), "{}", stderr(&output));
    assert!(stderr(&output).contains("--san"), "the error does not name --san: {}", stderr(&output));
    assert!(!out.exists(), "a refused issue created {}", out.display());
}

#[test]
fn pki_init_and_issue_never_overwrite() {
    let dir = TestDir::new("pki-twice");
    let ca = dir.join("ca");
    assert!(run(pwsync().args(["pki", "init", "--dir"]).arg(&ca)).status.success());
    let ca_pem = std::fs::read(ca.join("ca.pem")).unwrap();
    let ca_key = std::fs::read(ca.join("ca.key")).unwrap();

    let output = run(pwsync().args(["pki", "init", "--dir"]).arg(&ca));
    assert_eq!(output.status.code(), Some(EXIT_FAILURE), "a second init succeeded");
    assert!(stderr(&output).contains("already exists"), "{}", stderr(&output));
    assert_eq!(std::fs::read(ca.join("ca.pem")).unwrap(), ca_pem);
    assert_eq!(std::fs::read(ca.join("ca.key")).unwrap(), ca_key);

    let issue = || {
        run(pwsync()
            .args(["pki", "issue-client", "--ca-dir"])
            .arg(&ca)
            .args(["--name", "dc1", "--domain", "corp.example", "--out"])
            .arg(dir.join("client")))
    };
    assert!(issue().status.success());
    let client_pem = std::fs::read(dir.join("client/dc1.pem")).unwrap();
    let output = issue();
    assert_eq!(output.status.code(), Some(EXIT_FAILURE), "a second issue-client succeeded");
    assert_eq!(std::fs::read(dir.join("client/dc1.pem")).unwrap(), client_pem);
}

// ---------------------------------------------------------------------------------------------
// pwsync check-config
// ---------------------------------------------------------------------------------------------

const CLIENT_CONFIG: &str = r#"
[client]
domain = "corp.example"
spool = "spool"
spool_keys = ["keys/spool.key"]

[server]
url = "https://pwsync.corp.example:7443"
ca = "pki/ca.pem"
certificate = "pki/dc1.pem"
key = "pki/dc1.key"
"#;

/// A server configuration with a dry-run target and an exec target running `program`.
fn server_config(dir: &Path, program: &Path) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:7443\"\n\n[tls]\ncertificate = \"pki/server.pem\"\nkey = \"pki/server.key\"\n\
         client_ca = \"pki/ca.pem\"\n\n[ledger]\npath = \"ledger.sqlite\"\n\n\
         [[target]]\nkind = \"dry-run\"\nname = \"dry\"\nlog = {:?}\n\n\
         [[target]]\nkind = \"exec\"\nname = \"script\"\nprogram = {program:?}\n",
        dir.join("dry-run.jsonl"),
    )
}

fn check_config(dir: &TestDir, name: &str, text: &str) -> Output {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    run(pwsync().arg("check-config").arg(&path))
}

/// The keys and certificates CLIENT_CONFIG and server_config name, made with pwsync itself.
fn make_deployment_files(dir: &TestDir, client_domain: &str) {
    assert!(run(pwsync().args(["keygen", "--out"]).arg(dir.join("keys"))).status.success());
    let pki = dir.join("pki");
    assert!(run(pwsync().args(["pki", "init", "--dir"]).arg(&pki)).status.success());
    let server = run(pwsync()
        .args(["pki", "issue-server", "--ca-dir"])
        .arg(&pki)
        .args(["--name", "server", "--san", "127.0.0.1", "--out"])
        .arg(&pki));
    assert!(server.status.success(), "{}", stderr(&server));
    let client = run(pwsync()
        .args(["pki", "issue-client", "--ca-dir"])
        .arg(&pki)
        .args(["--name", "dc1", "--domain", client_domain, "--out"])
        .arg(&pki));
    assert!(client.status.success(), "{}", stderr(&client));
}

#[test]
fn check_config_checks_the_files_a_client_configuration_names() {
    let dir = TestDir::new("config-files");
    let output = check_config(&dir, "client.toml", CLIENT_CONFIG);
    assert_eq!(output.status.code(), Some(EXIT_FAILURE), "valid without any key or certificate");
    assert!(stderr(&output).contains("spool.key"), "the missing key is not named: {}", stderr(&output));

    make_deployment_files(&dir, "other.example");
    let output = check_config(&dir, "client.toml", CLIENT_CONFIG);
    assert_eq!(output.status.code(), Some(EXIT_FAILURE), "valid with a certificate for another domain");
    assert!(stderr(&output).contains("other.example"), "{}", stderr(&output));
}

#[test]
fn check_config_says_a_valid_client_or_server_file_is_valid() {
    let dir = TestDir::new("config-ok");
    make_deployment_files(&dir, "corp.example");
    let output = check_config(&dir, "client.toml", CLIENT_CONFIG);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("valid client configuration"), "{}", stdout(&output));

    let program = dir.join("apply.sh");
    std::fs::write(&program, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = check_config(&dir, "server.toml", &server_config(&dir.path, &program));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("valid server configuration (2 targets)"), "{}", stdout(&output));
    assert!(!dir.join("ledger.sqlite").exists(), "check-config created the ledger");
    assert!(!dir.join("dry-run.jsonl").exists(), "check-config created the dry-run log");
}

#[test]
fn check_config_names_an_unknown_key() {
    let dir = TestDir::new("config-unknown");
    let client = CLIENT_CONFIG.replace("[server]\n", "[server]\nrequest_timeout_msec = 5\n");
    let output = check_config(&dir, "client.toml", &client);
    assert_eq!(output.status.code(), Some(EXIT_FAILURE), "{}", stdout(&output));
    assert!(stderr(&output).contains("request_timeout_msec"), "the key is not named: {}", stderr(&output));

    let program = dir.join("apply.sh");
    std::fs::write(&program, "#!/bin/sh\nexit 0\n").unwrap();
    let server = server_config(&dir.path, &program).replace("[ledger]\n", "[ledger]\nbackup_path = \"x\"\n");
    let output = check_config(&dir, "server.toml", &server);
    assert_eq!(output.status.code(), Some(EXIT_FAILURE), "{}", stdout(&output));
    assert!(stderr(&output).contains("backup_path"), "the key is not named: {}", stderr(&output));
}

#[test]
fn check_config_refuses_a_file_that_is_neither_client_nor_server() {
    let dir = TestDir::new("config-neither");
    let output = check_config(&dir, "other.toml", "[database]\nurl = \"postgres://x\"\n");
    assert_eq!(output.status.code(), Some(EXIT_FAILURE), "{}", stdout(&output));
    assert!(stderr(&output).contains("neither a client"), "{}", stderr(&output));

    let output = check_config(&dir, "broken.toml", "[client\ndomain = 1\n");
    assert_eq!(output.status.code(), Some(EXIT_FAILURE), "{}", stdout(&output));
    assert!(stderr(&output).contains("broken.toml"), "{}", stderr(&output));

    let output = run(pwsync().arg("check-config").arg(dir.join("missing.toml")));
    assert_eq!(output.status.code(), Some(EXIT_FAILURE), "{}", stdout(&output));
    assert!(stderr(&output).contains("cannot read"), "{}", stderr(&output));
}

#[test]
fn check_config_refuses_an_exec_target_whose_program_does_not_exist() {
    let dir = TestDir::new("config-exec");
    make_deployment_files(&dir, "corp.example");
    let missing = dir.join("no-such-program.sh");
    let output = check_config(&dir, "server.toml", &server_config(&dir.path, &missing));
    assert_eq!(output.status.code(), Some(EXIT_FAILURE), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(err.contains(&missing.display().to_string()), "the program is not named: {err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!stdout(&output).contains("valid"), "{}", stdout(&output));
}

// ---------------------------------------------------------------------------------------------
// Help
// ---------------------------------------------------------------------------------------------

#[test]
fn capture_help_documents_stdin_and_every_exit_status() {
    for hook in HOOKS {
        let output = run(hook.command().arg("--help"));
        assert!(output.status.success(), "{hook:?}");
        let help = stdout(&output);
        assert!(help.contains("read from standard input"), "{hook:?}: {help}");
        assert!(help.contains("never accepted as an argument or environment variable"), "{hook:?}: {help}");
        assert!(help.contains("EXIT STATUS"), "{hook:?}: {help}");
        for (code, meaning) in [
            ("0", "captured"),
            ("2", "usage error"),
            ("65", "bad input"),
            ("74", "spool"),
            ("78", "public key"),
        ] {
            assert!(
                help.lines().any(|line| line.trim_start().starts_with(code) && line.contains(meaning)),
                "{hook:?}: exit status {code} ({meaning}) is not documented:\n{help}"
            );
        }
    }
}

#[test]
fn top_level_help_mentions_stdin_and_exit_statuses() {
    let output = run(pwsync().arg("--help"));
    assert!(output.status.success());
    let help = stdout(&output).to_lowercase();
    assert!(help.contains("standard input") || help.contains("stdin"), "{help}");
    assert!(help.contains("exit status"), "{help}");
}

// ---------------------------------------------------------------------------------------------
// pwsync target test
// ---------------------------------------------------------------------------------------------

#[test]
fn target_test_probes_each_target_and_names_an_unknown_one() {
    let dir = TestDir::new("target-test");
    let program = dir.join("apply.sh");
    std::fs::write(&program, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.join("server.toml");
    std::fs::write(&config, server_config(&dir.path, &program)).unwrap();

    let output = run(pwsync().args(["target", "test", "--config"]).arg(&config).arg("alice"));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("dry: ok"), "{}", stdout(&output));
    assert!(stdout(&output).contains("script: ok"), "{}", stdout(&output));
    assert!(!dir.join("dry-run.jsonl").exists(), "a probe must not write the dry-run log");

    let output =
        run(pwsync().args(["target", "test", "--target", "nope", "--config"]).arg(&config).arg("alice"));
    assert_eq!(output.status.code(), Some(EXIT_FAILURE));
    assert!(stderr(&output).contains("nope"), "{}", stderr(&output));
}

/// A `--samba` capture command as Samba runs it: account and UPN in the environment only.
fn samba_capture(hook: Hook, spool: &Path, key: &Path, account: Option<&str>) -> Command {
    let mut command = hook.command();
    command.arg("--samba").arg("--spool").arg(spool).arg("--key").arg(key);
    command.env_remove("SAMBA_CPS_ACCOUNT_NAME").env_remove("SAMBA_CPS_USER_PRINCIPAL_NAME");
    if let Some(account) = account {
        command
            .env("SAMBA_CPS_ACCOUNT_NAME", account)
            .env("SAMBA_CPS_USER_PRINCIPAL_NAME", "jorg@corp.example");
    }
    command
}

#[test]
fn samba_mode_takes_the_account_from_the_environment_and_the_password_byte_for_byte() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-samba"));
        let (secret_key, public_key) = keygen(&dir.join("keys"));
        let spool = dir.join("spool");
        // Samba sends no newline: a trailing one is part of the password.
        let password = "Pässwörd-密码-1!\n";
        let output =
            run_with_stdin(samba_capture(hook, &spool, &public_key, Some("jörg")), password.as_bytes());
        assert!(output.status.success(), "stderr: {}", stderr(&output));
        let (_, change) = only_record(&spool, &secret_key);
        assert_eq!(change.password.expose(), password);
        assert_eq!(change.account, "jörg");
        assert_eq!(change.upn.as_deref(), Some("jorg@corp.example"));
        assert_eq!(change.source, pwsync_seal::SourceKind::Samba);

        // --account belongs to the generic mode only.
        let mut both = samba_capture(hook, &spool, &public_key, Some("jörg"));
        both.args(["--account", "alice"]);
        assert_eq!(run_with_stdin(both, b"x").status.code(), Some(2));
    }
}

#[test]
fn samba_mode_lets_a_failed_capture_through_by_default_and_notes_it_or_refuses_when_told() {
    for hook in HOOKS {
        let dir = TestDir::new(&format!("{hook:?}-samba-failure"));
        let spool = dir.join("spool");
        std::fs::create_dir_all(&spool).unwrap();
        std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o700)).unwrap();
        let missing_key = dir.join("missing.pub");
        let secret = b"Uncaptured-Pw-1!";

        let output = run_with_stdin(samba_capture(hook, &spool, &missing_key, Some("alice")), secret);
        assert_eq!(output.status.code(), Some(0), "allow is the default with --samba: {}", stderr(&output));
        assert!(stderr(&output).contains("UNCAPTURED"), "{}", stderr(&output));
        let journal = std::fs::read_to_string(spool.join("capture-failures")).unwrap();
        assert_eq!(journal.lines().count(), 1);
        assert!(journal.contains("\t78\talice\t"), "{journal}");

        let mut reject = samba_capture(hook, &spool, &missing_key, Some("alice"));
        reject.args(["--on-failure", "reject"]);
        let output = run_with_stdin(reject, secret);
        assert_eq!(output.status.code(), Some(78), "reject refuses the change: {}", stderr(&output));

        // Not run by Samba at all: named, and refused when told to refuse.
        let mut outside = samba_capture(hook, &spool, &missing_key, None);
        outside.args(["--on-failure", "reject"]);
        let output = run_with_stdin(outside, secret);
        assert_eq!(output.status.code(), Some(64));
        assert!(stderr(&output).contains("SAMBA_CPS_ACCOUNT_NAME"), "{}", stderr(&output));

        for bytes in [&output.stdout, &output.stderr] {
            assert!(!contains_bytes(bytes, secret));
        }
        assert!(!contains_bytes(&std::fs::read(spool.join("capture-failures")).unwrap(), secret));
    }
}

#[test]
fn test_scope_needs_an_ldap_scope_and_says_so() {
    let dir = TestDir::new("test-scope-all");
    let config = dir.join("client.toml");
    std::fs::write(
        &config,
        "[client]\ndomain = \"corp.example\"\nspool = \"spool\"\nspool_keys = [\"spool.key\"]\n\
         [server]\nurl = \"https://127.0.0.1:7443\"\nca = \"ca.pem\"\ncertificate = \"c.pem\"\nkey = \"c.key\"\n",
    )
    .unwrap();
    let output = run(pwsync().args(["client", "test-scope", "alice", "--config"]).arg(&config));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("kind = \"ldap\""), "{}", stderr(&output));
}
