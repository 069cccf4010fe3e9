//! Test harness for end-to-end tests: a throwaway deployment in a temporary directory, the
//! real `pwsync` binary started as server and client processes on 127.0.0.1, captures through
//! `pwsync capture`, and the checks every test ends with (no password in any file or log).
//!
//! Nothing here fakes a part of pwsync: the processes, TLS, files and SQLite are real.

#![allow(dead_code)]

pub mod browser;
pub mod graph_emulator;
pub mod prometheus;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pwsync_tls::Validity;

pub const DOMAIN: &str = "corp.example";

pub fn pwsync() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pwsync"))
}

/// A temporary directory removed when the test passes, kept (and printed) when it fails.
pub struct TestDir {
    pub path: PathBuf,
}

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let path = std::env::temp_dir().join(format!("pwsync-test-{name}-{}", rand::random::<u32>()));
        std::fs::create_dir_all(&path).unwrap();
        TestDir { path }
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

/// A random password with the canary prefix and non-ASCII characters.
pub fn password() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    format!("pwsync-canary-{}-Pä密!", Alphanumeric.sample_string(&mut rand::rng(), 16))
}

/// CA, server certificate, spool keys; clients are added with [`Deployment::add_client`].
pub struct Deployment {
    pub dir: PathBuf,
    pub pki: PathBuf,
    pub ledger: PathBuf,
    pub dry_run_log: PathBuf,
    pub recorder_log: PathBuf,
    pub server_config: PathBuf,
    pub secret_key: PathBuf,
    pub public_key: PathBuf,
}

pub struct ClientSetup {
    pub name: String,
    pub spool: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
}

impl Deployment {
    /// `recorder`: add an exec target that records (change id, account, SHA-256 of password).
    pub fn new(dir: &Path, recorder: bool) -> Deployment {
        let pki = dir.join("pki");
        pwsync_tls::init_ca(&pki, "test CA", Validity::days(1)).unwrap();
        pwsync_tls::issue_server(&pki, "server", &["127.0.0.1".into()], &pki, Validity::days(1)).unwrap();
        let keys = dir.join("keys");
        let status = pwsync().args(["keygen", "--out"]).arg(&keys).stdout(Stdio::null()).status().unwrap();
        assert!(status.success());
        let ledger = dir.join("ledger.sqlite");
        let dry_run_log = dir.join("dry-run.jsonl");
        let recorder_log = dir.join("recorder.log");
        let mut targets =
            format!("[[target]]\nkind = \"dry-run\"\nname = \"dry-run\"\nlog = {dry_run_log:?}\n");
        if recorder {
            let script = dir.join("recorder.py");
            std::fs::write(
                &script,
                format!(
                    "#!/usr/bin/env python3\nimport hashlib, json, sys\nd = json.load(sys.stdin)\n\
                     h = hashlib.sha256(d['password'].encode('utf-8')).hexdigest()\n\
                     open({recorder_log:?}, 'a').write(d['change_id'] + ' ' + d['account'] + ' ' + h + '\\n')\n"
                ),
            )
            .unwrap();
            make_executable(&script);
            targets.push_str(&format!(
                "\n[[target]]\nkind = \"exec\"\nname = \"recorder\"\nprogram = {script:?}\nconcurrency = 2\n"
            ));
        }
        let server_config = dir.join("server.toml");
        std::fs::write(
            &server_config,
            format!(
                "[server]\nlisten = \"127.0.0.1:0\"\nrequest_deadline_ms = 10000\n\n[tls]\ncertificate = {:?}\nkey = {:?}\nclient_ca = {:?}\n\n[ledger]\npath = {ledger:?}\n\n{targets}",
                pki.join("server.pem"),
                pki.join("server.key"),
                pki.join("ca.pem"),
            ),
        )
        .unwrap();
        Deployment {
            dir: dir.to_path_buf(),
            pki,
            ledger,
            dry_run_log,
            recorder_log,
            server_config,
            secret_key: keys.join("spool.key"),
            public_key: keys.join("spool.pub"),
        }
    }

