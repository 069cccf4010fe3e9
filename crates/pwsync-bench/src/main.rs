//! `pwsync-bench`: pwsync's performance benchmark. It drives the release `pwsync` and
//! `pwsync-capture` programs as real processes on 127.0.0.1 (TLS, SQLite, fsync — nothing
//! mocked) and prints a table per scenario, with every figure also written as JSON.
//!
//! It measures; it never asserts on a figure (the goals are judged by whoever reads them), but
//! it does refuse to report a run whose changes were not all delivered, or that left a
//! password in clear in any file.

mod binaries;
mod daemon;
mod deployment;
mod graph;
mod hook;
mod idle;
mod load;
mod pipeline;
mod proc_stats;
mod quantiles;
mod samba_peer;
mod scenarios;
mod system;
mod table;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::{json, Map, Value};

use crate::pipeline::Target;
use crate::scenarios::Settings;

/// Benchmarks pwsync with real processes and prints tables (and JSON with --json).
///
/// Build the programs under test first, in release mode:
///
///   cargo build --release --locked -p pwsync -p pwsync-bench
///   target/release/pwsync-bench all --json target/bench.json
///
/// Each scenario creates its own throwaway deployment (CA, certificates, spool keys, server
/// and client configurations) in a temporary directory and removes it afterwards (see --keep).
/// Every password is random with a canary prefix; each run fails if any file it made holds one
/// in clear, or if a change was not delivered.
#[derive(Parser)]
#[command(name = "pwsync-bench", version, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    /// Directory holding the `pwsync` and `pwsync-capture` programs under test (default: the
    /// directory of this program, e.g. target/release).
    #[arg(long, global = true, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
    /// Write every figure of the run as JSON to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Keep each scenario's deployment (configurations, logs, ledger) under DIR instead of
    /// removing it.
    #[arg(long, global = true, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Hook scenario: rounds (each round times every variant once).
    #[arg(long, global = true, default_value_t = 300)]
    runs: usize,
    /// Light-load scenarios: changes captured through real hook processes.
    #[arg(long, global = true, default_value_t = 300)]
    changes: usize,
    /// Light-load scenarios: captures per second.
    #[arg(long, global = true, default_value_t = 20.0)]
    rate: f64,
    /// Idle scenario: the quiet window in seconds (at least 10 for the figure).
    #[arg(long, global = true, default_value_t = 10)]
    idle_seconds: u64,
    /// Mass reset: changes in the backlog.
    #[arg(long, global = true, default_value_t = 100_000)]
    mass_changes: usize,
    /// Mass reset: client daemon counts to spread the backlog over, one run each.
    #[arg(long, global = true, value_delimiter = ',', default_values_t = [1, 4, 16])]
    mass_clients: Vec<usize>,
    /// Peers: the backlog each target drains.
    #[arg(long, global = true, default_value_t = 2_000)]
    peer_backlog: usize,
    /// Peers: admin resets on the Samba DC timed for both Samba's syncpasswords and pwsync.
    #[arg(long, global = true, default_value_t = 30)]
    samba_runs: usize,
    /// Peers: leave out the Samba part (it needs root and Samba AD installed).
    #[arg(long, global = true)]
    no_samba: bool,
    /// Growth: backlog sizes, drained by one client.
    #[arg(long, global = true, value_delimiter = ',', default_values_t = [1_000, 10_000, 100_000])]
    growth_changes: Vec<usize>,
    /// Growth: client counts, each draining --growth-backlog changes in all.
    #[arg(long, global = true, value_delimiter = ',', default_values_t = [1, 4, 16, 64])]
    growth_clients: Vec<usize>,
    /// Growth: the backlog of the client-count axis.
    #[arg(long, global = true, default_value_t = 10_000)]
    growth_backlog: usize,
}

