//! Scenario `hook`: what the capture hook costs the DC, beside its physical floor measured in
//! the same run, round by round (each round runs every variant once, so that a burst of load
//! from elsewhere hits all variants alike).
//!
//! Variants, each timed from spawn to exit (processes) or around the call (in-process):
//! - `spawn`: `/bin/true` — starting and reaping any process;
//! - `floor`: `pwsync-bench-floor` — a dependency-free process that creates, writes and fsyncs a
//!   file of a sealed record's size, renames it and fsyncs the directory (the spool's durable
//!   write, nothing else);
//! - `hook`: `pwsync-capture` sealing a password from stdin into a spool;
//! - `floor, in-process` and `capture, in-process`: the same durable write and the whole
//!   `Spool::capture` (stamp, seal, write) without a process around them.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::binaries::Binaries;
use crate::deployment::Deployment;
use crate::load::{self, HookCall};
use crate::quantiles::{ratio, Percentiles};
use crate::table::{ms, Table};

#[derive(Serialize)]
pub struct HookReport {
    pub runs: usize,
    pub record_bytes: u64,
    pub spawn: Percentiles,
    pub floor_process: Percentiles,
    pub hook_process: Percentiles,
    pub floor_in_process: Percentiles,
    pub capture_in_process: Percentiles,
    pub hook_over_floor_p50: f64,
    pub hook_over_floor_p99: f64,
    pub capture_over_floor_in_process_p99: f64,
    pub load_average: f64,
}

pub fn run(bins: &Binaries, dir: &Path, runs: usize) -> anyhow::Result<HookReport> {
    let deployment = Deployment::create(dir)?;
    let public_key = deployment.public_key()?;
    let hook_spool = dir.join("spool-hook");
    let in_process_spool = pwsync_spool::Spool::open(&dir.join("spool-in-process"))?;
    let floor_dir = dir.join("floor");
    let floor_in_process_dir = dir.join("floor-in-process");
    for path in [&floor_dir, &floor_in_process_dir] {
        std::fs::create_dir_all(path)?;
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    }
    let call = HookCall {
        capture: &bins.capture,
        spool: &hook_spool,
        public_key: &deployment.public_key,
        origin: "dc1",
    };
    // The record size the floor writes: that of a real sealed record.
    let first = in_process_spool.capture(&public_key, capture_input(0))?;
    let record_bytes = std::fs::metadata(&first.path)?.len();
    call.run("warm-up", None)?;

    let mut samples: [Vec<Duration>; 5] = Default::default();
    for round in 0..runs {
        samples[0].push(timed_process(Command::new("/bin/true"))?);
        let mut floor = Command::new(&bins.floor);
        floor.arg(&floor_dir).arg(format!("{round}.pws")).arg(record_bytes.to_string());
        samples[1].push(timed_process(floor)?);
        samples[2].push(call.run(&format!("user{round:06}"), None)?);
        let started = Instant::now();
        write_durably(&floor_in_process_dir, &format!("{round}.pws"), record_bytes as usize)?;
        samples[3].push(started.elapsed());
        let started = Instant::now();
        in_process_spool.capture(&public_key, capture_input(round + 1))?;
        samples[4].push(started.elapsed());
    }
    let [spawn, floor_process, hook_process, floor_in_process, capture_in_process] =
        samples.map(|s| Percentiles::of_durations(&s));
    load::assert_no_leak(dir)?;
    Ok(HookReport {
        runs,
        record_bytes,
        hook_over_floor_p50: ratio(hook_process.p50_ms, floor_process.p50_ms),
        hook_over_floor_p99: ratio(hook_process.p99_ms, floor_process.p99_ms),
        capture_over_floor_in_process_p99: ratio(capture_in_process.p99_ms, floor_in_process.p99_ms),
        spawn,
        floor_process,
        hook_process,
        floor_in_process,
        capture_in_process,
        load_average: crate::proc_stats::load_average(),
    })
}

fn capture_input(index: usize) -> pwsync_spool::CaptureInput {
    pwsync_spool::CaptureInput {
        account: format!("inproc{index:06}"),
        upn: None,
        password: pwsync_seal::Password::new(load::password().to_string()),
        origin: "dc1".into(),
        source: pwsync_seal::SourceKind::Generic,
    }
}

fn timed_process(mut command: Command) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let status =
        command.stdin(Stdio::null()).stdout(Stdio::null()).status().context("cannot start a process")?;
    let took = started.elapsed();
    if !status.success() {
        bail!("{command:?} exited with {status}");
    }
    Ok(took)
}

/// The spool's durable write, in this process (the same steps as `pwsync-bench-floor`).
fn write_durably(dir: &Path, name: &str, bytes: usize) -> std::io::Result<()> {
    let temporary = dir.join(format!(".tmp-{name}"));
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary)?;
    file.write_all(&vec![0x5a; bytes])?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, dir.join(name))?;
    File::open(dir)?.sync_all()
}

pub fn print(report: &HookReport) {
    let mut table = Table::new(
        &format!(
            "hook cost: {} rounds, record {} bytes, load average {:.2}",
            report.runs, report.record_bytes, report.load_average
        ),
        &["variant", "p50 ms", "p99 ms", "max ms"],
    );
    for (name, p) in [
        ("spawn (/bin/true)", &report.spawn),
        ("floor process (write+fsync+rename+dir fsync)", &report.floor_process),
        ("hook process (pwsync-capture)", &report.hook_process),
        ("floor, in-process", &report.floor_in_process),
        ("capture, in-process (Spool::capture)", &report.capture_in_process),
    ] {
        table.row(vec![name.into(), ms(p.p50_ms), ms(p.p99_ms), ms(p.max_ms)]);
    }
    table.print();
    println!(
        "  hook / floor process: p50 {:.2}x, p99 {:.2}x (goal p99 <= 1.5x); in-process capture / floor p99 {:.2}x",
        report.hook_over_floor_p50, report.hook_over_floor_p99, report.capture_over_floor_in_process_p99
    );
}
