//! The two ways every scenario drives the whole pipeline (server, targets, client daemons, all
//! real processes on 127.0.0.1):
//! - `light_load`: real hook processes at a low rate into one client's spool; end-to-end
//!   latency is each applied change's capture time to the ledger's settle time;
//! - `drain`: a backlog already in N spools, then N client daemons started at once; the time
//!   until every spool is empty, with the server's and clients' CPU and peak memory.
//!
//! Each run checks its outcome (every change applied, none failed, no password in clear in
//! any file of the run) and fails rather than report figures of a broken run.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Serialize;

use crate::binaries::Binaries;
use crate::daemon::Daemon;
use crate::deployment::{Deployment, TargetSpec};
use crate::load::{self, HookCall};
use crate::proc_stats::{self, load_average};
use crate::quantiles::Percentiles;
use crate::{graph, system};

/// Which target the server under test has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    DryRun,
    Exec,
    Graph,
}

impl Target {
    pub fn label(self) -> &'static str {
        match self {
            Target::DryRun => "dry-run",
            Target::Exec => "exec (a process per change)",
            Target::Graph => "graph (emulated Entra ID)",
        }
    }
}

/// The server under test with its target, and the emulator when the target is Graph.
struct Servers {
    server: Daemon,
    address: String,
    _emulator: Option<graph::Emulator>,
}

fn start_servers(
    bins: &Binaries,
    deployment: &Deployment,
    target: Target,
    users: usize,
) -> anyhow::Result<Servers> {
    let mut emulator = None;
    let spec = match target {
        Target::DryRun => TargetSpec::DryRun,
        Target::Exec => TargetSpec::Exec { concurrency: 4 },
        Target::Graph => {
            let started = graph::start(bins, deployment, users)?;
            let spec = started.target.clone();
            emulator = Some(started);
            spec
        }
    };
    deployment.write_server_config(&[spec])?;
    let (server, address) = system::start_server(bins, deployment)?;
    Ok(Servers { server, address, _emulator: emulator })
}

fn account(target: Target, index: usize) -> (String, Option<String>) {
    (format!("user{index:06}"), (target == Target::Graph).then(|| graph::upn(index)))
}

#[derive(Debug, Serialize)]
pub struct LatencyReport {
    pub target: Target,
    pub changes: usize,
    pub rate_per_s: f64,
    pub hook: Percentiles,
    pub end_to_end: Percentiles,
    pub applied: u64,
    pub load_average: f64,
}

