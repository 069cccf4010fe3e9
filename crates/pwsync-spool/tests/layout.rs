//! Opening a spool, writing records, listing order, permissions and refused input.

mod common;

use common::{fake_record, TempDir};
use pwsync_seal::{ChangeId, MAX_RECORD_LEN};
use pwsync_spool::{Spool, SpoolError, FAILED_DIR};

#[test]
fn open_creates_root_and_failed() {
    let temp = TempDir::new();
    let root = temp.path().join("deep").join("spool");
    Spool::open(&root).unwrap();
    assert!(root.is_dir());
    assert!(root.join(FAILED_DIR).is_dir());
    // Opening again is fine.
    Spool::open(&root).unwrap();
}

#[test]
fn records_are_listed_oldest_first_with_their_names() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    let times = [1_790_000_000_000_000_300i64, 5, 1_790_000_000_000_000_100, 99_999_999_999];
    let mut written = Vec::new();
    for (index, time) in times.iter().enumerate() {
        let id = ChangeId::random();
        let path = spool.write_record(*time, &id, &fake_record(index as u8)).unwrap();
        assert_eq!(path.file_name().unwrap().to_str().unwrap(), format!("{:020}-{}.pws", time, id));
        written.push((*time, id, index as u8));
    }
    written.sort();
    let pending = spool.list_pending().unwrap();
    let listed: Vec<(i64, ChangeId)> = pending.iter().map(|r| (r.captured_at_ns, r.id)).collect();
    let expected: Vec<(i64, ChangeId)> = written.iter().map(|(t, id, _)| (*t, *id)).collect();
    assert_eq!(listed, expected);
    for (record, (_, _, tag)) in pending.iter().zip(&written) {
        assert!(!record.operator_retry);
        assert_eq!(record.path, spool.root().join(&record.name));
        assert_eq!(spool.read(record).unwrap(), fake_record(*tag));
    }
    let stats = spool.stats().unwrap();
    assert_eq!(stats.pending, 4);
    assert_eq!(stats.oldest_captured_at_ns, Some(5));
    assert_eq!(stats.failed, 0);
}

#[test]
fn ack_removes_and_is_idempotent() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    spool.write_record(1, &ChangeId::random(), &fake_record(1)).unwrap();
    let record = spool.list_pending().unwrap().remove(0);
    spool.ack(&record).unwrap();
    assert!(spool.list_pending().unwrap().is_empty());
    spool.ack(&record).unwrap();
    assert!(matches!(spool.read(&record), Err(SpoolError::NotFound { area: "pending", .. })));
}

#[test]
fn bad_records_are_refused() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    let id = ChangeId::random();
    assert!(matches!(
        spool.write_record(-1, &id, &fake_record(1)),
        Err(SpoolError::NegativeCaptureTime { captured_at_ns: -1 })
    ));
    assert!(matches!(spool.write_record(1, &id, &[]), Err(SpoolError::EmptyRecord)));
    assert!(matches!(
        spool.write_record(1, &id, &vec![0u8; MAX_RECORD_LEN + 1]),
        Err(SpoolError::RecordTooLarge { .. })
    ));
    assert!(spool.list_pending().unwrap().is_empty());
    assert!(spool.list_strays().unwrap().is_empty(), "no temp files left");
}

#[test]
fn an_oversized_file_in_the_spool_is_not_read_into_memory() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    let path = spool.write_record(1, &ChangeId::random(), &fake_record(1)).unwrap();
    std::fs::write(&path, vec![0u8; MAX_RECORD_LEN + 10]).unwrap();
    let record = spool.list_pending().unwrap().remove(0);
    assert!(matches!(
        spool.read(&record),
        Err(SpoolError::RecordTooLarge { len, .. }) if len == (MAX_RECORD_LEN + 10) as u64
    ));
}

#[test]
fn a_file_as_root_is_refused() {
    let temp = TempDir::new();
    let file = temp.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        Spool::open(&file),
        Err(SpoolError::NotADirectory { path }) if path == file
    ));
    let root = temp.spool_root();
    std::fs::create_dir(&root).unwrap();
    #[cfg(unix)]
    set_mode(&root, 0o700);
    std::fs::write(root.join(FAILED_DIR), b"x").unwrap();
    assert!(matches!(
        Spool::open(&root),
        Err(SpoolError::NotADirectory { path }) if path == root.join(FAILED_DIR)
    ));
}

#[cfg(unix)]
fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn directories_are_0700_and_files_0600() {
    use common::mode_of;
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    assert_eq!(mode_of(spool.root()), 0o700);
    assert_eq!(mode_of(&spool.root().join(FAILED_DIR)), 0o700);
    let path = spool.write_record(1, &ChangeId::random(), &fake_record(1)).unwrap();
    assert_eq!(mode_of(&path), 0o600);
    spool.next_stamp(1).unwrap();
    assert_eq!(mode_of(&spool.root().join(".origin-state")), 0o600);
}

#[cfg(unix)]
#[test]
fn an_insecure_directory_is_refused_with_a_fix() {
    let temp = TempDir::new();
    let root = temp.spool_root();
    Spool::open(&root).unwrap();
    for mode in [0o755, 0o710, 0o701] {
        set_mode(&root, mode);
        let error = Spool::open(&root).unwrap_err();
        assert!(
            matches!(&error, SpoolError::InsecurePermissions { path, mode: found } if path == &root && *found == mode),
            "{:?}",
            error
        );
        assert!(error.to_string().contains("chmod 700"), "{}", error);
    }
    set_mode(&root, 0o700);
    set_mode(&root.join(FAILED_DIR), 0o750);
    assert!(matches!(
        Spool::open(&root),
        Err(SpoolError::InsecurePermissions { path, .. }) if path == root.join(FAILED_DIR)
    ));
}
