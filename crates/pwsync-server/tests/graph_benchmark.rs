//! Benchmark of the graph target's pacing against the emulator enforcing a write budget: a
//! burst of changes (10,000 by default) for distinct users, driven as the dispatcher drives a
//! target (at most `concurrency()` calls at once; a transient outcome retried after its
//! `retry_after`). Prints the applied rate against the budget, the 429s received and the
//! changes lost (a user whose password is not the last one sent), as text and as one JSON line
//! (also written to target/graph-benchmark.json).
//!
//! Run: cargo test -p pwsync-server --test graph_benchmark -- --ignored --nocapture
//! Environment: PWSYNC_BENCH_CHANGES (10000), PWSYNC_BENCH_BUDGET (200 writes),
//! PWSYNC_BENCH_WINDOW_S (10), PWSYNC_BENCH_LATENCY_MS (20), PWSYNC_BENCH_CONFIGURED_BUDGET (the
//! budget the target is told; more than the emulator's shows the adaptation to 429s).

#[path = "support/graph_emulator.rs"]
mod graph_emulator;

use std::sync::Arc;
use std::time::{Duration, Instant};

use graph_emulator::{request, upn, GraphFixture};
use pwsync_graph_emulator::{password_digest, DirectoryUser, WriteBudget};
use pwsync_server::targets::{GraphConfig, GraphTarget, Target, TargetOutcome};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: minutes long, run by hand"]
async fn graph_target_runs_just_under_the_write_budget() {
    graph_emulator::capture_logs();
    let changes = setting("PWSYNC_BENCH_CHANGES", 10_000) as usize;
    let budget = WriteBudget {
        writes: setting("PWSYNC_BENCH_BUDGET", 200) as u32,
        window_s: setting("PWSYNC_BENCH_WINDOW_S", 10),
    };
    let configured_budget = setting("PWSYNC_BENCH_CONFIGURED_BUDGET", u64::from(budget.writes)) as u32;
    let latency = Duration::from_millis(setting("PWSYNC_BENCH_LATENCY_MS", 20));
    let users: Vec<DirectoryUser> = (0..changes)
        .map(|index| DirectoryUser {
            id: None,
            user_principal_name: format!("user{index:05}@corp.com"),
            mail: None,
            on_premises_immutable_id: None,
            on_premises_sync_enabled: false,
            privileged: false,
        })
        .collect();
    let fixture = GraphFixture::start_with(users, budget).await;
    fixture.emulator.faults().set_latency(latency);
    let config = GraphConfig {
        write_budget: configured_budget,
        write_window_s: budget.window_s,
        ..fixture.secret_config()
    };
    let target = Arc::new(GraphTarget::new(&config).unwrap());
    let permits = Arc::new(tokio::sync::Semaphore::new(target.concurrency()));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(changes);
    for index in 0..changes {
        let (target, permits) = (target.clone(), permits.clone());
        tasks.push(tokio::spawn(async move {
            let password = format!("Bench-{index:05}-Pass!");
            let change = request(upn(&format!("user{index:05}@corp.com")), &password);
            let mut transients = 0u32;
            loop {
                let outcome = {
                    let _permit = permits.acquire().await.unwrap();
                    target.apply(&change).await
                };
                match outcome {
                    TargetOutcome::Applied => return (true, transients),
                    TargetOutcome::Rejected { reason } => panic!("change {index} rejected: {reason}"),
                    TargetOutcome::Transient { retry_after, .. } => {
                        transients += 1;
                        tokio::time::sleep(retry_after.unwrap_or(Duration::from_secs(1))).await;
                    }
                }
            }
        }));
    }
    let mut retried = 0u64;
    for task in tasks {
        let (applied, transients) = task.await.unwrap();
        assert!(applied);
        retried += u64::from(transients);
    }
    let elapsed = started.elapsed();
    let lost = (0..changes)
        .filter(|index| {
            let record = fixture.emulator.password_record(&format!("user{index:05}@corp.com")).unwrap();
            record.sha256 != Some(password_digest(&format!("Bench-{index:05}-Pass!")))
        })
        .count();
    let stats = fixture.emulator.stats();
    let budget_rate = f64::from(budget.writes) / budget.window_s as f64;
    // The first window can take a full budget at once only if sent in a burst; pacing never
    // bursts, so the whole run is measured against the steady budget rate.
    let applied_rate = changes as f64 / elapsed.as_secs_f64();
    let share = applied_rate / budget_rate;
    println!(
        "graph target: {changes} changes in {:.1} s; applied {applied_rate:.2}/s against a budget of {} per {} s \
         ({budget_rate:.2}/s) = {:.1}% of the budget; 429s received: {}; transient retries: {retried}; lost: {lost}; \
         target told {configured_budget} per window; emulator latency {} ms",
        elapsed.as_secs_f64(),
        budget.writes,
        budget.window_s,
        share * 100.0,
        stats.throttled,
        latency.as_millis()
    );
    let report = serde_json::json!({
            "benchmark": "graph_target_pacing",
            "changes": changes,
            "elapsed_s": elapsed.as_secs_f64(),
            "budget_writes": budget.writes,
            "budget_window_s": budget.window_s,
            "configured_budget_writes": configured_budget,
            "applied_per_s": applied_rate,
            "budget_per_s": budget_rate,
            "share_of_budget": share,
            "throttled_429": stats.throttled,
            "transient_retries": retried,
            "writes_received": stats.writes_received,
            "passwords_set": stats.passwords_set,
            "lost": lost,
            "latency_ms": latency.as_millis() as u64,
    });
    println!("{report}");
    let json_file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/graph-benchmark.json");
    std::fs::write(json_file, format!("{report}\n")).unwrap();
    assert_eq!(lost, 0, "no change may be lost");
    assert_eq!(stats.passwords_set as usize, changes);
}
