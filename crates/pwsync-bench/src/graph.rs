//! The emulated Microsoft Graph for the `graph` target: `pwsync graph-emulator` as a real
//! process, serving TLS with a certificate from the run's CA, with one cloud user per account
//! the scenario will change and a write budget far above what the run can use, so that what is
//! measured is the target's own path, not throttling.
//!
//! The app's client secret is a benchmark fixture written owner-only into the run directory
//! (the leak check scans for passwords, which the secret is not).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::binaries::Binaries;
use crate::daemon::Daemon;
use crate::deployment::{Deployment, TargetSpec};

const TENANT: &str = "5f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b";
const CLIENT_ID: &str = "a1b2c3d4-0000-4000-8000-000000000001";

/// The cloud user of account `index`.
pub fn upn(index: usize) -> String {
    format!("user{index:06}@corp.com")
}

pub struct Emulator {
    /// Held so that the emulator lives as long as this value (dropping it stops the process).
    _process: Daemon,
    pub target: TargetSpec,
}

pub fn start(bins: &Binaries, deployment: &Deployment, users: usize) -> anyhow::Result<Emulator> {
    let dir = &deployment.dir;
    pwsync_tls::issue_server(
        &deployment.pki,
        "graph",
        &["127.0.0.1".into()],
        &deployment.pki,
        pwsync_tls::Validity::days(1),
    )?;
    let secret = format!("bench~{}", rand::random::<u64>());
    let mut tenant = format!(
        "tenant_id = \"{TENANT}\"\n\n[[app]]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{secret}\"\n\
         permissions = [\"User-PasswordProfile.ReadWrite.All\", \"User.Read.All\"]\n\
         directory_roles = [\"User Administrator\"]\n"
    );
    for index in 0..users {
        tenant.push_str(&format!("\n[[user]]\nuser_principal_name = \"{}\"\n", upn(index)));
    }
    let tenant_file = dir.join("tenant.toml");
    write_private(&tenant_file, &tenant)?;
    let secret_file = dir.join("graph.secret");
    write_private(&secret_file, &format!("{secret}\n"))?;
    let ready = dir.join("graph.ready");
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut daemon = Daemon::start(
        "graph emulator",
        &bins.pwsync,
        &[
            "graph-emulator",
            "--listen",
            "127.0.0.1:0",
            "--tenant",
            &path(&tenant_file),
            "--certificate",
            &path(&deployment.pki.join("graph.pem")),
            "--key",
            &path(&deployment.pki.join("graph.key")),
            "--budget-writes",
            "1000000",
            "--budget-window-s",
            "1",
            "--ready-file",
            &path(&ready),
        ],
        &dir.join("graph-emulator.log"),
    )?;
    let address = daemon.wait_ready(&ready, Duration::from_secs(30))?;
    let url = format!("https://{address}");
    Ok(Emulator {
        _process: daemon,
        target: TargetSpec::Graph { url, secret_file, tenant_id: TENANT.into(), client_id: CLIENT_ID.into() },
    })
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(())
}
