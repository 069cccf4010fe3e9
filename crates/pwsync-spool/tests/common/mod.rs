//! Test helpers for pwsync-spool: a self-removing temporary directory (std only, so the
//! tests also build with Rust 1.63) and sample records.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use pwsync_seal::ChangeId;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temp dir, removed with its contents on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "pwsync-spool-test-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            ChangeId::random()
        ));
        std::fs::create_dir(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Where a spool can be created (does not exist yet).
    pub fn spool_root(&self) -> PathBuf {
        self.0.join("spool")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Some bytes standing in for a sealed record (the spool never looks inside).
pub fn fake_record(tag: u8) -> Vec<u8> {
    let mut record = b"PWSYNC\x01".to_vec();
    record.extend(std::iter::repeat(tag).take(100));
    record
}

#[cfg(unix)]
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
