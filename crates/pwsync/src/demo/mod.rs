//! `pwsync demo`: the whole pipeline on one machine with built-in defaults — PKI, keys, a
//! server with the dry-run target and a client as real processes on 127.0.0.1, a stream of
//! captures through real `pwsync capture` processes — then a summary of what happened.
//!
//! The demo doubles as the quickest end-to-end check and as the throughput benchmark. It must
//! leave no process behind and, unless `--keep` is given, no file.

mod leaks;
mod load;
mod processes;
mod setup;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use pwsync_server::ledger::{quantile, summarize};
use serde::Serialize;

use crate::cli::DemoArgs;

#[derive(Serialize)]
struct Summary {
    directory: String,
    changes_captured: usize,
    accounts: usize,
    capture_seconds: f64,
    hook_p50_ms: f64,
    hook_p99_ms: f64,
    settled_seconds: f64,
    applied: u64,
    superseded_by_server: u64,
    superseded_locally: u64,
    rejected: u64,
    failed_records: usize,
    end_to_end_p50_ms: f64,
    end_to_end_p99_ms: f64,
    throughput_per_second: f64,
    files_scanned: usize,
    files_with_a_password: usize,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    if args.changes == 0 || args.accounts == 0 {
        bail!("--changes and --accounts must be at least 1");
    }
    let (dir, _cleanup) = work_directory(args.keep.clone())?;
    let deployment = setup::create(&dir)?;
    let server_log = dir.join("server.log");
    let client_log = dir.join("client.log");
    let config = |path: &PathBuf| path.to_string_lossy().into_owned();

    let mut server = processes::start(
        "server",
        &[
            "server",
            "--config",
            &config(&deployment.server_config),
            "--ready-file",
            &config(&deployment.ready_file),
        ],
        &server_log,
    )?;
    let address =
        processes::wait_ready(&mut server, &deployment.ready_file, &server_log, Duration::from_secs(30))?;
    setup::set_server_port(&deployment, &address)?;
    let client_config = config(&deployment.client_config);
    let client_args = ["client", "--config", client_config.as_str()];
    let client =
        if args.backlog { None } else { Some(processes::start("client", &client_args, &client_log)?) };
    if !args.json {
        println!("pwsync demo: server on {address} (TLS 1.3, client certificates, dry-run target), client {} for {}",
            setup::DEMO_CLIENT, setup::DEMO_DOMAIN);
        println!("capturing {} changes for {} accounts...", args.changes, args.accounts);
    }

    let plan = load::LoadPlan {
        spool: &deployment.spool,
        public_key: &deployment.public_key,
        changes: args.changes,
        accounts: args.accounts,
        parallel: args.parallel,
        rate: args.rate,
    };
    let load = load::run(&plan)?;
    let mut client = match client {
        Some(client) => client,
        None => {
            if !args.json {
                println!("backlog of {} changes captured; starting the client...", args.changes);
            }
            processes::start("client", &client_args, &client_log)?
        }
    };

