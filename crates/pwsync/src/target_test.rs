//! `pwsync target test`: asks each configured target to find an account, changing nothing, so
//! that an administrator can check a target's connection, credentials and account mapping
//! before the first real password arrives. No password is involved at any point.

use anyhow::bail;

use crate::cli::{TargetArgs, TargetCommand};

pub fn run(args: TargetArgs) -> anyhow::Result<()> {
    let TargetCommand::Test { config, target, account, domain, upn, mail, object_guid } = args.command;
    let config = pwsync_server::config::ServerConfig::load(&config)?;
    let probe = pwsync_server::ProbeAccount {
        account,
        domain,
        identity: pwsync_proto::Identity {
            user_principal_name: upn,
            mail,
            object_guid,
            ..Default::default()
        },
    };
    pwsync_tls::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let results = runtime.block_on(pwsync_server::probe_targets(&config, target.as_deref(), &probe))?;
    let mut failed = 0;
    for (name, result) in results {
        match result {
            Ok(found) => println!("{name}: ok: {found}"),
            Err(reason) => {
                failed += 1;
                println!("{name}: FAILED: {reason}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} target(s) could not find the account; nothing was changed");
    }
    Ok(())
}
