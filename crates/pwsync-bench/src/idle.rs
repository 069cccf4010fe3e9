//! Scenario `idle`: what a client daemon costs while nothing changes — resident memory, CPU
//! ticks and wake-ups (voluntary context switches over all its threads) over a quiet window.
//!
//! The client runs with the default configuration an operator gets (inotify wake-ups, the
//! 30 s safety-net rescan, the periodic status report), against a live server with an empty
//! spool, so that the window shows whether anything polls.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::binaries::Binaries;
use crate::deployment::{Deployment, TargetSpec};
use crate::proc_stats;
use crate::system;
use crate::table::{ms, Table};

#[derive(Debug, Serialize)]
pub struct IdleReport {
    pub window_seconds: f64,
    pub rss_mb: f64,
    pub peak_rss_mb: f64,
    pub cpu_ticks: u64,
    pub cpu_ms: f64,
    pub wakeups: u64,
    pub threads: usize,
}

pub fn run(bins: &Binaries, dir: &Path, window: Duration) -> anyhow::Result<IdleReport> {
    let deployment = Deployment::create(dir)?;
    deployment.write_server_config(&[TargetSpec::DryRun])?;
    let (mut server, address) = system::start_server(bins, &deployment)?;
    let setup = deployment.add_client("dc1", &address, "")?;
    let mut client = system::start_client(bins, &setup)?;
    // Start-up (TLS set-up, first listing, first status report) is not idleness.
    std::thread::sleep(Duration::from_secs(3));
    client.check_alive()?;
    let pid = client.pid();
    let (ticks_before, switches_before) = (proc_stats::cpu_ticks(pid)?, voluntary_switches(pid)?);
    std::thread::sleep(window);
    client.check_alive()?;
    let (ticks_after, switches_after) = (proc_stats::cpu_ticks(pid)?, voluntary_switches(pid)?);
    let memory = proc_stats::memory(pid)?;
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))?.count();
    client.stop(Duration::from_secs(10));
    server.stop(Duration::from_secs(10));
    let cpu_ticks = ticks_after - ticks_before;
    Ok(IdleReport {
        window_seconds: window.as_secs_f64(),
        rss_mb: memory.rss_mb,
        peak_rss_mb: memory.peak_rss_mb,
        cpu_ticks,
        cpu_ms: cpu_ticks as f64 * 1000.0 / proc_stats::ticks_per_second(),
        wakeups: switches_after.saturating_sub(switches_before),
        threads,
    })
}

/// Voluntary context switches summed over every thread: each is a wake-up after a wait.
fn voluntary_switches(pid: u32) -> anyhow::Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let status = std::fs::read_to_string(task?.path().join("status")).unwrap_or_default();
        total += status
            .lines()
            .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|value| value.trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(total)
}

pub fn print(report: &IdleReport) {
    let mut table = Table::new(
        &format!("client idle: {:.0} s with an empty spool, default configuration", report.window_seconds),
        &["RSS MB", "peak RSS MB", "CPU ticks", "CPU ms", "wake-ups", "threads"],
    );
    table.row(vec![
        ms(report.rss_mb),
        ms(report.peak_rss_mb),
        report.cpu_ticks.to_string(),
        ms(report.cpu_ms),
        report.wakeups.to_string(),
        report.threads.to_string(),
    ]);
    table.print();
}
