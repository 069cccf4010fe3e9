//! End-to-end test of `libpam_pwsync.so` in a real PAM stack: `pamtester` drives
//! `pam_chauthtok` through `pam_unix.so` and the module, for a throw-away local user, and the
//! record it leaves is opened with the spool secret key.
//!
//! Needs root, `pamtester` and `useradd`/`userdel`: without them it fails when `CI` is set
//! and skips (saying why) otherwise. It must never leave a user, a pam.d file or a scratch
//! directory behind, even when an assertion fails: [`Fixture`]'s `Drop` removes them.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use pwsync_seal::{SecretKey, SourceKind};
use pwsync_spool::Spool;

/// Non-ASCII on purpose: the record must carry the password byte for byte.
const NEW_PASSWORD: &str = "Nëw-Pässwörd-密码-42!";
const OTHER_PASSWORD: &str = "Other-Pässwörd-31?";

/// useradd/userdel and pam_unix lock /etc/passwd and /etc/shadow; the tests take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The module that asks for and sets the new password, as docs/deploy-pam.md lists it.
const PAM_UNIX_LINE: &str = "password requisite pam_unix.so obscure yescrypt";

#[test]
fn a_changed_password_is_captured_exactly() {
    let Some(tools) = Tools::find_or_skip() else { return };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let fixture = Fixture::new(&tools);
    fixture.write_service("optional", &fixture.good_arguments(&["debug"]));

    let run = fixture.chauthtok(NEW_PASSWORD, NEW_PASSWORD);

    assert!(run.succeeded, "pamtester chauthtok should succeed:\n{}", run.output);
    assert!(fixture.password_was_set(), "pam_unix did not set the password:\n{}", run.output);
    let spool = Spool::open(&fixture.spool_dir()).unwrap();
    let pending = spool.list_pending().unwrap();
    assert_eq!(pending.len(), 1, "expected exactly one record, found {pending:?}");
    let record = spool.read(&pending[0]).unwrap();
    let change = pwsync_seal::open(&record, std::slice::from_ref(&fixture.secret)).unwrap();
    assert_eq!(change.account, fixture.user);
    // Compared without printing either side: a failure message must not show a password.
    assert!(change.password.expose() == NEW_PASSWORD, "the record holds a different password");
    assert_eq!(change.source, SourceKind::Pam);
    assert_eq!(change.origin, host_name());
    assert_eq!(change.id, pending[0].id);
}

#[test]
fn a_mistyped_retype_captures_nothing() {
    let Some(tools) = Tools::find_or_skip() else { return };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let fixture = Fixture::new(&tools);
    fixture.write_service("optional", &fixture.good_arguments(&[]));

    let run = fixture.chauthtok(NEW_PASSWORD, OTHER_PASSWORD);

    assert!(!run.succeeded, "pamtester chauthtok should fail on a mistyped retype:\n{}", run.output);
    assert!(!fixture.password_was_set(), "the password changed despite the mistyped retype");
    assert_eq!(fixture.records_anywhere(), Vec::<PathBuf>::new());
}

#[test]
fn an_unwritable_spool_does_not_fail_the_change() {
    let Some(tools) = Tools::find_or_skip() else { return };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let fixture = Fixture::new(&tools);
    fixture.write_service("optional", &fixture.unwritable_spool_arguments(&["debug"]));

    let run = fixture.chauthtok(NEW_PASSWORD, NEW_PASSWORD);

    assert!(run.succeeded, "an unwritable spool must not fail the change:\n{}", run.output);
    assert!(fixture.password_was_set(), "pam_unix did not set the password:\n{}", run.output);
    assert_eq!(fixture.records_anywhere(), Vec::<PathBuf>::new());
}

#[test]
fn reject_on_failure_refuses_a_change_it_cannot_capture() {
    let Some(tools) = Tools::find_or_skip() else { return };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let fixture = Fixture::new(&tools);
    fixture.write_service("required", &fixture.unwritable_spool_arguments(&["reject_on_failure"]));

    let run = fixture.chauthtok(NEW_PASSWORD, NEW_PASSWORD);

    assert!(!run.succeeded, "reject_on_failure should fail the change:\n{}", run.output);
    // Refused in the preliminary pass, before pam_unix changed anything.
    assert!(!fixture.password_was_set(), "the password changed although pam_pwsync refused");
    assert_eq!(fixture.records_anywhere(), Vec::<PathBuf>::new());
}

