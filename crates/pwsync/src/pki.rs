//! `pwsync pki`: the deployment CA and the certificates of the server and the clients.
//!
//! A thin layer over `pwsync-tls`; it prints where each file went and what to do with it, and
//! never prints a private key.

use crate::cli::{PkiArgs, PkiCommand};
use pwsync_tls::Validity;

pub fn run(args: PkiArgs) -> anyhow::Result<()> {
    match args.command {
        PkiCommand::Init { dir, name, days } => {
            let files = pwsync_tls::init_ca(&dir, &name, Validity::days(days))?;
            println!(
                "CA certificate: {} (give it to the server and every client)",
                files.certificate.display()
            );
            println!(
                "CA private key: {} (mode 0600; keep it offline when not issuing)",
                files.private_key.display()
            );
        }
        PkiCommand::IssueServer { ca_dir, name, sans, out, days } => {
            let files = pwsync_tls::issue_server(&ca_dir, &name, &sans, &out, Validity::days(days))?;
            print_issued(&files);
        }
        PkiCommand::IssueClient { ca_dir, name, domains, out, days } => {
            let files = pwsync_tls::issue_client(&ca_dir, &name, &domains, &out, Validity::days(days))?;
            print_issued(&files);
        }
        PkiCommand::Revoke { ca_dir, certificate } => {
            let revocation = pwsync_tls::revoke_client(&ca_dir, &certificate)?;
            let what = if revocation.already_revoked { "was already revoked" } else { "revoked" };
            println!("client certificate \"{}\" (serial {}) {what}", revocation.name, revocation.serial);
            println!(
                "revocation list: {} ({} revoked); copy it to the server ([tls] revocation_list) and reload the server",
                revocation.list.display(),
                revocation.revoked_count
            );
        }
    }
    Ok(())
}

fn print_issued(files: &pwsync_tls::IssuedFiles) {
    println!(
        "certificate: {} (serial {}, valid until {})",
        files.certificate.display(),
        files.serial,
        files.not_after
    );
    println!("private key: {} (mode 0600)", files.private_key.display());
}