    /// Adds an `[operator]` table (listener on a free loopback port, a token file, operator
    /// certificates named `admin` accepted) and returns the token.
    pub fn enable_operator(&self) -> String {
        use rand::distr::{Alphanumeric, SampleString};
        use std::os::unix::fs::PermissionsExt;
        let token = Alphanumeric.sample_string(&mut rand::rng(), 40);
        let token_file = self.dir.join("operator.token");
        std::fs::write(&token_file, format!("{token}\n")).unwrap();
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut config = std::fs::read_to_string(&self.server_config).unwrap();
        config.push_str(&format!(
            "\n[operator]\nlisten = \"127.0.0.1:0\"\ntoken_file = {token_file:?}\nclient_ca = {:?}\nclient_names = [\"admin\"]\n",
            self.pki.join("ca.pem")
        ));
        std::fs::write(&self.server_config, config).unwrap();
        token
    }

    /// Adds an exec target "gate" that rejects every change while the returned file exists
    /// (it is created closed) and applies otherwise.
    pub fn add_gate_target(&self) -> PathBuf {
        let gate = self.dir.join("gate-closed");
        let script = self.dir.join("gate.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\ncat >/dev/null\nif [ -e {gate:?} ]; then echo '{{\"result\":\"rejected\",\"reason\":\"gate closed\"}}'; exit 1; fi\nexit 0\n"
            ),
        )
        .unwrap();
        make_executable(&script);
        let mut config = std::fs::read_to_string(&self.server_config).unwrap();
        config.push_str(&format!("\n[[target]]\nkind = \"exec\"\nname = \"gate\"\nprogram = {script:?}\n"));
        std::fs::write(&self.server_config, config).unwrap();
        std::fs::write(&gate, "").unwrap();
        gate
    }

    pub fn issue_client(&self, name: &str, domains: &[&str], validity: Validity) -> (PathBuf, PathBuf) {
        let domains: Vec<String> = domains.iter().map(|d| d.to_string()).collect();
        let files = pwsync_tls::issue_client(&self.pki, name, &domains, &self.pki, validity).unwrap();
        (files.certificate, files.private_key)
    }

    pub fn add_client(&self, name: &str, server: &Server) -> ClientSetup {
        let (certificate, key) = self.issue_client(name, &[DOMAIN], Validity::days(1));
        let spool = self.dir.join(format!("spool-{name}"));
        let config = self.dir.join(format!("client-{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[client]\ndomain = {DOMAIN:?}\nspool = {spool:?}\nspool_keys = [{:?}]\nbatch_size = 100\nrescan_interval_ms = 2000\n\n\
                 [server]\nurl = \"https://{}\"\nca = {:?}\ncertificate = {certificate:?}\nkey = {key:?}\nrequest_timeout_ms = 15000\n\n\
                 [retry]\ninitial_backoff_ms = 100\nmax_backoff_ms = 1000\n\n\
                 [operations]\nstatus_interval_ms = 300\n",
                self.secret_key,
                server.address,
                self.pki.join("ca.pem"),
            ),
        )
        .unwrap();
        ClientSetup { name: name.into(), spool, config, log: self.dir.join(format!("client-{name}.log")) }
    }

    /// Captures one change through `pwsync capture` and returns its change id.
    pub fn capture(&self, spool: &Path, account: &str, password: &str, origin: &str) -> String {
        self.capture_with_upn(spool, account, None, password, origin)
    }

    /// As [`Deployment::capture`], with the user principal name a DC's hook would pass.
    pub fn capture_with_upn(
        &self,
        spool: &Path,
        account: &str,
        upn: Option<&str>,
        password: &str,
        origin: &str,
    ) -> String {
        capture_sealed_to(spool, &self.public_key, account, upn, password, origin)
    }

    /// Change ids the dry-run target applied (each at least once).
    pub fn applied_ids(&self) -> std::collections::BTreeSet<String> {
        let text = std::fs::read_to_string(&self.dry_run_log).unwrap_or_default();
        text.lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                value["change_id"].as_str().unwrap().to_string()
            })
            .collect()
    }

    /// (change id, account, sha256 hex) lines of the recorder target, in order of application.
    pub fn recorded(&self) -> Vec<(String, String, String)> {
        let text = std::fs::read_to_string(&self.recorder_log).unwrap_or_default();
        text.lines()
            .map(|line| {
                let mut parts = line.split(' ');
                (parts.next().unwrap().into(), parts.next().unwrap().into(), parts.next().unwrap().into())
            })
            .collect()
    }

    pub fn ledger_state(&self, change_id: &str) -> Option<String> {
        let conn =
            rusqlite::Connection::open_with_flags(&self.ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        conn.query_row("SELECT state FROM changes WHERE id = ?1", [change_id], |row| row.get(0)).ok()
    }

    pub fn audit_events(&self) -> Vec<(String, String)> {
        let conn =
            rusqlite::Connection::open_with_flags(&self.ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let mut statement = conn.prepare("SELECT event, detail FROM audit ORDER BY seq").unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// The end of every test: no file under the test directory holds any of the passwords.
    pub fn assert_no_password_anywhere(&self, passwords: &[String]) {
        let files = files_under(&self.dir);
        for path in &files {
            let Some(bytes) = read_unless_gone(path) else { continue };
            for password in passwords {
                let needle = password.as_bytes();
                assert!(
                    !bytes.windows(needle.len()).any(|window| window == needle),
                    "a test password was found in {}",
                    path.display()
                );
            }
        }
        assert!(files.len() >= 3, "the leak scan must have read the logs and the ledger");
    }
}

/// Captures one change through the real `pwsync-capture` hook, sealed to `public_key`, and
/// returns its change id.
pub fn capture_sealed_to(
    spool: &Path,
    public_key: &Path,
    account: &str,
    upn: Option<&str>,
    password: &str,
    origin: &str,
) -> String {
    let upn_flag = upn.map(|upn| ["--upn", upn]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pwsync-capture"))
        .arg("--spool")
        .arg(spool)
        .arg("--key")
        .arg(public_key)
        .args(["--account", account, "--origin", origin, "--print-id", "--exact-stdin"])
        .args(upn_flag.iter().flatten())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "capture failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Every regular file under `dir`, recursively (sockets and the like hold no data to scan).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files
}

/// A file's bytes, or `None` when it was removed since it was listed (a running daemon replaces
/// its state file by rename): a file that is gone holds nothing to scan. Any other error panics.
pub fn read_unless_gone(path: &Path) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => panic!("cannot read {}: {error}", path.display()),
    }
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A running `pwsync server`.
pub struct Server {
    child: Child,
    pub address: String,
    /// The operator listener's address, when the configuration has an `[operator]` table.
    pub operator_address: Option<String>,
    pub log: PathBuf,
}

impl Server {
    pub fn start(deployment: &Deployment) -> Server {
        Self::start_on(deployment, None)
    }

    /// Starts on a fixed address (to restart a killed server where its clients expect it).
    pub fn start_on(deployment: &Deployment, address: Option<&str>) -> Server {
        Self::start_with(deployment, address, &[])
    }

    /// Starts with extra environment variables (e.g. `NOTIFY_SOCKET`).
    pub fn start_with(deployment: &Deployment, address: Option<&str>, envs: &[(&str, &Path)]) -> Server {
        if let Some(address) = address {
            let text = std::fs::read_to_string(&deployment.server_config).unwrap();
            // Only the change API's address (the first `listen`, of [server]); an [operator]
            // table's listener keeps its own.
            let mut replaced = false;
            let text = text
                .lines()
                .map(|line| {
                    if line.starts_with("listen") && !replaced {
                        replaced = true;
                        format!("listen = \"{address}\"")
                    } else {
                        line.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(&deployment.server_config, text).unwrap();
        }
        let ready = deployment.dir.join("server.ready");
        let _ = std::fs::remove_file(&ready);
        let log = deployment.dir.join("server.log");
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let child = pwsync()
            .args(["--log-level", "debug", "server", "--config"])
            .arg(&deployment.server_config)
            .arg("--ready-file")
            .arg(&ready)
            .envs(envs.iter().map(|(key, value)| (*key, *value)))
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap();
        let operator_ready = deployment.dir.join("server.ready.operator");
        let _ = std::fs::remove_file(&operator_ready);
        let mut server = Server { child, address: String::new(), operator_address: None, log };
        wait_for(Duration::from_secs(30), "server ready", || {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "server exited early ({status}): {}",
                    std::fs::read_to_string(&server.log).unwrap_or_default()
                );
            }
            std::fs::read_to_string(&ready).is_ok()
        });
        server.address = std::fs::read_to_string(&ready).unwrap().trim().to_string();
        server.operator_address =
            std::fs::read_to_string(&operator_ready).ok().map(|text| text.trim().to_string());
        server
    }

    pub fn kill9(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (what systemd sends to stop a service).
    pub fn terminate(&self) {
        terminate(&self.child);
    }

    /// Sends SIGHUP (what `systemctl reload` sends): the server re-reads its TLS material.
    pub fn hangup(&self) {
        // SAFETY: kill(2) with a pid this test started and still owns (not yet reaped).
        let result = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGHUP) };
        assert_eq!(result, 0, "kill -HUP failed");
    }

    /// Waits for the process to exit by itself, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        wait_exit(&mut self.child, timeout)
    }
}

fn terminate(child: &Child) {
    // SAFETY: kill(2) with a pid this test started and still owns (not yet reaped).
    let result = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(result, 0, "kill -TERM failed");
}

fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the process did not exit within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `pwsync client`.
pub struct Client {
    child: Child,
}

impl Client {
    pub fn start(setup: &ClientSetup) -> Client {
        Self::start_with(setup, &[])
    }

    /// Starts with extra environment variables (e.g. `NOTIFY_SOCKET`).
    pub fn start_with(setup: &ClientSetup, envs: &[(&str, &Path)]) -> Client {
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&setup.log).unwrap();
        let child = pwsync()
            .args(["--log-level", "debug", "client", "--config"])
            .arg(&setup.config)
            .envs(envs.iter().map(|(key, value)| (*key, *value)))
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap();
        Client { child }
    }

    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn terminate(&self) {
        terminate(&self.child);
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        wait_exit(&mut self.child, timeout)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_for(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Records still pending in a spool directory (sealed files at its top level).
pub fn pending_records(spool: &Path) -> usize {
    std::fs::read_dir(spool)
        .map(|entries| {
            entries.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "pws")).count()
        })
        .unwrap_or(0)
}

pub fn failed_reasons(spool: &Path) -> Vec<String> {
    let mut reasons: Vec<String> = std::fs::read_dir(spool.join("failed"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "reason"))
                .map(|p| std::fs::read_to_string(p).unwrap())
                .collect()
        })
        .unwrap_or_default();
    reasons.sort();
    reasons
}

