//! Starts the Graph emulator on 127.0.0.1 over real TLS (a test CA from pwsync-tls), with one
//! tenant, app registrations for the setups tests need (a well-configured app with both a
//! secret and an RSA certificate, one without the password permission, one without a
//! directory role) and a handful of users; and builds `graph` target configurations for it.
//! Also captures this process's logs, so tests can prove no password reaches them.

#![allow(dead_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use pwsync_graph_emulator::{AppRegistration, DirectoryUser, EmulatorConfig, RunningEmulator, WriteBudget};
use pwsync_proto::{Identity, SecretString};
use pwsync_server::targets::{ApplyRequest, AssertionAlgorithm, GraphConfig};

pub const TENANT: &str = "5f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b";
pub const APP: &str = "a1b2c3d4-0000-4000-8000-000000000001";
pub const APP_WITHOUT_PERMISSION: &str = "a1b2c3d4-0000-4000-8000-000000000002";
pub const APP_WITHOUT_ROLE: &str = "a1b2c3d4-0000-4000-8000-000000000003";
pub const CLIENT_SECRET: &str = "Qx8~client.secret-value_42";
/// objectGUID of dave's on-premises account; his onPremisesImmutableId is derived from it.
pub const DAVE_GUID: &str = "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9";

pub struct GraphFixture {
    pub dir: PathBuf,
    pub emulator: RunningEmulator,
    pub ca_file: PathBuf,
    pub secret_file: PathBuf,
    pub certificate_file: PathBuf,
    pub key_file: PathBuf,
}

fn private_file(path: &Path, content: &str) {
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The app's certificate and RSA key (PEM), made with rcgen and aws-lc-rs.
fn rsa_certificate() -> (String, String) {
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).unwrap();
    let params = rcgen::CertificateParams::new(vec!["pwsync-graph-app".to_string()]).unwrap();
    let certificate = params.self_signed(&key).unwrap();
    (certificate.pem(), key.serialize_pem())
}

pub fn users() -> Vec<DirectoryUser> {
    let user = |upn: &str| DirectoryUser {
        id: None,
        user_principal_name: upn.into(),
        mail: None,
        on_premises_immutable_id: None,
        on_premises_sync_enabled: false,
        privileged: false,
    };
    vec![
        user("alice@corp.com"),
        DirectoryUser {
            on_premises_sync_enabled: true,
            on_premises_immutable_id: Some("c3luY2VkLWJvYg==".into()),
            ..user("bob@corp.com")
        },
        DirectoryUser { mail: Some("carol.mail@corp.com".into()), ..user("carol@corp.com") },
        DirectoryUser {
            on_premises_immutable_id: Some(pwsync_server::targets::immutable_id(DAVE_GUID).unwrap()),
            ..user("dave@corp.com")
        },
        DirectoryUser { privileged: true, ..user("root@corp.com") },
        user("erin@corp.com"),
        user("frank@corp.com"),
    ]
}

impl GraphFixture {
    pub async fn start() -> GraphFixture {
        Self::start_with(users(), WriteBudget::default()).await
    }

    pub async fn start_with(users: Vec<DirectoryUser>, budget: WriteBudget) -> GraphFixture {
        pwsync_tls::install_crypto_provider();
        let dir = std::env::temp_dir().join(format!("pwsync-graph-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_dir = dir.join("ca");
        pwsync_tls::init_ca(&ca_dir, "pwsync Graph emulator test CA", pwsync_tls::Validity::days(1)).unwrap();
        let server = pwsync_tls::issue_server(
            &ca_dir,
            "graph-emulator",
            &["127.0.0.1".to_string()],
            &dir,
            pwsync_tls::Validity::days(1),
        )
        .unwrap();
        let tls = pwsync_graph_emulator::tls_config(&server.certificate, &server.private_key).unwrap();
        let (certificate_pem, key_pem) = rsa_certificate();
        let certificate_file = dir.join("app.pem");
        std::fs::write(&certificate_file, &certificate_pem).unwrap();
        let key_file = dir.join("app.key");
        private_file(&key_file, &key_pem);
        let secret_file = dir.join("client.secret");
        private_file(&secret_file, &format!("{CLIENT_SECRET}\n"));
        let app = |client_id: &str, permissions: &[&str], roles: &[&str]| AppRegistration {
            client_id: client_id.into(),
            client_secret: Some(CLIENT_SECRET.into()),
            certificate_pem: Some(certificate_pem.clone()),
            permissions: permissions.iter().map(|permission| permission.to_string()).collect(),
            directory_roles: roles.iter().map(|role| role.to_string()).collect(),
        };
        let config = EmulatorConfig {
            tenant_id: TENANT.into(),
            tenant_domain: Some("corp.onmicrosoft.com".into()),
            apps: vec![
                app(APP, &["User-PasswordProfile.ReadWrite.All", "User.Read.All"], &["User Administrator"]),
                app(APP_WITHOUT_PERMISSION, &["User.Read.All"], &["User Administrator"]),
                app(APP_WITHOUT_ROLE, &["User-PasswordProfile.ReadWrite.All", "User.Read.All"], &[]),
            ],
            users,
            budget,
            token_lifetime_s: 3599,
        };
        let emulator =
            pwsync_graph_emulator::start(&config, "127.0.0.1:0".parse().unwrap(), tls).await.unwrap();
        GraphFixture {
            ca_file: pwsync_tls::ca_certificate_path(&ca_dir),
            dir,
            emulator,
            secret_file,
            certificate_file,
            key_file,
        }
    }

    /// A target using the client secret of `APP`, pointed at the emulator.
    pub fn secret_config(&self) -> GraphConfig {
        let url = self.emulator.url();
        let text = format!(
            "name = \"entra\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{APP}\"\nclient_secret_file = \"{}\"\n\
             authority = \"{url}\"\ngraph_url = \"{url}\"\nca_file = \"{}\"\ntimeout_ms = 5000\n",
            self.secret_file.display(),
            self.ca_file.display()
        );
        toml::from_str(&text).unwrap()
    }

    /// A target using `APP`'s certificate with `algorithm`.
    pub fn certificate_config(&self, algorithm: AssertionAlgorithm) -> GraphConfig {
        GraphConfig {
            client_secret_file: None,
            certificate_file: Some(self.certificate_file.clone()),
            certificate_key_file: Some(self.key_file.clone()),
            assertion_algorithm: algorithm,
            ..self.secret_config()
        }
    }

    /// An HTTPS client that trusts the test CA, for talking to the emulator directly.
    pub fn http(&self) -> reqwest::Client {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(rustls_pki_types::CertificateDer::from_pem_file(&self.ca_file).unwrap()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        reqwest::Client::builder().tls_backend_preconfigured(config).build().unwrap()
    }
}

impl Drop for GraphFixture {
    fn drop(&mut self) {
        self.emulator.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn request(identity: Identity, password: &str) -> ApplyRequest {
    ApplyRequest {
        change_id: format!("change-{}", rand::random::<u32>()),
        domain: "corp.local".into(),
        account: "someone".into(),
        identity,
        password: SecretString::new(password.into()),
        captured_at_ns: now_ns(),
        origin: "dc1".into(),
    }
}

pub fn upn(upn: &str) -> Identity {
    Identity { user_principal_name: Some(upn.into()), ..Identity::default() }
}

pub fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64
}

/// Everything this test process logged (all tests share one subscriber), at debug level.
pub fn logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

fn log_buffer() -> Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| Arc::new(Mutex::new(Vec::new()))).clone()
}

struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once for the process.
pub fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let buffer = log_buffer();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || BufferWriter(buffer.clone()))
            .try_init();
    });
}
