//! `pwsync status`: one screen of facts, for a client (spool depth, oldest pending change,
//! failed records, last contact with the server) or a server (changes by state, rate, latency
//! percentiles, clients seen, target health). It only reads: the spool's names and state file,
//! or the ledger opened read-only.

use anyhow::{bail, Context};
use pwsync_server::ledger::{ClientSeen, LedgerReader, TargetHealth};
use serde::Serialize;

use crate::cli::StatusArgs;
use pwsync_server::when;

/// A client that has not been heard from for this long is marked silent.
pub const SILENT_AFTER_NS: i64 = 5 * 60 * 1_000_000_000;

pub fn run(args: StatusArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| args.config.display().to_string())?;
    if table.contains_key("client") {
        client_status(&args)
    } else if table.contains_key("ledger") {
        server_status(&args)
    } else {
        bail!(
            "{}: neither a client ([client] table) nor a server ([ledger] table) configuration",
            args.config.display()
        )
    }
}

#[derive(Serialize)]
struct ClientStatus {
    role: &'static str,
    spool: String,
    pending: usize,
    oldest_pending_captured_at_ns: Option<i64>,
    oldest_pending_age_s: Option<f64>,
    failed: usize,
    last_contact_ns: Option<i64>,
    last_error_ns: Option<i64>,
    last_error: Option<String>,
    daemon_version: Option<String>,
}

fn client_status(args: &StatusArgs) -> anyhow::Result<()> {
    let config = pwsync_client::config::ClientConfig::load(&args.config)?;
    let spool = pwsync_spool::Spool::open(&config.client.spool)?;
    let stats = spool.stats()?;
    let contact = pwsync_client::contact::read(&config.client.spool);
    let now = when::now_ns();
    let status = ClientStatus {
        role: "client",
        spool: config.client.spool.display().to_string(),
        pending: stats.pending,
        oldest_pending_captured_at_ns: stats.oldest_captured_at_ns,
        oldest_pending_age_s: stats.oldest_captured_at_ns.map(|at| (now - at).max(0) as f64 / 1e9),
        failed: stats.failed,
        last_contact_ns: contact.as_ref().and_then(|state| state.last_contact_ns),
        last_error_ns: contact.as_ref().and_then(|state| state.last_error_ns),
        last_error: contact.as_ref().and_then(|state| state.last_error.clone()),
        daemon_version: contact.as_ref().map(|state| state.version.clone()),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    println!("pwsync client — spool {}", status.spool);
    println!("  pending changes:   {}", status.pending);
    println!(
        "  oldest pending:    {}",
        status.oldest_pending_captured_at_ns.map_or("none".to_string(), |at| when::ago(Some(at)))
    );
    println!(
        "  failed records:    {}{}",
        status.failed,
        if status.failed > 0 { "  (see `pwsync failed list`)" } else { "" }
    );
    println!("  last contact:      {}", when::ago(status.last_contact_ns));
    if status.last_error_ns > status.last_contact_ns {
        println!(
            "  last error:        {} — {}",
            when::ago(status.last_error_ns),
            status.last_error.as_deref().unwrap_or("unknown")
        );
    }
    if let Some(version) = &status.daemon_version {
        println!("  daemon version:    {version}");
    }
    Ok(())
}

#[derive(Serialize)]
struct ServerStatus {
    role: &'static str,
    ledger: String,
    pending: u64,
    applied: u64,
    superseded: u64,
    rejected: u64,
    /// Settled in the last 5 minutes, per minute.
    changes_per_minute: f64,
    latency_p50_ms: Option<f64>,
    latency_p90_ms: Option<f64>,
    latency_p99_ms: Option<f64>,
    clients: Vec<ClientLine>,
    targets: Vec<TargetLine>,
}

#[derive(Serialize)]
struct ClientLine {
    #[serde(flatten)]
    seen: ClientSeen,
    silent: bool,
}

#[derive(Serialize)]
struct TargetLine {
    #[serde(flatten)]
    health: TargetHealth,
    healthy: bool,
}

fn server_status(args: &StatusArgs) -> anyhow::Result<()> {
    let config = pwsync_server::config::ServerConfig::load(&args.config)?;
    let summary = pwsync_server::ledger::summarize(&config.ledger.path)?;
    let reader = LedgerReader::open(&config.ledger.path)?;
    let now = when::now_ns();
    let window = 5 * 60 * 1_000_000_000;
    let recent = reader.throughput(now - window, now, window)?;
    let settled_recently: u64 =
        recent.iter().map(|bucket| bucket.applied + bucket.rejected + bucket.superseded).sum();
    let ms = |q| pwsync_server::ledger::quantile(&summary.applied_latencies_ns, q).map(|ns| ns as f64 / 1e6);
    let status = ServerStatus {
        role: "server",
        ledger: config.ledger.path.display().to_string(),
        pending: summary.pending,
        applied: summary.applied,
        superseded: summary.superseded,
        rejected: summary.rejected,
        changes_per_minute: settled_recently as f64 / 5.0,
        latency_p50_ms: ms(0.5),
        latency_p90_ms: ms(0.9),
        latency_p99_ms: ms(0.99),
        clients: reader
            .clients()?
            .into_iter()
            .map(|seen| {
                let silent = seen.last_contact_ns().is_none_or(|at| now - at > SILENT_AFTER_NS);
                ClientLine { seen, silent }
            })
            .collect(),
        targets: reader
            .target_health()?
            .into_iter()
            .map(|health| TargetLine { healthy: health.healthy(), health })
            .collect(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    let latency = |value: Option<f64>| value.map_or("-".to_string(), |ms| when::duration((ms * 1e6) as i64));
    println!("pwsync server — ledger {}", status.ledger);
    println!(
        "  changes:  {} applied, {} rejected, {} superseded, {} pending",
        status.applied, status.rejected, status.superseded, status.pending
    );
    println!("  rate:     {:.1} settled per minute (last 5 min)", status.changes_per_minute);
    println!(
        "  latency:  p50 {}, p90 {}, p99 {} (capture → applied)",
        latency(status.latency_p50_ms),
        latency(status.latency_p90_ms),
        latency(status.latency_p99_ms)
    );
    println!("  clients:");
    if status.clients.is_empty() {
        println!("    none seen yet");
    }
    for client in &status.clients {
        let seen = &client.seen;
        let spool = match (seen.spool_depth, seen.oldest_pending_captured_at_ns) {
            (Some(depth), Some(oldest)) => format!("spool {depth}, oldest {}", when::ago(Some(oldest))),
            (Some(depth), None) => format!("spool {depth}"),
            _ => "no status report".to_string(),
        };
        println!(
            "    {:<20} {:<8} last contact {:<16} {} changes, {}{}",
            seen.name,
            seen.version.as_deref().unwrap_or("?"),
            when::ago(seen.last_contact_ns()),
            seen.changes,
            spool,
            if client.silent { "  SILENT" } else { "" }
        );
    }
    println!("  targets:");
    if status.targets.is_empty() {
        println!("    no outcome recorded yet");
    }
    for target in &status.targets {
        let health = &target.health;
        println!(
            "    {:<20} {:<9} {} applied, {} rejected, {} waiting for retry{}",
            health.target,
            if target.healthy { "ok" } else { "FAILING" },
            health.applied,
            health.rejected,
            health.retry,
            health
                .last_problem
                .as_deref()
                .map(|reason| format!("; last problem: {reason}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}
