//! The configuration in effect, shared by every thread lsass calls the exports on.
//!
//! Loaded once by InitializeChangeNotify; while it cannot be loaded, every password change
//! tries again, so that fixing the registry or the file takes effect without a reboot (and
//! every change that is lost meanwhile is logged with its account). Once loaded it is never
//! replaced: a change of configuration needs a restart, as for every LSA package. The lock
//! must never be held while capturing: only to read or store the pointer, and while loading
//! (a registry read and a small file).

use std::sync::{Arc, Mutex};

use crate::config::{self, ConfigError, Loaded};
use crate::log;

static LOADED: Mutex<Option<Arc<Loaded>>> = Mutex::new(None);

/// The configuration, loading it first if needed.
pub fn current() -> Result<Arc<Loaded>, ConfigError> {
    let mut slot = LOADED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(loaded) = slot.as_ref() {
        return Ok(Arc::clone(loaded));
    }
    let loaded = Arc::new(config::load()?);
    if let Some(log_file) = &loaded.log_file {
        log::set_file(log_file.clone());
    }
    log::info(&format!(
        "configuration from {}: spool directory {}, public key {} (key id {}), origin {}",
        loaded.source,
        loaded.settings.spool_directory.display(),
        loaded.settings.public_key_file.display(),
        loaded.key.key_id(),
        loaded.origin
    ));
    *slot = Some(Arc::clone(&loaded));
    Ok(loaded)
}
