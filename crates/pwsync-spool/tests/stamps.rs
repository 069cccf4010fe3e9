//! next_stamp: capture times strictly increase per origin even when the clock goes back,
//! and no two callers — threads or processes — get the same stamp.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::TempDir;
use pwsync_spool::{Spool, SpoolError};

#[test]
fn times_strictly_increase_when_the_clock_goes_back() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    assert_eq!(spool.next_stamp(1_000).unwrap(), (1_000, 1));
    assert_eq!(spool.next_stamp(5_000).unwrap(), (5_000, 2));
    assert_eq!(spool.next_stamp(4_000).unwrap(), (5_001, 3), "clock stepped back");
    assert_eq!(spool.next_stamp(5_001).unwrap(), (5_002, 4), "same instant");
    assert_eq!(spool.next_stamp(9_000).unwrap(), (9_000, 5));
    // State survives reopening the spool.
    let again = Spool::open(spool.root()).unwrap();
    assert_eq!(again.next_stamp(1).unwrap(), (9_001, 6));
}

#[test]
fn a_corrupt_state_file_is_a_named_error() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    spool.next_stamp(1).unwrap();
    std::fs::write(spool.root().join(".origin-state"), b"garbage\n").unwrap();
    let error = spool.next_stamp(2).unwrap_err();
    assert!(matches!(error, SpoolError::OriginStateCorrupt { .. }), "{:?}", error);
    assert!(error.to_string().contains("remove it"), "{}", error);
}

/// All stamps are distinct, the sequence numbers are exactly 1..=n, and ordered by
/// sequence the times strictly increase.
fn assert_consistent(mut stamps: Vec<(i64, u64)>, n: usize) {
    assert_eq!(stamps.len(), n);
    stamps.sort_by_key(|&(_, seq)| seq);
    let seqs: Vec<u64> = stamps.iter().map(|&(_, seq)| seq).collect();
    assert_eq!(seqs, (1..=n as u64).collect::<Vec<_>>());
    for pair in stamps.windows(2) {
        assert!(pair[1].0 > pair[0].0, "{:?}", pair);
    }
    let times: BTreeSet<i64> = stamps.iter().map(|&(time, _)| time).collect();
    assert_eq!(times.len(), n);
}

#[test]
fn concurrent_threads_never_share_a_stamp() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    let per_thread = 200;
    let threads = 8;
    let stamps: Vec<(i64, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let spool = spool.clone();
                // A frozen clock: every stamp has to come from the lock-protected state.
                scope.spawn(move || {
                    (0..per_thread).map(|_| spool.next_stamp(1_000).unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|handle| handle.join().unwrap()).collect()
    });
    assert_consistent(stamps, per_thread * threads);
}

const CHILD_ROOT_ENV: &str = "PWSYNC_SPOOL_TEST_STAMP_CHILD_ROOT";
const STAMPS_PER_CHILD: usize = 300;

/// Runs only inside the child processes of the test below (when the variable is set).
#[test]
fn stamp_child_process() {
    let root = match std::env::var_os(CHILD_ROOT_ENV) {
        Some(root) => root,
        None => return,
    };
    let spool = Spool::open(std::path::Path::new(&root)).unwrap();
    for _ in 0..STAMPS_PER_CHILD {
        let (time, seq) = spool.next_stamp(1_000).unwrap();
        println!("STAMP {} {}", time, seq);
    }
}

#[test]
fn concurrent_processes_never_share_a_stamp() {
    let temp = TempDir::new();
    let root = temp.spool_root();
    Spool::open(&root).unwrap();
    let processes = 4;
    let children: Vec<_> = (0..processes)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "stamp_child_process", "--nocapture", "--test-threads=1"])
                .env(CHILD_ROOT_ENV, &root)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut stamps = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        for line in String::from_utf8(output.stdout).unwrap().lines() {
            // libtest may print "test stamp_child_process ... " in front of the first line.
            if let Some(at) = line.find("STAMP ") {
                let (time, seq) = line[at + 6..].split_once(' ').unwrap();
                stamps.push((time.parse().unwrap(), seq.parse().unwrap()));
            }
        }
    }
    assert_consistent(stamps, processes * STAMPS_PER_CHILD);
}