/// A free TCP port on 127.0.0.1 (bound and released: another process could take it first,
/// which a test would notice as a failure to start).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Appends lines to a client's configuration file (e.g. `metrics_listen` under `[operations]`,
/// which is the last table).
pub fn append_to_client_config(setup: &ClientSetup, text: &str) {
    let mut config = std::fs::read_to_string(&setup.config).unwrap();
    config.push_str(text);
    std::fs::write(&setup.config, config).unwrap();
}

/// An HTTPS GET with the deployment CA trusted and, optionally, a client certificate.
/// Returns (status, body).
pub fn https_get(
    deployment: &Deployment,
    url: &str,
    bearer: Option<&str>,
    identity: Option<(&Path, &Path)>,
) -> (u16, String) {
    let ca = deployment.pki.join("ca.pem");
    let tls = match identity {
        Some((certificate, key)) => pwsync_tls::client_config(&ca, certificate, key).unwrap(),
        None => pwsync_tls::client_config_without_identity(&ca).unwrap(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*tls).clone())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut request = http.get(url);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

/// A plain HTTP GET (the client's loopback metrics listener). Returns (status, body).
pub fn http_get(url: &str) -> (u16, String) {
    pwsync_tls::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        let response = http.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

/// The subcommand names a `--help` page lists under `Commands:` (none for a leaf command).
pub fn subcommands_listed(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        // Entries start two spaces in; wrapped descriptions are indented further.
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}
