//! The server and client daemons of the storm, supervised as systemd would (`Restart=always`):
//! the storm SIGKILLs them at any moment, a process that exits by itself is counted and brought
//! back, and the server always comes back on the address its clients know.
//!
//! Must never signal a process it did not start.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{pwsync, wait_for, ClientSetup, Deployment};

/// One supervised process: running, or down until a given moment.
struct Slot {
    child: Option<Child>,
    /// When a down process is to be started again (None: running, or held down by the storm).
    restart_at: Option<Instant>,
    /// Exits nobody asked for (the process died by itself), with their status.
    unexpected_exits: Vec<String>,
}

impl Slot {
    fn new() -> Slot {
        Slot { child: None, restart_at: None, unexpected_exits: Vec::new() }
    }

    fn kill9(&mut self) -> bool {
        let Some(mut child) = self.child.take() else { return false };
        let _ = child.kill(); // SIGKILL; an already exited child is reaped below
        let _ = child.wait();
        true
    }

    /// Notices a process that exited by itself; true if it did.
    fn reap(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        let status = child.try_wait().ok()??;
        self.child = None;
        let text = status.to_string();
        self.unexpected_exits.push(text.clone());
        Some(text)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `pwsync server`, always on the same 127.0.0.1 port.
pub struct ServerProcess {
    config: PathBuf,
    ready: PathBuf,
    log: PathBuf,
    pub address: String,
    slot: Slot,
}

impl ServerProcess {
    /// Starts on a free port, then pins that port in the configuration for every restart.
    pub fn start(deployment: &Deployment) -> ServerProcess {
        let mut server = ServerProcess {
            config: deployment.server_config.clone(),
            ready: deployment.dir.join("server.ready"),
            log: deployment.dir.join("server.log"),
            address: String::new(),
            slot: Slot::new(),
        };
        server.spawn();
        let text = std::fs::read_to_string(&server.config).unwrap();
        let pinned: Vec<String> = text
            .lines()
            .map(|line| {
                if line.starts_with("listen") {
                    format!("listen = \"{}\"", server.address)
                } else {
                    line.into()
                }
            })
            .collect();
        std::fs::write(&server.config, pinned.join("\n") + "\n").unwrap();
        server
    }

    fn spawn(&mut self) {
        let _ = std::fs::remove_file(&self.ready);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = pwsync()
            .args(["--log-level", "debug", "server", "--config"])
            .arg(&self.config)
            .arg("--ready-file")
            .arg(&self.ready)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.slot.child = Some(child);
        let ready = &self.ready;
        let slot = &mut self.slot;
        wait_for(Duration::from_secs(30), "the server to be ready", || {
            if let Some(status) = slot.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the server exited while starting ({status}); see server.log");
            }
            // The file may be seen created before it is written.
            std::fs::read_to_string(ready).is_ok_and(|text| !text.trim().is_empty())
        });
        self.address = std::fs::read_to_string(&self.ready).unwrap().trim().to_string();
    }

    /// SIGKILL; it comes back at `restart_at` (None: held down until [`ServerProcess::bring_up`]).
    pub fn kill9(&mut self, restart_at: Option<Instant>) -> bool {
        let killed = self.slot.kill9();
        self.slot.restart_at = restart_at;
        killed
    }

    /// Restarts a due or crashed server; returns a note when it had exited by itself.
    pub fn supervise(&mut self, now: Instant) -> Option<String> {
        let crashed = self.slot.reap();
        if crashed.is_some() {
            self.slot.restart_at = Some(now + Duration::from_millis(300));
        }
        if self.slot.child.is_none() && self.slot.restart_at.is_some_and(|at| at <= now) {
            self.slot.restart_at = None;
            self.spawn();
        }
        crashed.map(|status| format!("server exited by itself ({status})"))
    }

    pub fn bring_up(&mut self) {
        if self.slot.child.is_none() {
            self.slot.restart_at = None;
            self.spawn();
        }
    }

    pub fn unexpected_exits(&self) -> &[String] {
        &self.slot.unexpected_exits
    }
}

/// `pwsync client` of one DC.
pub struct ClientProcess {
    pub setup: ClientSetup,
    slot: Slot,
}

impl ClientProcess {
    pub fn start(setup: ClientSetup) -> ClientProcess {
        let mut client = ClientProcess { setup, slot: Slot::new() };
        client.spawn();
        client
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.setup.log).unwrap();
        let child = pwsync()
            .args(["--log-level", "debug", "client", "--config"])
            .arg(&self.setup.config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        self.slot.child = Some(child);
    }

    pub fn kill9(&mut self, restart_at: Instant) -> bool {
        let killed = self.slot.kill9();
        self.slot.restart_at = Some(restart_at);
        killed
    }

    pub fn kill9_for_good(&mut self) {
        self.slot.kill9();
        self.slot.restart_at = None;
    }

    pub fn supervise(&mut self, now: Instant) -> Option<String> {
        let crashed = self.slot.reap();
        if crashed.is_some() {
            self.slot.restart_at = Some(now + Duration::from_millis(500));
        }
        if self.slot.child.is_none() && self.slot.restart_at.is_some_and(|at| at <= now) {
            self.slot.restart_at = None;
            self.spawn();
        }
        crashed.map(|status| format!("client {} exited by itself ({status})", self.setup.name))
    }

    pub fn bring_up(&mut self) {
        if self.slot.child.is_none() {
            self.slot.restart_at = None;
            self.spawn();
        }
    }

    pub fn unexpected_exits(&self) -> &[String] {
        &self.slot.unexpected_exits
    }

    pub fn spool(&self) -> &Path {
        &self.setup.spool
    }
}

/// A client of the deployment for DC `name`, sending to `server_address`, its spool at `spool`
/// (the harness's `Deployment::add_client` wants a harness `Server`; this one is supervised).
pub fn add_client(deployment: &Deployment, name: &str, server_address: &str, spool: &Path) -> ClientSetup {
    let (certificate, key) =
        deployment.issue_client(name, &[crate::common::DOMAIN], pwsync_tls::Validity::days(1));
    let config = deployment.dir.join(format!("client-{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "[client]\ndomain = {:?}\nspool = {spool:?}\nspool_keys = [{:?}]\nbatch_size = 100\nrescan_interval_ms = 2000\n\n\
             [server]\nurl = \"https://{server_address}\"\nca = {:?}\ncertificate = {certificate:?}\nkey = {key:?}\nrequest_timeout_ms = 15000\n\n\
             [retry]\ninitial_backoff_ms = 100\nmax_backoff_ms = 1000\n\n\
             [operations]\nstatus_interval_ms = 1000\n",
            crate::common::DOMAIN,
            deployment.secret_key,
            deployment.pki.join("ca.pem"),
        ),
    )
    .unwrap();
    ClientSetup {
        name: name.into(),
        spool: spool.to_path_buf(),
        config,
        log: deployment.dir.join(format!("client-{name}.log")),
    }
}
