//! fail → list_failed → retry (operator_retry) → purge, with names validated and sealed
//! bytes untouched.

mod common;

use common::{fake_record, TempDir};
use pwsync_seal::ChangeId;
use pwsync_spool::{FailureReason, Spool, SpoolError};

fn reason() -> FailureReason {
    FailureReason {
        code: "rejected_by_target".to_owned(),
        detail: "ldap: Constraint violation (19), password too short".to_owned(),
    }
}

#[test]
fn fail_list_retry_purge() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    let id = ChangeId::random();
    spool.write_record(1_000, &id, &fake_record(7)).unwrap();
    spool.write_record(2_000, &ChangeId::random(), &fake_record(8)).unwrap();
    let record = spool.list_pending().unwrap().remove(0);
    assert_eq!(record.id, id);

    let before =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    spool.fail(&record, &reason()).unwrap();
    assert_eq!(spool.list_pending().unwrap().len(), 1);
    let failed = spool.list_failed().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].name, record.name);
    assert_eq!(failed[0].id, id);
    assert_eq!(failed[0].captured_at_ns, 1_000);
    assert_eq!(failed[0].code, "rejected_by_target");
    assert_eq!(failed[0].detail, reason().detail);
    assert!(failed[0].failed_at_ns.unwrap() >= before);
    let failed_path = spool.root().join("failed").join(&record.name);
    assert_eq!(std::fs::read(&failed_path).unwrap(), fake_record(7));
    #[cfg(unix)]
    assert_eq!(common::mode_of(&spool.root().join("failed").join(format!("{}.reason", record.name))), 0o600);
    let stats = spool.stats().unwrap();
    assert_eq!((stats.pending, stats.failed), (1, 1));

    spool.retry_failed(&record.name).unwrap();
    assert!(spool.list_failed().unwrap().is_empty());
    let pending = spool.list_pending().unwrap();
    assert_eq!(pending.len(), 2);
    let retried = &pending[0];
    assert_eq!(retried.id, id);
    assert!(retried.operator_retry);
    assert!(retried.name.ends_with(".retry.pws"), "{}", retried.name);
    assert!(!pending[1].operator_retry);
    assert_eq!(spool.read(retried).unwrap(), fake_record(7));
    assert_eq!(std::fs::read_dir(spool.root().join("failed")).unwrap().count(), 0, "reason file removed");

    // A retried record can fail again and then be purged.
    spool.fail(retried, &reason()).unwrap();
    let failed = spool.list_failed().unwrap();
    assert_eq!(failed[0].name, retried.name);
    spool.purge_failed(&retried.name).unwrap();
    assert!(spool.list_failed().unwrap().is_empty());
    assert_eq!(std::fs::read_dir(spool.root().join("failed")).unwrap().count(), 0);
    assert!(matches!(spool.purge_failed(&retried.name), Err(SpoolError::NotFound { area: "failed", .. })));
    assert!(matches!(spool.retry_failed(&retried.name), Err(SpoolError::NotFound { area: "failed", .. })));
}

#[test]
fn operator_names_are_validated() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    let victim = temp.path().join("victim.pws");
    std::fs::write(&victim, b"keep me").unwrap();
    let good = format!("{:020}-{}.pws", 5, ChangeId::random());
    for name in [
        "../victim.pws".to_owned(),
        format!("../{}", good),
        format!("failed/{}", good),
        format!("/tmp/{}", good),
        format!("{}\\..", good),
        "".to_owned(),
        "victim.pws".to_owned(),
        format!("{}.reason", good),
    ] {
        for result in [spool.retry_failed(&name), spool.purge_failed(&name)] {
            assert!(
                matches!(&result, Err(SpoolError::InvalidRecordName { name: n }) if n == &name),
                "{:?}: {:?}",
                name,
                result
            );
        }
    }
    assert!(victim.exists());
}

#[test]
fn failing_needs_a_valid_reason_and_an_existing_record() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    spool.write_record(1, &ChangeId::random(), &fake_record(1)).unwrap();
    let record = spool.list_pending().unwrap().remove(0);
    let bad_code = FailureReason { code: "Bad Code".to_owned(), detail: String::new() };
    assert!(matches!(spool.fail(&record, &bad_code), Err(SpoolError::InvalidFailureCode { .. })));
    let two_lines = FailureReason { code: "x".to_owned(), detail: "a\nb".to_owned() };
    assert!(matches!(spool.fail(&record, &two_lines), Err(SpoolError::InvalidFailureDetail { .. })));
    assert_eq!(spool.list_pending().unwrap().len(), 1, "still pending");
    assert!(spool.list_failed().unwrap().is_empty());

    spool.ack(&record).unwrap();
    assert!(matches!(spool.fail(&record, &reason()), Err(SpoolError::NotFound { area: "pending", .. })));
    assert_eq!(std::fs::read_dir(spool.root().join("failed")).unwrap().count(), 0, "no orphan reason file");
}

#[test]
fn a_missing_reason_file_is_reported_not_fatal() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    spool.write_record(1, &ChangeId::random(), &fake_record(1)).unwrap();
    let record = spool.list_pending().unwrap().remove(0);
    spool.fail(&record, &reason()).unwrap();
    std::fs::remove_file(spool.root().join("failed").join(format!("{}.reason", record.name))).unwrap();
    let failed = spool.list_failed().unwrap();
    assert_eq!(failed[0].code, "reason_missing");
    assert_eq!(failed[0].failed_at_ns, None);
}

/// Found by the `record_open` fuzz target (fuzz/regressions/record_open/reason-not-utf8): a
/// reason file damaged into invalid UTF-8 made `list_failed` fail as a whole, hiding every
/// failed record from the operator. It is one unreadable reason now.
#[test]
fn a_reason_file_that_is_not_utf8_is_unreadable_and_hides_nothing_else() {
    let temp = TempDir::new();
    let spool = Spool::open(&temp.spool_root()).unwrap();
    spool.write_record(1_000, &ChangeId::random(), &fake_record(1)).unwrap();
    spool.write_record(2_000, &ChangeId::random(), &fake_record(2)).unwrap();
    for record in spool.list_pending().unwrap() {
        spool.fail(&record, &reason()).unwrap();
    }
    let damaged = spool.list_failed().unwrap()[0].name.clone();
    let reason_path = spool.root().join("failed").join(format!("{damaged}.reason"));
    std::fs::write(&reason_path, b"pwsync failure reason\ncode: \xff\xfe\n").unwrap();

    let failed = spool.list_failed().unwrap();
    assert_eq!(failed.len(), 2, "the other failed record is still listed");
    assert_eq!(failed[0].name, damaged);
    assert_eq!(failed[0].code, "reason_unreadable");
    assert_eq!(failed[1].code, "rejected_by_target");
    assert_eq!(spool.stats().unwrap().failed, 2);
}
