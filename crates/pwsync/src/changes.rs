//! `pwsync changes ACCOUNT`: an account's changes from the server's ledger, each with its
//! per-target outcome, latency and rejection reason. Read-only; the ledger holds no password.

use pwsync_server::ledger::{ChangeView, LedgerReader};

use crate::cli::ChangesArgs;
use pwsync_server::when;

pub fn run(args: ChangesArgs) -> anyhow::Result<()> {
    let config = pwsync_server::config::ServerConfig::load(&args.config)?;
    let reader = LedgerReader::open(&config.ledger.path)?;
    let changes = reader.changes_of_account(&args.account, !args.contains, args.limit)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&changes)?);
        return Ok(());
    }
    if changes.is_empty() {
        println!("no change of {:?} in the ledger", args.account);
        return Ok(());
    }
    for change in &changes {
        print_change(change);
    }
    Ok(())
}

pub fn print_change(change: &ChangeView) {
    println!("change {}  {}\\{}  {}", change.id, change.domain, change.account, change.state.to_uppercase());
    println!(
        "  captured {} at {} ({} hook), sent by {}",
        when::timestamp(change.captured_at_ns),
        change.origin,
        change.source,
        change.client
    );
    if let Some(version) = change.directory_version {
        println!("  directory version {version} (orders it before capture time)");
    }
    match change.latency_ns() {
        Some(latency) => println!(
            "  settled  {} ({} after capture)",
            when::timestamp(change.settled_at_ns.unwrap_or_default()),
            when::duration(latency)
        ),
        None => println!("  not settled yet"),
    }
    if let Some(by) = &change.superseded_by {
        println!("  superseded by {by}");
    }
    if let Some(reason) = &change.reason {
        println!("  reason: {reason}");
    }
    for target in &change.targets {
        let reason = target.reason.as_deref().map(|reason| format!("  {reason}")).unwrap_or_default();
        println!(
            "  - {:<16} {:<8} {} attempt(s), {}{reason}",
            target.target,
            target.state,
            target.attempts,
            when::duration(target.latency_us * 1000)
        );
    }
}
