//! The benchmark at a very small scale, so that it cannot rot: every scenario but the Samba
//! part runs against the real `pwsync` programs of this workspace and must produce its figures
//! (and deliver every change, with no password left in clear, which the bench checks itself).
//!
//! It uses the `pwsync` and `pwsync-capture` programs built beside this test's own binaries
//! (`cargo test --workspace` builds them for pwsync's tests; alone, run
//! `cargo build -p pwsync` first).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

#[test]
fn every_scenario_runs_at_a_small_scale() {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_pwsync-bench"));
    let bin_dir = bench.parent().unwrap().to_path_buf();
    assert!(
        bin_dir.join("pwsync").is_file() && bin_dir.join("pwsync-capture").is_file(),
        "build the programs under test first: cargo build -p pwsync (looked in {})",
        bin_dir.display()
    );
    let json = std::env::temp_dir().join(format!("pwsync-bench-smoke-{}.json", std::process::id()));
    let output = Command::new(&bench)
        .arg("all")
        .arg("--bin-dir")
        .arg(&bin_dir)
        .arg("--json")
        .arg(&json)
        .args(["--no-samba", "--runs", "10", "--changes", "8", "--rate", "40", "--idle-seconds", "1"])
        .args(["--mass-changes", "120", "--mass-clients", "1,3", "--peer-backlog", "40"])
        .args(["--growth-changes", "30,60", "--growth-clients", "1,4", "--growth-backlog", "40"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for title in ["hook cost", "end-to-end latency", "client idle", "mass reset", "peers (a)", "growth with"]
    {
        assert!(stdout.contains(title), "no {title:?} table in:\n{stdout}");
    }
    let figures: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    std::fs::remove_file(&json).unwrap();

    let hook = &figures["hook"];
    assert_eq!(hook["runs"], 10);
    assert!(hook["record_bytes"].as_u64().unwrap() > 100);
    for variant in ["spawn", "floor_process", "hook_process", "floor_in_process", "capture_in_process"] {
        let p50 = hook[variant]["p50_ms"].as_f64().unwrap();
        let p99 = hook[variant]["p99_ms"].as_f64().unwrap();
        assert!(p50 > 0.0 && p99 >= p50, "{variant}: {}", hook[variant]);
    }
    assert!(hook["hook_over_floor_p99"].as_f64().unwrap() > 0.0);

    let latency = figures["latency"].as_array().unwrap();
    assert_eq!(latency.len(), 2);
    for run in latency {
        assert_eq!(run["applied"], 8, "{run}");
        assert!(run["end_to_end"]["p50_ms"].as_f64().unwrap() > 0.0, "{run}");
    }
    assert_eq!(latency[1]["target"], "graph");

    let idle = &figures["client_idle"];
    assert!(idle["rss_mb"].as_f64().unwrap() > 1.0, "{idle}");

    let mass = figures["mass_reset"].as_array().unwrap();
    assert_eq!(mass.iter().map(|run| run["clients"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 3]);
    for run in mass {
        assert_eq!(run["applied"], 120, "{run}");
        assert!(run["throughput_per_s"].as_f64().unwrap() > 0.0, "{run}");
        assert!(run["server_peak_rss_mb"].as_f64().unwrap() > 1.0, "{run}");
        assert!(run["client_peak_rss_mb_max"].as_f64().unwrap() > 1.0, "{run}");
    }

    let peers = &figures["peers"];
    let targets: Vec<&str> =
        peers["drain"].as_array().unwrap().iter().map(|r| r["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["dry-run", "exec", "graph"]);
    assert!(peers["drain"].as_array().unwrap().iter().all(|run| run["applied"] == 40));

    let growth = &figures["growth"];
    assert_eq!(growth["by_changes"].as_array().unwrap().len(), 2);
    assert_eq!(growth["by_clients"][1]["clients"], 4);
    assert_eq!(growth["by_clients"][1]["applied"], 40);
}
