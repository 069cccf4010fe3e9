//! One throwaway deployment per scenario run: a directory with the PKI (CA, server certificate,
//! one client certificate per client daemon), the spool key pair, the server's configuration
//! with the targets under test, and a configuration and spool per client.
//!
//! Everything lives under the run's own directory, removed at the end unless `--keep` is given;
//! it never touches a real deployment's files. Its key files are written owner-only.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use pwsync_tls::Validity;

pub const DOMAIN: &str = "example.test";

pub struct Deployment {
    pub dir: PathBuf,
    pub pki: PathBuf,
    pub ledger: PathBuf,
    pub server_config: PathBuf,
    pub ready_file: PathBuf,
    pub server_log: PathBuf,
    pub secret_key: PathBuf,
    pub public_key: PathBuf,
}

pub struct ClientSetup {
    pub name: String,
    pub spool: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
}

/// A target of the server under test.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    DryRun,
    /// The original product's model: a program per change (here a trivial shell script).
    Exec {
        concurrency: usize,
    },
    /// Microsoft Graph, emulated (see `graph.rs`).
    Graph {
        url: String,
        secret_file: PathBuf,
        tenant_id: String,
        client_id: String,
    },
}

impl Deployment {
    pub fn create(dir: &Path) -> anyhow::Result<Deployment> {
        std::fs::create_dir_all(dir)?;
        let pki = dir.join("pki");
        pwsync_tls::init_ca(&pki, "pwsync bench CA", Validity::days(2))?;
        let sans = vec!["127.0.0.1".to_string()];
        pwsync_tls::issue_server(&pki, "server", &sans, &pki, Validity::days(1))?;
        let keys = dir.join("keys");
        std::fs::create_dir_all(&keys)?;
        let secret = pwsync_seal::SecretKey::generate();
        let secret_key = keys.join("spool.key");
        let public_key = keys.join("spool.pub");
        write_new(&secret_key, secret.to_file_text().as_bytes(), 0o600)?;
        write_new(&public_key, secret.public_key().to_file_text().as_bytes(), 0o644)?;
        Ok(Deployment {
            dir: dir.to_path_buf(),
            ledger: dir.join("ledger.sqlite"),
            server_config: dir.join("server.toml"),
            ready_file: dir.join("server.ready"),
            server_log: dir.join("server.log"),
            pki,
            secret_key,
            public_key,
        })
    }

    pub fn public_key(&self) -> anyhow::Result<pwsync_seal::PublicKey> {
        let text = std::fs::read_to_string(&self.public_key)?;
        Ok(pwsync_seal::PublicKey::parse_file_text(&text)?)
    }

    /// Writes server.toml with `targets` (listening on a free loopback port).
    pub fn write_server_config(&self, targets: &[TargetSpec]) -> anyhow::Result<()> {
        let mut text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[tls]\ncertificate = {:?}\nkey = {:?}\nclient_ca = {:?}\n\n\
             [ledger]\npath = {:?}\n",
            self.pki.join("server.pem"),
            self.pki.join("server.key"),
            pwsync_tls::ca_certificate_path(&self.pki),
            self.ledger,
        );
        for target in targets {
            text.push_str(&self.target_table(target)?);
        }
        std::fs::write(&self.server_config, text).context("cannot write server.toml")
    }

    fn target_table(&self, target: &TargetSpec) -> anyhow::Result<String> {
        Ok(match target {
            TargetSpec::DryRun => {
                format!("\n[[target]]\nkind = \"dry-run\"\nname = \"dry-run\"\nlog = {:?}\n", self.dir.join("dry-run.jsonl"))
            }
            TargetSpec::Exec { concurrency } => {
                // The least a per-change program can do: read its input and succeed.
                let script = self.dir.join("trivial-target.sh");
                std::fs::write(&script, "#!/bin/sh\ncat >/dev/null\nexit 0\n")?;
                std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
                format!(
                    "\n[[target]]\nkind = \"exec\"\nname = \"exec\"\nprogram = {script:?}\nconcurrency = {concurrency}\n"
                )
            }
            TargetSpec::Graph { url, secret_file, tenant_id, client_id } => format!(
                "\n[[target]]\nkind = \"graph\"\nname = \"entra\"\ntenant_id = {tenant_id:?}\nclient_id = {client_id:?}\n\
                 client_secret_file = {secret_file:?}\nauthority = {url:?}\ngraph_url = {url:?}\nca_file = {:?}\n\
                 write_budget = 1000000\nwrite_window_s = 1\nconcurrency = 8\n",
                pwsync_tls::ca_certificate_path(&self.pki)
            ),
        })
    }

    /// Issues a certificate for client `name` and writes its configuration, pointing at the
    /// server on `address`. Default settings, as an operator would deploy them.
    pub fn add_client(&self, name: &str, address: &str, extra: &str) -> anyhow::Result<ClientSetup> {
        let files =
            pwsync_tls::issue_client(&self.pki, name, &[DOMAIN.to_string()], &self.pki, Validity::days(1))?;
        let spool = self.dir.join(format!("spool-{name}"));
        let config = self.dir.join(format!("client-{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[client]\ndomain = {DOMAIN:?}\nspool = {spool:?}\nspool_keys = [{:?}]\n\n\
                 [server]\nurl = \"https://{address}\"\nca = {:?}\ncertificate = {:?}\nkey = {:?}\n\n\
                 [retry]\ninitial_backoff_ms = 100\nmax_backoff_ms = 2000\n{extra}",
                self.secret_key,
                pwsync_tls::ca_certificate_path(&self.pki),
                files.certificate,
                files.private_key,
            ),
        )?;
        Ok(ClientSetup { name: name.into(), spool, config, log: self.dir.join(format!("client-{name}.log")) })
    }
}

fn write_new(path: &Path, content: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(content)?;
    file.sync_all()?;
    Ok(())
}

/// The run's directory: `keep` if given (must be new or empty), else a fresh temporary one that
/// the guard removes.
pub fn work_directory(keep: Option<&Path>, label: &str) -> anyhow::Result<(PathBuf, Option<RemoveOnDrop>)> {
    match keep {
        Some(base) => {
            let dir = base.join(label);
            if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
                anyhow::bail!("{} is not empty; give --keep a new or empty directory", dir.display());
            }
            std::fs::create_dir_all(&dir)?;
            Ok((dir, None))
        }
        None => {
            let dir = std::env::temp_dir().join(format!("pwsync-bench-{label}-{}", rand::random::<u64>()));
            std::fs::create_dir_all(&dir)?;
            Ok((dir.clone(), Some(RemoveOnDrop(dir))))
        }
    }
}

pub struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