#[test]
fn reject_on_failure_with_a_working_spool_captures() {
    let Some(tools) = Tools::find_or_skip() else { return };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let fixture = Fixture::new(&tools);
    fixture.write_service("required", &fixture.good_arguments(&["reject_on_failure"]));

    let run = fixture.chauthtok(NEW_PASSWORD, NEW_PASSWORD);

    assert!(run.succeeded, "pamtester chauthtok should succeed:\n{}", run.output);
    assert!(fixture.password_was_set());
    assert_eq!(fixture.records_anywhere().len(), 1);
}

#[test]
fn listed_before_pam_unix_it_finds_no_new_password_and_lets_the_change_go_ahead() {
    let Some(tools) = Tools::find_or_skip() else { return };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let fixture = Fixture::new(&tools);
    // Misordered: in the update pass pam_pwsync runs before pam_unix has asked for the new
    // password, so PAM_AUTHTOK is still NULL.
    let module_line = fixture.module_line("optional", &fixture.good_arguments(&[]));
    fixture.write_service_lines(&[module_line, PAM_UNIX_LINE.to_owned()]);

    let run = fixture.chauthtok(NEW_PASSWORD, NEW_PASSWORD);

    assert!(run.succeeded, "a NULL PAM_AUTHTOK must not fail the change:\n{}", run.output);
    assert!(fixture.password_was_set(), "pam_unix did not set the password:\n{}", run.output);
    assert_eq!(fixture.records_anywhere(), Vec::<PathBuf>::new());
}

/// Absolute paths of the programs the test runs.
struct Tools {
    pamtester: PathBuf,
    useradd: PathBuf,
    userdel: PathBuf,
    module: PathBuf,
}

impl Tools {
    /// The tools, or `None` after printing why the test is skipped; panics instead under CI,
    /// where a skipped test would hide that the module was never tried.
    fn find_or_skip() -> Option<Tools> {
        match Tools::find() {
            Ok(tools) => Some(tools),
            Err(reason) if std::env::var_os("CI").is_some() => panic!(
                "the pam_pwsync end-to-end test cannot run: {reason}. CI runs it as root with \
                 pamtester installed (scripts/test-all.sh installs the Debian packages)"
            ),
            Err(reason) => {
                eprintln!(
                    "skipping the pam_pwsync end-to-end test: {reason} (set CI=1 to make this a failure)"
                );
                None
            }
        }
    }

    fn find() -> Result<Tools, String> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return Err("it must run as root (it adds a user and a file in /etc/pam.d)".into());
        }
        let program = |name: &str| {
            find_program(name)
                .ok_or_else(|| format!("{name} is not installed (Debian package: see scripts/test-all.sh)"))
        };
        Ok(Tools {
            pamtester: program("pamtester")?,
            useradd: program("useradd")?,
            userdel: program("userdel")?,
            module: built_module()?,
        })
    }
}

