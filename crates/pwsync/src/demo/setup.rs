//! The demo's deployment: a CA, server and client certificates, a spool key pair and the two
//! configuration files, all inside the demo directory.

use std::path::{Path, PathBuf};

use anyhow::Context;
use pwsync_tls::Validity;

pub const DEMO_DOMAIN: &str = "demo.example";
pub const DEMO_CLIENT: &str = "dc1";

pub struct Deployment {
    pub server_config: PathBuf,
    pub client_config: PathBuf,
    pub ready_file: PathBuf,
    pub spool: PathBuf,
    pub public_key: PathBuf,
    pub ledger: PathBuf,
}

pub fn create(dir: &Path) -> anyhow::Result<Deployment> {
    let pki = dir.join("pki");
    pwsync_tls::init_ca(&pki, "pwsync demo CA", Validity::days(2))?;
    // Leaves expire before the CA does, as in any real deployment.
    let sans = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    let server = pwsync_tls::issue_server(&pki, "server", &sans, &pki, Validity::days(1))?;
    let client =
        pwsync_tls::issue_client(&pki, DEMO_CLIENT, &[DEMO_DOMAIN.to_string()], &pki, Validity::days(1))?;
    let (secret_key, public_key) = crate::keygen::generate(&dir.join("keys"))?;

    let ledger = dir.join("ledger.sqlite");
    let server_config = dir.join("server.toml");
    let ready_file = dir.join("server.ready");
    let server_text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[tls]\ncertificate = {cert:?}\nkey = {key:?}\nclient_ca = {ca:?}\n\n\
         [ledger]\npath = {ledger:?}\n\n[[target]]\nkind = \"dry-run\"\nname = \"dry-run\"\nlog = {log:?}\n",
        cert = server.certificate,
        key = server.private_key,
        ca = pwsync_tls::ca_certificate_path(&pki),
        ledger = ledger,
        log = dir.join("dry-run.jsonl"),
    );
    std::fs::write(&server_config, server_text).context("cannot write server.toml")?;

    let spool = dir.join("spool");
    let client_config = dir.join("client.toml");
    let client_text = format!(
        "[client]\ndomain = {DEMO_DOMAIN:?}\nspool = {spool:?}\nspool_keys = [{secret:?}]\n\n\
         [server]\nurl = \"https://127.0.0.1:PORT\"\nca = {ca:?}\ncertificate = {cert:?}\nkey = {key:?}\n\n\
         [retry]\ninitial_backoff_ms = 100\nmax_backoff_ms = 2000\n",
        secret = secret_key,
        ca = pwsync_tls::ca_certificate_path(&pki),
        cert = client.certificate,
        key = client.private_key,
    );
    std::fs::write(&client_config, client_text).context("cannot write client.toml")?;
    Ok(Deployment { server_config, client_config, ready_file, spool, public_key, ledger })
}

/// Points the client at the port the server actually bound.
pub fn set_server_port(deployment: &Deployment, address: &str) -> anyhow::Result<()> {
    let port = address.rsplit(':').next().context("the server's ready file holds no port")?;
    let text = std::fs::read_to_string(&deployment.client_config)?;
    std::fs::write(&deployment.client_config, text.replace("PORT", port))?;
    Ok(())
}