    let spool = pwsync_spool::Spool::open(&deployment.spool)?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let settle_started = Instant::now();
    loop {
        let stats = spool.stats()?;
        if stats.pending == 0 {
            break;
        }
        client.check_alive(&client_log)?;
        server.check_alive(&server_log)?;
        if Instant::now() > deadline {
            bail!(
                "{} changes still pending after {} s; see {}",
                stats.pending,
                args.timeout_secs,
                client_log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let drained = settle_started.elapsed();
    client.stop(Duration::from_secs(10));
    server.stop(Duration::from_secs(20));

    let ledger = summarize(&deployment.ledger).context("cannot read the ledger")?;
    let failed_records = spool.list_failed()?.len();
    let (leaky_files, files_scanned) = leaks::scan(&dir, load::CANARY_PREFIX.as_bytes())?;
    let seen_by_server = (ledger.applied + ledger.superseded + ledger.rejected + ledger.pending) as usize;
    let ms = |ns: Option<i64>| ns.unwrap_or(0) as f64 / 1e6;
    let hook_ns: Vec<i64> = load.hook_durations.iter().map(|d| d.as_nanos() as i64).collect();
    let window_ns = match (ledger.first_captured_at_ns, ledger.last_settled_at_ns) {
        (Some(first), Some(last)) if last > first => (last - first) as f64,
        _ => 1.0,
    };
    let summary = Summary {
        directory: dir.display().to_string(),
        changes_captured: args.changes,
        accounts: args.accounts,
        capture_seconds: load.elapsed.as_secs_f64(),
        hook_p50_ms: ms(quantile(&hook_ns, 0.50)),
        hook_p99_ms: ms(quantile(&hook_ns, 0.99)),
        settled_seconds: if args.backlog {
            drained.as_secs_f64()
        } else {
            (load.elapsed + drained).as_secs_f64()
        },
        applied: ledger.applied,
        superseded_by_server: ledger.superseded,
        superseded_locally: args.changes.saturating_sub(seen_by_server) as u64,
        rejected: ledger.rejected,
        failed_records,
        end_to_end_p50_ms: ms(quantile(&ledger.applied_latencies_ns, 0.50)),
        end_to_end_p99_ms: ms(quantile(&ledger.applied_latencies_ns, 0.99)),
        throughput_per_second: if args.backlog {
            args.changes as f64 / drained.as_secs_f64()
        } else {
            seen_by_server as f64 / (window_ns / 1e9)
        },
        files_scanned,
        files_with_a_password: leaky_files.len(),
    };
    print_summary(&summary, args.json, args.keep.is_some(), args.backlog);
    if !leaky_files.is_empty() {
        bail!("a demo password was found in: {leaky_files:?}");
    }
    if ledger.pending > 0 || failed_records > 0 || ledger.rejected > 0 {
        bail!("not every change was applied or superseded; see {}", dir.display());
    }
    Ok(())
}

fn print_summary(summary: &Summary, json: bool, kept: bool, backlog: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(summary).unwrap_or_default());
        return;
    }
    println!(
        "captured    {} changes in {:.2} s; capture hook p50 {:.2} ms, p99 {:.2} ms",
        summary.changes_captured, summary.capture_seconds, summary.hook_p50_ms, summary.hook_p99_ms
    );
    let settled = if backlog { "drained" } else { "settled" };
    println!("{settled:<11} all in {:.2} s: applied {}, superseded {} (server {}, client {}), rejected {}, failed {}",
        summary.settled_seconds, summary.applied, summary.superseded_by_server + summary.superseded_locally,
        summary.superseded_by_server, summary.superseded_locally, summary.rejected, summary.failed_records);
    println!(
        "end-to-end  capture -> applied p50 {:.2} ms, p99 {:.2} ms",
        summary.end_to_end_p50_ms, summary.end_to_end_p99_ms
    );
    let basis = if backlog { "drain of the backlog" } else { "first capture to last settle" };
    println!("throughput  {:.0} changes/s ({basis})", summary.throughput_per_second);
    println!(
        "leak check  {} of {} files contain a demo password",
        summary.files_with_a_password, summary.files_scanned
    );
    if kept {
        println!("files       {} (configs, logs, ledger.sqlite, dry-run.jsonl)", summary.directory);
    }
}

/// The demo directory, and a guard that removes it at the end unless it was given with --keep.
fn work_directory(keep: Option<PathBuf>) -> anyhow::Result<(PathBuf, Option<RemoveOnDrop>)> {
    match keep {
        Some(dir) => {
            if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
                bail!("{} is not empty; give --keep a new or empty directory", dir.display());
            }
            std::fs::create_dir_all(&dir)?;
            Ok((std::fs::canonicalize(&dir)?, None))
        }
        None => {
            let dir = std::env::temp_dir().join(format!("pwsync-demo-{}", rand::random::<u64>()));
            std::fs::create_dir_all(&dir)?;
            Ok((dir.clone(), Some(RemoveOnDrop(dir))))
        }
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
