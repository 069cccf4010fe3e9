//! [`TestDir`]: a fresh temporary directory for one unit test, removed when dropped.
//!
//! Test-only; must never be used by the DLL itself.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A directory under the temporary directory, unique per process and call.
pub struct TestDir(PathBuf);

impl TestDir {
    /// Creates `%TEMP%\pwsync-filter-test-<pid>-<n>-<label>`.
    pub fn new(label: &str) -> TestDir {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("pwsync-filter-test-{}-{}-{}", std::process::id(), n, label));
        std::fs::create_dir_all(&path).expect("create test directory");
        TestDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