pub fn light_load(
    bins: &Binaries,
    dir: &Path,
    target: Target,
    changes: usize,
    rate: f64,
) -> anyhow::Result<LatencyReport> {
    let deployment = Deployment::create(dir)?;
    let mut servers = start_servers(bins, &deployment, target, changes)?;
    let setup = deployment.add_client("dc1", &servers.address, "")?;
    std::fs::create_dir_all(&setup.spool)?;
    std::fs::set_permissions(&setup.spool, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let mut client = system::start_client(bins, &setup)?;
    // Let the client reach its idle state (watching the spool) before the first change.
    std::thread::sleep(Duration::from_millis(500));
    let call = HookCall {
        capture: &bins.capture,
        spool: &setup.spool,
        public_key: &deployment.public_key,
        origin: "dc1",
    };
    let hook = load::paced_hooks(&call, changes, rate, |index| account(target, index))?;
    system::wait_drained(
        &[&setup.spool],
        &mut [&mut client, &mut servers.server],
        Duration::from_millis(10),
        Duration::from_secs(300),
    )?;
    client.stop(Duration::from_secs(10));
    servers.server.stop(Duration::from_secs(20));
    let failed = system::failed_records(&[&setup.spool])?;
    let ledger = pwsync_server::ledger::summarize(&deployment.ledger).context("cannot read the ledger")?;
    if failed > 0 || ledger.applied as usize != changes {
        bail!("{changes} changes: {} applied, {failed} failed; see {}", ledger.applied, dir.display());
    }
    load::assert_no_leak(dir)?;
    Ok(LatencyReport {
        target,
        changes,
        rate_per_s: rate,
        hook: Percentiles::of_durations(&hook),
        end_to_end: Percentiles::of_nanos(&ledger.applied_latencies_ns),
        applied: ledger.applied,
        load_average: load_average(),
    })
}

#[derive(Debug, Serialize, Clone)]
pub struct DrainReport {
    pub target: Target,
    pub changes: usize,
    pub clients: usize,
    /// Writing the backlog (not part of the drain).
    pub fill_seconds: f64,
    pub drain_seconds: f64,
    pub throughput_per_s: f64,
    pub server_cpu_seconds: f64,
    pub server_peak_rss_mb: f64,
    pub clients_cpu_seconds: f64,
    pub client_peak_rss_mb_max: f64,
    pub clients_peak_rss_mb_total: f64,
    pub applied: u64,
    pub superseded: u64,
    pub load_average_before: f64,
    pub load_average_after: f64,
}

pub fn drain(
    bins: &Binaries,
    dir: &Path,
    target: Target,
    changes: usize,
    clients: usize,
) -> anyhow::Result<DrainReport> {
    let deployment = Deployment::create(dir)?;
    let mut servers = start_servers(bins, &deployment, target, changes)?;
    let setups = (0..clients)
        .map(|index| deployment.add_client(&format!("dc{index}"), &servers.address, ""))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let spools: Vec<(&Path, &str)> = setups.iter().map(|s| (s.spool.as_path(), s.name.as_str())).collect();
    let public_key = deployment.public_key()?;
    let fill = load::fill_spools(&spools, &public_key, changes, 16, |index| account(target, index).1)?;
    let load_average_before = load_average();
    let server_cpu_before = proc_stats::cpu_seconds(servers.server.pid())?;
    let mut daemons =
        setups.iter().map(|setup| system::start_client(bins, setup)).collect::<anyhow::Result<Vec<_>>>()?;
    let spool_paths: Vec<&Path> = spools.iter().map(|(path, _)| *path).collect();
    let drained = {
        let mut watched: Vec<&mut Daemon> = daemons.iter_mut().collect();
        watched.push(&mut servers.server);
        system::wait_drained(&spool_paths, &mut watched, Duration::from_millis(20), Duration::from_secs(900))?
    };
    let server_cpu = proc_stats::cpu_seconds(servers.server.pid())? - server_cpu_before;
    let server_memory = proc_stats::memory(servers.server.pid())?;
    let mut clients_cpu = 0.0;
    let mut client_peaks = Vec::new();
    for daemon in &daemons {
        clients_cpu += proc_stats::cpu_seconds(daemon.pid())?;
        client_peaks.push(proc_stats::memory(daemon.pid())?.peak_rss_mb);
    }
    let load_average_after = load_average();
    for daemon in &mut daemons {
        daemon.stop(Duration::from_secs(10));
    }
    servers.server.stop(Duration::from_secs(30));
    let failed = system::failed_records(&spool_paths)?;
    let ledger = pwsync_server::ledger::summarize(&deployment.ledger).context("cannot read the ledger")?;
    if failed > 0 || (ledger.applied + ledger.superseded) as usize != changes || ledger.pending > 0 {
        bail!(
            "{changes} changes: {} applied, {} superseded, {} pending, {failed} failed; see {}",
            ledger.applied,
            ledger.superseded,
            ledger.pending,
            dir.display()
        );
    }
    load::assert_no_leak(dir)?;
    Ok(DrainReport {
        target,
        changes,
        clients,
        fill_seconds: fill.as_secs_f64(),
        drain_seconds: drained.as_secs_f64(),
        throughput_per_s: changes as f64 / drained.as_secs_f64(),
        server_cpu_seconds: server_cpu,
        server_peak_rss_mb: server_memory.peak_rss_mb,
        clients_cpu_seconds: clients_cpu,
        client_peak_rss_mb_max: client_peaks.iter().copied().fold(0.0, f64::max),
        clients_peak_rss_mb_total: client_peaks.iter().sum(),
        applied: ledger.applied,
        superseded: ledger.superseded,
        load_average_before,
        load_average_after,
    })
}
