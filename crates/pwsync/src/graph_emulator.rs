//! `pwsync graph-emulator`: runs the local Microsoft Graph / Entra ID token endpoint emulator
//! (crate pwsync-graph-emulator) by hand, from a tenant file, until interrupted.
//!
//! It is test support: it must never be presented as a way to run a password sync for real.

use anyhow::Context;

use crate::cli::GraphEmulatorArgs;

pub fn run(args: GraphEmulatorArgs) -> anyhow::Result<()> {
    let mut config = pwsync_graph_emulator::EmulatorConfig::load(&args.tenant)?;
    if let Some(writes) = args.budget_writes {
        config.budget.writes = writes;
    }
    if let Some(window_s) = args.budget_window_s {
        config.budget.window_s = window_s;
    }
    if let Some(lifetime) = args.token_lifetime_s {
        config.token_lifetime_s = lifetime;
    }
    let tls = pwsync_graph_emulator::tls_config(&args.certificate, &args.key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let emulator = pwsync_graph_emulator::start(&config, args.listen, tls).await?;
        let address = emulator.address();
        if let Some(ready_file) = &args.ready_file {
            std::fs::write(ready_file, address.to_string())
                .with_context(|| format!("cannot write the ready file {}", ready_file.display()))?;
        }
        tracing::info!(
            url = %emulator.url(),
            tenant = %config.tenant_id,
            apps = config.apps.len(),
            users = config.users.len(),
            budget_writes = config.budget.writes,
            budget_window_s = config.budget.window_s,
            "Graph emulator ready: use this URL as the graph target's authority and graph_url"
        );
        crate::daemons::shutdown_signal().await;
        emulator.stop();
        anyhow::Ok(())
    })
}
