//! `pwsync graph-emulator` as a process for end-to-end tests: its server certificate issued by
//! the deployment CA, the tenant file written, the process started on a free loopback port and
//! its address read once it is ready. The process is killed when the value is dropped.
//!
//! Nothing here knows a test's tenant: the caller writes the tenant text.

use std::process::Child;
use std::time::Duration;

use super::{pwsync, wait_for, Deployment};

pub struct GraphEmulatorProcess {
    child: Child,
    /// `https://127.0.0.1:PORT`, the token endpoint's authority and the Graph URL alike.
    pub url: String,
}

impl GraphEmulatorProcess {
    /// Starts the emulator for the tenant in `tenant_text` (TOML), logging at `log_level` to
    /// `graph-emulator.log` in the deployment's directory.
    pub fn start(deployment: &Deployment, tenant_text: &str, log_level: &str) -> GraphEmulatorProcess {
        pwsync_tls::issue_server(
            &deployment.pki,
            "graph",
            &["127.0.0.1".into()],
            &deployment.pki,
            pwsync_tls::Validity::days(1),
        )
        .unwrap();
        let tenant = deployment.dir.join("tenant.toml");
        std::fs::write(&tenant, tenant_text).unwrap();
        let ready = deployment.dir.join("graph.ready");
        let log = std::fs::File::create(deployment.dir.join("graph-emulator.log")).unwrap();
        let child = pwsync()
            .args(["--log-level", log_level, "graph-emulator", "--listen", "127.0.0.1:0", "--tenant"])
            .arg(&tenant)
            .arg("--certificate")
            .arg(deployment.pki.join("graph.pem"))
            .arg("--key")
            .arg(deployment.pki.join("graph.key"))
            .arg("--ready-file")
            .arg(&ready)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut emulator = GraphEmulatorProcess { child, url: String::new() };
        wait_for(Duration::from_secs(20), "the emulator to be ready", || {
            assert!(emulator.child.try_wait().unwrap().is_none(), "the emulator exited early");
            // The file may be seen created before it is written.
            std::fs::read_to_string(&ready).is_ok_and(|text| !text.trim().is_empty())
        });
        emulator.url = format!("https://{}", std::fs::read_to_string(&ready).unwrap().trim());
        emulator
    }
}

impl Drop for GraphEmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
