//! The whole pipeline into Entra ID, with real processes only: `pwsync graph-emulator` serves
//! the token endpoint and Graph over TLS from the deployment CA; `pwsync server` with a graph
//! target, `pwsync client` and `pwsync-capture` carry the changes. A cloud account's password
//! arrives byte for byte (compared by digest), a synced account's change is refused with its
//! reason, `pwsync target test` finds an account and explains a synced one — and no file of
//! the run (the emulator's log included) holds a password.

mod common;

use std::io::Write;
use std::time::Duration;

use common::graph_emulator::GraphEmulatorProcess;
use common::*;

const TENANT: &str = "5f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b";
const CLIENT_ID: &str = "a1b2c3d4-0000-4000-8000-000000000001";

fn start_emulator(deployment: &Deployment, secret: &str) -> GraphEmulatorProcess {
    let tenant = format!(
        "tenant_id = \"{TENANT}\"\n\n[[app]]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{secret}\"\n\
         permissions = [\"User-PasswordProfile.ReadWrite.All\", \"User.Read.All\"]\n\
         directory_roles = [\"User Administrator\"]\n\n\
         [[user]]\nuser_principal_name = \"alice@corp.com\"\n\n\
         [[user]]\nuser_principal_name = \"bob@corp.com\"\non_premises_sync_enabled = true\n"
    );
    GraphEmulatorProcess::start(deployment, &tenant, "debug")
}

/// What the emulator knows of the passwords set for `upn`, through its control API.
fn password_record(deployment: &Deployment, emulator: &GraphEmulatorProcess, upn: &str) -> serde_json::Value {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_file(deployment.pki.join("ca.pem")).unwrap())
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let url = format!("{}/_emulator/users/{upn}/password", emulator.url);
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let http = reqwest::Client::builder().tls_backend_preconfigured(tls).build().unwrap();
        http.get(url).send().await.unwrap().json().await.unwrap()
    })
}

#[test]
fn passwords_reach_entra_id_through_the_whole_pipeline() {
    let dir = TestDir::new("graph");
    let deployment = Deployment::new(&dir.path, false);
    let secret = "pipeline~client.secret-7";
    let emulator = start_emulator(&deployment, secret);
    let secret_file = deployment.dir.join("graph.secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut config = std::fs::OpenOptions::new().append(true).open(&deployment.server_config).unwrap();
    write!(
        config,
        "\n[[target]]\nkind = \"graph\"\nname = \"entra\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret_file = \"graph.secret\"\nauthority = \"{url}\"\ngraph_url = \"{url}\"\nca_file = \"pki/ca.pem\"\n\
         upn_suffix_rewrite = {{ from = \"@corp.local\", to = \"@corp.com\" }}\n",
        url = emulator.url
    )
    .unwrap();
    drop(config);

    let test = pwsync()
        .args(["target", "test", "--config"])
        .arg(&deployment.server_config)
        .args(["--target", "entra", "--upn", "alice@corp.local", "alice"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&test.stdout);
    assert!(test.status.success(), "{stdout}{}", String::from_utf8_lossy(&test.stderr));
    assert!(stdout.contains("entra: ok: alice maps to alice@corp.com"), "{stdout}");
    let test = pwsync()
        .args(["target", "test", "--config"])
        .arg(&deployment.server_config)
        .args(["--target", "entra", "--upn", "bob@corp.local", "bob"])
        .output()
        .unwrap();
    assert!(!test.status.success());
    assert!(String::from_utf8_lossy(&test.stdout).contains("synchronized from on-premises"));

    let server = Server::start(&deployment);
    let setup = deployment.add_client("dc1", &server);
    let client = Client::start(&setup);
    let alice_password = password();
    let bob_password = password();
    let alice =
        deployment.capture_with_upn(&setup.spool, "alice", Some("alice@corp.local"), &alice_password, "dc1");
    let bob = deployment.capture_with_upn(&setup.spool, "bob", Some("bob@corp.local"), &bob_password, "dc1");
    wait_for(Duration::from_secs(30), "both changes settled", || pending_records(&setup.spool) == 0);

    let record = password_record(&deployment, &emulator, "alice@corp.com");
    assert_eq!(record["sha256"], sha256_hex(&alice_password), "{record}");
    assert_eq!(record["force_change_next_sign_in"], false);
    assert_eq!(deployment.ledger_state(&alice).as_deref(), Some("applied"));
    assert_eq!(password_record(&deployment, &emulator, "bob@corp.com")["times_set"], 0);
    assert_ne!(deployment.ledger_state(&bob).as_deref(), Some("applied"));
    let reasons = failed_reasons(&setup.spool).join("\n");
    assert!(reasons.contains("synchronized from on-premises Active Directory"), "{reasons}");
    drop(client);
    drop(server);
    drop(emulator);
    // The secret's own files hold it by design; nothing else may.
    std::fs::remove_file(&secret_file).unwrap();
    std::fs::remove_file(deployment.dir.join("tenant.toml")).unwrap();
    deployment.assert_no_password_anywhere(&[alice_password, bob_password, secret.to_string()]);
}

#[test]
fn the_emulator_refuses_a_bad_tenant_file_by_name() {
    let dir = TestDir::new("graph-bad-tenant");
    let tenant = dir.path.join("tenant.toml");
    std::fs::write(
        &tenant,
        format!("tenant_id = \"{TENANT}\"\n[[user]]\nuser_principal_name = \"a@b.c\"\nsynced = true\n"),
    )
    .unwrap();
    let output = pwsync()
        .args([
            "graph-emulator",
            "--listen",
            "127.0.0.1:0",
            "--certificate",
            "/nonexistent.pem",
            "--key",
            "/nonexistent.key",
            "--tenant",
        ])
        .arg(&tenant)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("synced") && stderr.contains("tenant.toml"), "{stderr}");
}
