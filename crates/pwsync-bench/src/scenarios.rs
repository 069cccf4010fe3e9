//! The scenarios of the issue composed from the pipeline runs: end-to-end latency with each
//! target, the mass reset over 1/4/16 clients, the in-process targets beside the process-per-
//! change model, and growth with changes and clients. Each prints a table and returns its
//! figures for the JSON file.

use std::path::Path;

use serde::Serialize;

use crate::binaries::Binaries;
use crate::deployment::work_directory;
use crate::pipeline::{self, DrainReport, LatencyReport, Target};
use crate::table::{count, ms, Table};

pub struct Settings<'a> {
    pub bins: &'a Binaries,
    pub keep: Option<&'a Path>,
    pub latency_changes: usize,
    pub rate: f64,
}

pub fn latency(settings: &Settings, targets: &[Target]) -> anyhow::Result<Vec<LatencyReport>> {
    let mut reports = Vec::new();
    for target in targets {
        let (dir, _guard) = work_directory(settings.keep, &format!("latency-{target:?}").to_lowercase())?;
        reports.push(pipeline::light_load(
            settings.bins,
            &dir,
            *target,
            settings.latency_changes,
            settings.rate,
        )?);
    }
    print_latency("end-to-end latency at light load (capture -> applied)", &reports);
    Ok(reports)
}

pub fn print_latency(title: &str, reports: &[LatencyReport]) {
    let mut table = Table::new(
        title,
        &[
            "target",
            "changes",
            "rate/s",
            "hook p50",
            "hook p99",
            "e2e p50 ms",
            "e2e p99 ms",
            "e2e max",
            "load",
        ],
    );
    for r in reports {
        table.row(vec![
            r.target.label().into(),
            r.changes.to_string(),
            format!("{:.0}", r.rate_per_s),
            ms(r.hook.p50_ms),
            ms(r.hook.p99_ms),
            ms(r.end_to_end.p50_ms),
            ms(r.end_to_end.p99_ms),
            ms(r.end_to_end.max_ms),
            format!("{:.2}", r.load_average),
        ]);
    }
    table.print();
}

/// Drains of `changes` backlogs spread over each client count in `clients`.
pub fn drains(
    settings: &Settings,
    label: &str,
    target: Target,
    runs: &[(usize, usize)],
) -> anyhow::Result<Vec<DrainReport>> {
    let mut reports = Vec::new();
    for (changes, clients) in runs {
        let (dir, _guard) =
            work_directory(settings.keep, &format!("{label}-{}-{changes}-{clients}", target_slug(target)))?;
        eprintln!("{label}: {changes} changes over {clients} clients to {}...", target.label());
        reports.push(pipeline::drain(settings.bins, &dir, target, *changes, *clients)?);
    }
    Ok(reports)
}

fn target_slug(target: Target) -> &'static str {
    match target {
        Target::DryRun => "dry-run",
        Target::Exec => "exec",
        Target::Graph => "graph",
    }
}

pub fn print_drains(title: &str, reports: &[DrainReport]) {
    let mut table = Table::new(
        title,
        &[
            "target",
            "changes",
            "clients",
            "drain s",
            "changes/s",
            "server CPU s",
            "server peak MB",
            "clients CPU s",
            "client peak MB",
            "clients total MB",
            "load",
        ],
    );
    for r in reports {
        table.row(vec![
            r.target.label().into(),
            count(r.changes as f64),
            r.clients.to_string(),
            ms(r.drain_seconds),
            count(r.throughput_per_s),
            ms(r.server_cpu_seconds),
            format!("{:.1}", r.server_peak_rss_mb),
            ms(r.clients_cpu_seconds),
            format!("{:.1}", r.client_peak_rss_mb_max),
            format!("{:.1}", r.clients_peak_rss_mb_total),
            format!("{:.1}-{:.1}", r.load_average_before, r.load_average_after),
        ]);
    }
    table.print();
}

#[derive(Serialize)]
pub struct PeersReport {
    /// Each target at light load, real hook processes.
    pub latency: Vec<LatencyReport>,
    /// Each target draining the same backlog through one client.
    pub drain: Vec<DrainReport>,
}

pub fn peers(settings: &Settings, backlog: usize) -> anyhow::Result<PeersReport> {
    let targets = [Target::DryRun, Target::Exec, Target::Graph];
    let mut latency = Vec::new();
    for target in targets {
        let (dir, _guard) = work_directory(settings.keep, &format!("peers-latency-{}", target_slug(target)))?;
        latency.push(pipeline::light_load(
            settings.bins,
            &dir,
            target,
            settings.latency_changes,
            settings.rate,
        )?);
    }
    let mut drain = Vec::new();
    for target in targets {
        drain.extend(drains(settings, "peers", target, &[(backlog, 1)])?);
    }
    print_latency("peers (a): the process-per-change model beside in-process targets, light load", &latency);
    print_drains("peers (a): the same backlog drained through each target, one client", &drain);
    Ok(PeersReport { latency, drain })
}
