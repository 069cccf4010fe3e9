//! `pwsync keygen`: creates the spool key pair.
//!
//! The secret key file is created with mode 0600 before anything is written into it, and no
//! existing file is ever overwritten; the secret key is never printed.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use pwsync_seal::SecretKey;

use crate::cli::KeygenArgs;

pub fn run(args: KeygenArgs) -> anyhow::Result<()> {
    let (secret_path, public_path) = generate(&args.out)?;
    println!("spool secret key: {} (mode 0600; for the client daemon only)", secret_path.display());
    println!("spool public key: {} (for the capture hooks)", public_path.display());
    Ok(())
}

/// Writes `spool.key` and `spool.pub` into `dir`; returns their paths.
pub fn generate(dir: &Path) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let secret_path = dir.join("spool.key");
    let public_path = dir.join("spool.pub");
    for path in [&secret_path, &public_path] {
        if path.exists() {
            bail!("{} already exists; keygen never overwrites a key (move it away first)", path.display());
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let secret = SecretKey::generate();
    write_new(&secret_path, secret.to_file_text().as_bytes(), 0o600)?;
    write_new(&public_path, secret.public_key().to_file_text().as_bytes(), 0o644)?;
    Ok((secret_path, public_path))
}

fn write_new(path: &Path, content: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(content)
        .and_then(|_| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}
