//! The client's status file in the spool directory (`.client-state.json`): when the daemon
//! last heard from the server, so that `pwsync status` (a separate process) can tell a
//! silent client from a busy one.
//!
//! It holds times and counts only, never a change's content. Writes are throttled (at most one
//! per [`WRITE_INTERVAL`]) and atomic (temporary file, then rename), so a reader never sees half
//! a file and a busy daemon does not write for every batch.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Fewest time between two writes of the file.
pub const WRITE_INTERVAL: Duration = Duration::from_secs(2);

/// What the file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContactState {
    /// The last time the server answered a request (Unix ns).
    pub last_contact_ns: Option<i64>,
    /// The last time a request could not reach the server or was refused (Unix ns).
    pub last_error_ns: Option<i64>,
    /// What went wrong then (no change content: transport or HTTP errors only).
    pub last_error: Option<String>,
    /// Version of the daemon that wrote the file.
    pub version: String,
}

/// Records contact outcomes into the state file of one spool.
pub struct ContactLog {
    path: PathBuf,
    inner: Mutex<(ContactState, Option<Instant>)>,
}

impl ContactLog {
    pub fn new(spool: &Path) -> ContactLog {
        let path = spool.join(pwsync_spool::CLIENT_STATE_FILE);
        let mut state = read(spool).unwrap_or_default();
        state.version = env!("CARGO_PKG_VERSION").to_string();
        ContactLog { path, inner: Mutex::new((state, None)) }
    }

    pub fn succeeded(&self) {
        self.update(false, |state| state.last_contact_ns = Some(now_ns()));
    }

    /// A failure is written at once: it is the news an operator looks for.
    pub fn failed(&self, error: &str) {
        self.update(true, |state| {
            state.last_error_ns = Some(now_ns());
            state.last_error = Some(error.chars().take(300).collect());
        });
    }

    fn update(&self, urgent: bool, change: impl FnOnce(&mut ContactState)) {
        let mut guard = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (state, last_write) = &mut *guard;
        let was_error = state.last_error_ns > state.last_contact_ns;
        change(state);
        // A recovery after an error is news too.
        let due = urgent || was_error || last_write.is_none_or(|at| at.elapsed() >= WRITE_INTERVAL);
        if !due {
            return;
        }
        *last_write = Some(Instant::now());
        if let Err(error) = write(&self.path, state) {
            tracing::warn!(path = %self.path.display(), %error, "cannot write the client state file");
        }
    }
}

/// Reads a spool's state file; `None` when there is none (the daemon never ran there).
pub fn read(spool: &Path) -> Option<ContactState> {
    let text = std::fs::read_to_string(spool.join(pwsync_spool::CLIENT_STATE_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

fn write(path: &Path, state: &ContactState) -> std::io::Result<()> {
    // The spool's temporary-file prefix: never taken for a stray, swept if a crash leaves it.
    let temporary = path.with_file_name(".tmp-client-state");
    std::fs::write(&temporary, serde_json::to_vec_pretty(state)?)?;
    std::fs::rename(&temporary, path)
}

fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos() as i64
}
