//! Wakes the daemon when a capture hook writes a record: inotify (through `notify`) on the
//! spool directory, so an idle client uses no CPU and a new record is picked up at once.
//!
//! Events can be lost (an inotify queue overflow, a watcher that could not start), so the
//! daemon also rescans periodically; this module must never be the only path to a record.

use std::path::Path;
use std::sync::Arc;

use notify::{RecursiveMode, Watcher};
use tokio::sync::Notify;

/// Keeps the watch alive; dropping it stops the notifications.
pub struct SpoolWatcher {
    _watcher: notify::RecommendedWatcher,
}

/// Wakes every lane on any event in the spool directory.
pub fn watch(spool: &Path, wakes: Vec<Arc<Notify>>) -> Result<SpoolWatcher, notify::Error> {
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Any event, including an error or overflow, is a reason to look: looking is cheap.
        let interesting = match &event {
            Ok(event) => !event.kind.is_access(),
            Err(_) => true,
        };
        if interesting {
            // notify_one keeps a permit when the lane is busy, so no event is lost mid-pass.
            wakes.iter().for_each(|wake| wake.notify_one());
        }
    })?;
    watcher.watch(spool, RecursiveMode::NonRecursive)?;
    Ok(SpoolWatcher { _watcher: watcher })
}