/// The module cargo built for this test run. `crate-type` includes `rlib`, so cargo builds the
/// library (and with it the cdylib) before the package's integration tests, into `deps/` beside
/// this test binary. Not `<target>/<profile>/libpam_pwsync.so`: cargo refreshes that copy only
/// when the library itself is asked for (`cargo build`), so under `cargo test` it can be stale.
fn built_module() -> Result<PathBuf, String> {
    let test_binary =
        std::env::current_exe().map_err(|error| format!("cannot locate the test binary: {error}"))?;
    let deps_dir = test_binary.parent().ok_or("the test binary has no directory")?;
    let module = deps_dir.join("libpam_pwsync.so");
    if module.is_file() {
        Ok(module)
    } else {
        Err(format!("{} was not built; run `cargo test -p pam_pwsync`", module.display()))
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    // useradd lives in /usr/sbin, which a non-login PATH may lack.
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_owned()
}

/// What one pamtester run did.
struct Run {
    succeeded: bool,
    output: String,
}

/// A test user, a pam.d service and a scratch directory (spool key pair, spool), all
/// removed on drop. Every field that names something to remove is set before it is created.
struct Fixture {
    user: String,
    service: String,
    service_file: PathBuf,
    scratch: PathBuf,
    secret: SecretKey,
    pamtester: PathBuf,
    userdel: PathBuf,
    module: PathBuf,
    user_created: bool,
}

impl Fixture {
    fn new(tools: &Tools) -> Fixture {
        let tag = format!("{:08x}", rand::random::<u32>());
        let mut fixture = Fixture {
            user: format!("pwsynct{tag}"),
            service: format!("pwsync-test-{tag}"),
            service_file: PathBuf::from(format!("/etc/pam.d/pwsync-test-{tag}")),
            scratch: std::env::temp_dir().join(format!("pam_pwsync-e2e-{tag}")),
            secret: SecretKey::generate(),
            pamtester: tools.pamtester.clone(),
            userdel: tools.userdel.clone(),
            module: tools.module.clone(),
            user_created: false,
        };
        std::fs::create_dir(&fixture.scratch).unwrap();
        std::fs::write(fixture.key_file(), fixture.secret.public_key().to_file_text()).unwrap();
        // A regular file, under which no spool can be created.
        std::fs::write(fixture.scratch.join("file"), b"not a directory\n").unwrap();

        fixture.user_created = true; // set first: a useradd that half-worked is still undone
        let status = Command::new(&tools.useradd)
            .args(["-M", "-s", "/usr/sbin/nologin", &fixture.user])
            .status()
            .unwrap();
        assert!(status.success(), "useradd {} failed: {status}", fixture.user);
        assert!(!fixture.password_was_set(), "a new user should have no password yet");
        fixture
    }

    fn spool_dir(&self) -> PathBuf {
        self.scratch.join("spool")
    }

    fn key_file(&self) -> PathBuf {
        self.scratch.join("spool.pub")
    }

    fn good_arguments(&self, flags: &[&str]) -> String {
        self.arguments(&self.spool_dir(), flags)
    }

    fn unwritable_spool_arguments(&self, flags: &[&str]) -> String {
        self.arguments(&self.scratch.join("file/spool"), flags)
    }

    fn arguments(&self, spool: &Path, flags: &[&str]) -> String {
        let mut line = format!("spool={} key={}", spool.display(), self.key_file().display());
        for flag in flags {
            line.push(' ');
            line.push_str(flag);
        }
        assert!(!line.contains(['[', ']']), "pam.d arguments must not need quoting: {line}");
        line
    }

    /// Writes the service: pam_unix sets the password, then pam_pwsync with `control`.
    fn write_service(&self, control: &str, arguments: &str) {
        self.write_service_lines(&[PAM_UNIX_LINE.to_owned(), self.module_line(control, arguments)]);
    }

    fn module_line(&self, control: &str, arguments: &str) -> String {
        format!("password {control} {} {arguments}", self.module.display())
    }

    fn write_service_lines(&self, lines: &[String]) {
        let mut text =
            "# Written by pam_pwsync's tests/pamtester.rs; removed when the test ends.\n".to_owned();
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::write(&self.service_file, text).unwrap();
    }

    /// `pamtester <service> <user> chauthtok`, typing `new` then `retype`.
    fn chauthtok(&self, new: &str, retype: &str) -> Run {
        let mut child = Command::new(&self.pamtester)
            .args([self.service.as_str(), self.user.as_str(), "chauthtok"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{new}\n{retype}\n").as_bytes()).unwrap();
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        Run {
            succeeded: output.status.success(),
            output: format!(
                "status: {}\nstdout: {}\nstderr: {}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }

    /// Whether the user's /etc/shadow entry holds a yescrypt hash (useradd leaves `!`).
    fn password_was_set(&self) -> bool {
        let shadow = std::fs::read_to_string("/etc/shadow").unwrap();
        let prefix = format!("{}:", self.user);
        let entry = shadow
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .expect("the test user is in /etc/shadow");
        entry.starts_with("$y$")
    }

    /// Every spool record file under the scratch directory, wherever the module put it.
    fn records_anywhere(&self) -> Vec<PathBuf> {
        let mut records = Vec::new();
        let mut dirs = vec![self.scratch.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension() == Some(OsStr::new("pws")) {
                    records.push(path);
                }
            }
        }
        records
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // No panics here: this also runs while a failed assertion unwinds.
        if let Err(error) = std::fs::remove_file(&self.service_file) {
            if error.kind() != std::io::ErrorKind::NotFound {
                eprintln!("cleanup: cannot remove {}: {error}", self.service_file.display());
            }
        }
        if self.user_created {
            match Command::new(&self.userdel).arg(&self.user).status() {
                Ok(status) if status.success() => {}
                other => eprintln!("cleanup: userdel {} failed: {other:?}", self.user),
            }
        }
        if let Err(error) = std::fs::remove_dir_all(&self.scratch) {
            eprintln!("cleanup: cannot remove {}: {error}", self.scratch.display());
        }
    }
}
