//! The target that fails on demand: `pwsync graph-emulator` as a process, its tenant (one cloud
//! account per test account), the server's `graph` target pointing at it, and its control API
//! (faults in, the digest of each account's last password out).
//!
//! Must never ask the emulator for a password: it only ever gives out digests.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::graph_emulator::GraphEmulatorProcess;
use crate::common::Deployment;

const TENANT: &str = "5f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b";
const CLIENT_ID: &str = "a1b2c3d4-0000-4000-8000-000000000001";
const SECRET: &str = "chaos~client.secret-9";
/// The graph target gives up on a request after this long (the storm's "timeouts" exceed it).
pub const TARGET_TIMEOUT_MS: u64 = 1500;

pub fn upn(account: &str) -> String {
    format!("{account}@corp.com")
}

pub struct Emulator {
    /// Killed when the emulator is dropped.
    process: GraphEmulatorProcess,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Emulator {
    /// Starts the emulator with `accounts` as cloud users and adds a graph target to the
    /// server configuration.
    pub fn start(deployment: &Deployment, accounts: &[String]) -> Emulator {
        let mut tenant_text = format!(
            "tenant_id = \"{TENANT}\"\n\n[[app]]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{SECRET}\"\n\
             permissions = [\"User-PasswordProfile.ReadWrite.All\", \"User.Read.All\"]\n\
             directory_roles = [\"User Administrator\"]\n"
        );
        for account in accounts {
            tenant_text.push_str(&format!("\n[[user]]\nuser_principal_name = \"{}\"\n", upn(account)));
        }
        let process = GraphEmulatorProcess::start(deployment, &tenant_text, "info");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(trust_deployment_ca(&deployment.pki.join("ca.pem")))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let emulator = Emulator { process, http, runtime };

        let secret_file = deployment.dir.join("graph.secret");
        std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut config = std::fs::OpenOptions::new().append(true).open(&deployment.server_config).unwrap();
        write!(
            config,
            "\n[[target]]\nkind = \"graph\"\nname = \"entra\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\n\
             client_secret_file = \"graph.secret\"\nauthority = \"{url}\"\ngraph_url = \"{url}\"\nca_file = \"pki/ca.pem\"\n\
             timeout_ms = {TARGET_TIMEOUT_MS}\nconcurrency = 4\n",
            url = emulator.process.url
        )
        .unwrap();
        emulator
    }

    /// Sends a fault update (see the emulator's `FaultUpdate`).
    pub fn faults(&self, update: Value) {
        let url = format!("{}/_emulator/faults", self.process.url);
        let status =
            self.runtime.block_on(async { self.http.post(url).json(&update).send().await.unwrap().status() });
        assert_eq!(status.as_u16(), 204, "fault update refused: {update}");
    }

    /// The hex SHA-256 of the last password set for `upn` and how often one was set.
    pub fn password_of(&self, upn: &str) -> (Option<String>, u64) {
        let url = format!("{}/_emulator/users/{upn}/password", self.process.url);
        let record: Value =
            self.runtime.block_on(async { self.http.get(url).send().await.unwrap().json().await.unwrap() });
        (record["sha256"].as_str().map(str::to_string), record["times_set"].as_u64().unwrap())
    }

    /// The emulator's counters (requests, throttled, dropped, ...).
    pub fn stats(&self) -> Value {
        let url = format!("{}/_emulator/stats", self.process.url);
        self.runtime.block_on(async { self.http.get(url).send().await.unwrap().json().await.unwrap() })
    }

    /// The files holding the application secret by design (removed before the leak scan,
    /// which also looks for the secret everywhere else).
    pub fn secret() -> &'static str {
        SECRET
    }
}

fn trust_deployment_ca(ca: &Path) -> rustls::ClientConfig {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls_pki_types::CertificateDer::from_pem_file(ca).unwrap()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}
