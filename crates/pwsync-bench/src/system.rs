//! The system under test as real processes: `pwsync server` with the deployment's targets, and
//! `pwsync client` daemons, one per spool; waiting until every spool has drained.
//!
//! It only starts, watches and stops processes; what is measured is up to each scenario.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::binaries::Binaries;
use crate::daemon::Daemon;
use crate::deployment::{ClientSetup, Deployment};

pub fn start_server(bins: &Binaries, deployment: &Deployment) -> anyhow::Result<(Daemon, String)> {
    let config = deployment.server_config.to_string_lossy().into_owned();
    let ready = deployment.ready_file.to_string_lossy().into_owned();
    let _ = std::fs::remove_file(&deployment.ready_file);
    let mut server = Daemon::start(
        "server",
        &bins.pwsync,
        &["server", "--config", &config, "--ready-file", &ready],
        &deployment.server_log,
    )?;
    let address = server.wait_ready(&deployment.ready_file, Duration::from_secs(30))?;
    Ok((server, address))
}

pub fn start_client(bins: &Binaries, setup: &ClientSetup) -> anyhow::Result<Daemon> {
    let config = setup.config.to_string_lossy().into_owned();
    Daemon::start(
        &format!("client {}", setup.name),
        &bins.pwsync,
        &["client", "--config", &config],
        &setup.log,
    )
}

/// Whether `spool` still holds a record. Stops at the first one, so that it costs next to
/// nothing while a large backlog remains (a full listing of 100,000 names would compete with
/// the client for the CPU it is measuring).
pub fn has_pending(spool: &Path) -> anyhow::Result<bool> {
    for entry in std::fs::read_dir(spool)? {
        let name = entry?.file_name();
        if name.to_string_lossy().ends_with(".pws") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Waits until every spool is empty, checking every `every` that all processes are alive.
/// Returns the time it took.
pub fn wait_drained(
    spools: &[&Path],
    daemons: &mut [&mut Daemon],
    every: Duration,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut remaining: Vec<&Path> = spools.to_vec();
    loop {
        let mut still = Vec::new();
        for spool in remaining {
            if has_pending(spool)? {
                still.push(spool);
            }
        }
        remaining = still;
        if remaining.is_empty() {
            return Ok(started.elapsed());
        }
        for daemon in daemons.iter_mut() {
            daemon.check_alive()?;
        }
        if started.elapsed() > timeout {
            bail!(
                "{} spools still hold records after {timeout:?} (first: {})",
                remaining.len(),
                remaining[0].display()
            );
        }
        std::thread::sleep(every);
    }
}

/// Failed records across the spools (each is a change the pipeline could not deliver).
pub fn failed_records(spools: &[&Path]) -> anyhow::Result<usize> {
    let mut total = 0;
    for spool in spools {
        total += pwsync_spool::Spool::open(spool)?.list_failed()?.len();
    }
    Ok(total)
}
