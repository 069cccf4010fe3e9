//! Foreign files are reported but never listed as records; `.tmp-` files are ignored and
//! removed once stale.

mod common;

use std::time::Duration;

use common::{fake_record, TempDir};
use pwsync_seal::ChangeId;
use pwsync_spool::Spool;

#[test]
fn strays_are_skipped_and_reported() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    let id = ChangeId::random();
    spool.write_record(10, &id, &fake_record(1)).unwrap();
    let root = spool.root();
    for stray in ["notes.txt", "00000000000000000010-ABCDEF.pws", "alice.pws"] {
        std::fs::write(root.join(stray), b"x").unwrap();
    }
    std::fs::create_dir(root.join("subdir")).unwrap();
    spool.next_stamp(1).unwrap(); // creates .origin-state, which is not a stray
                                  // The client daemon's status file is not a stray either.
    std::fs::write(root.join(pwsync_spool::CLIENT_STATE_FILE), b"{}").unwrap();
    std::fs::write(root.join(".tmp-0123456789abcdef"), b"partial").unwrap();

    let pending = spool.list_pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, id);
    assert_eq!(
        spool.list_strays().unwrap(),
        vec!["00000000000000000010-ABCDEF.pws", "alice.pws", "notes.txt", "subdir"]
    );
    assert_eq!(spool.stats().unwrap().pending, 1);
}

#[test]
fn temp_files_are_ignored_and_cleaned_when_stale() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    let root = spool.root().to_owned();
    std::fs::write(root.join(".tmp-aaaaaaaaaaaaaaaa"), b"partial").unwrap();
    std::fs::write(root.join("failed").join(".tmp-bbbbbbbbbbbbbbbb"), b"partial").unwrap();
    std::fs::write(root.join("keep.txt"), b"not a temp file").unwrap();
    assert!(spool.list_pending().unwrap().is_empty());
    assert_eq!(spool.list_strays().unwrap(), vec!["keep.txt"]);

    // Fresh temp files belong to a writer that may still be running.
    assert_eq!(spool.clean_stale_temp(Duration::from_secs(3600)).unwrap(), 0);
    assert!(root.join(".tmp-aaaaaaaaaaaaaaaa").exists());

    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(spool.clean_stale_temp(Duration::from_millis(10)).unwrap(), 2);
    assert!(!root.join(".tmp-aaaaaaaaaaaaaaaa").exists());
    assert!(!root.join("failed").join(".tmp-bbbbbbbbbbbbbbbb").exists());
    assert!(root.join("keep.txt").exists());
}

#[test]
fn the_capture_failure_journal_counts_lines_and_is_no_stray() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    let root = spool.root();
    assert_eq!(pwsync_spool::read_capture_failures(root).unwrap().count, 0);
    pwsync_spool::note_capture_failure(root, 1, 78, "alice", "key missing").unwrap();
    pwsync_spool::note_capture_failure(root, 2, 74, "bob\nx", "disk\tfull").unwrap();
    let failures = pwsync_spool::read_capture_failures(root).unwrap();
    assert_eq!(failures.count, 2);
    assert_eq!(failures.last.as_deref(), Some("2\t74\tbob x\tdisk full"));
    assert!(spool.list_strays().unwrap().is_empty());
    assert!(spool.list_pending().unwrap().is_empty());
}