#[derive(Subcommand, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// The capture hook process beside the physical floor (spawn; write + fsync), and ratios.
    Hook,
    /// End-to-end latency at light load with the dry-run and the emulated Graph target.
    Latency,
    /// A client daemon's memory, CPU and wake-ups over a quiet window.
    Idle,
    /// A backlog of --mass-changes drained over each of --mass-clients client counts.
    MassReset,
    /// The exec target (a process per change) beside the in-process targets.
    Peers,
    /// Drain time and memory from 1k to 100k changes and from 1 to 64 clients.
    Growth,
    /// Every scenario above, in order.
    All,
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pwsync-bench: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let bins = binaries::Binaries::locate(cli.bin_dir.as_deref())?;
    let settings =
        Settings { bins: &bins, keep: cli.keep.as_deref(), latency_changes: cli.changes, rate: cli.rate };
    let wants = |scenario: Scenario| cli.scenario == scenario || cli.scenario == Scenario::All;
    let mut results = Map::new();
    let mut mass_reset_runs = Vec::new();
    results.insert("run".into(), run_header());

    if wants(Scenario::Hook) {
        let (dir, _guard) = deployment::work_directory(settings.keep, "hook")?;
        let report = hook::run(&bins, &dir, cli.runs)?;
        hook::print(&report);
        results.insert("hook".into(), serde_json::to_value(&report)?);
    }
    if wants(Scenario::Latency) {
        let reports = scenarios::latency(&settings, &[Target::DryRun, Target::Graph])?;
        results.insert("latency".into(), serde_json::to_value(&reports)?);
    }
    if wants(Scenario::Idle) {
        let (dir, _guard) = deployment::work_directory(settings.keep, "idle")?;
        let report = idle::run(&bins, &dir, Duration::from_secs(cli.idle_seconds))?;
        idle::print(&report);
        results.insert("client_idle".into(), serde_json::to_value(&report)?);
    }
    if wants(Scenario::MassReset) {
        let runs: Vec<(usize, usize)> =
            cli.mass_clients.iter().map(|clients| (cli.mass_changes, *clients)).collect();
        let reports = scenarios::drains(&settings, "mass-reset", Target::DryRun, &runs)?;
        scenarios::print_drains("mass reset: a backlog drained to the dry-run target", &reports);
        results.insert("mass_reset".into(), serde_json::to_value(&reports)?);
        mass_reset_runs = reports;
    }
    if wants(Scenario::Peers) {
        let report = scenarios::peers(&settings, cli.peer_backlog)?;
        results.insert("peers".into(), serde_json::to_value(&report)?);
        if !cli.no_samba {
            let (dir, _guard) = deployment::work_directory(settings.keep, "peers-samba")?;
            match samba_peer::run(&bins, &dir, cli.samba_runs)? {
                Some(report) => {
                    samba_peer::print(&report);
                    results.insert("peers_samba".into(), serde_json::to_value(&report)?);
                }
                None => println!("\npeers (b): skipped, Samba AD is not installed"),
            }
        }
    }
    if wants(Scenario::Growth) {
        // A backlog the mass reset already drained through one client is not drained again.
        let already =
            |changes: usize| mass_reset_runs.iter().find(|run| run.changes == changes && run.clients == 1);
        let by_changes: Vec<(usize, usize)> = cli
            .growth_changes
            .iter()
            .filter(|changes| already(**changes).is_none())
            .map(|changes| (*changes, 1))
            .collect();
        let by_clients: Vec<(usize, usize)> =
            cli.growth_clients.iter().map(|clients| (cli.growth_backlog, *clients)).collect();
        let mut changes = scenarios::drains(&settings, "growth", Target::DryRun, &by_changes)?;
        changes.extend(cli.growth_changes.iter().filter_map(|changes| already(*changes).cloned()));
        changes.sort_by_key(|run| run.changes);
        let clients = scenarios::drains(&settings, "growth", Target::DryRun, &by_clients)?;
        scenarios::print_drains("growth with the backlog (one client, dry-run target)", &changes);
        scenarios::print_drains(
            &format!("growth with the client count ({} changes in all, dry-run target)", cli.growth_backlog),
            &clients,
        );
        results.insert("growth".into(), json!({"by_changes": changes, "by_clients": clients}));
    }

    if let Some(path) = &cli.json {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let text = serde_json::to_string_pretty(&Value::Object(results))?;
        std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
        println!("\nJSON: {}", path.display());
    }
    Ok(())
}

/// When and where the run happened: the figures mean little without the machine's load.
fn run_header() -> Value {
    let unix_time =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    json!({
        "unix_time": unix_time,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "load_average_at_start": proc_stats::load_average(),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
    })
}
