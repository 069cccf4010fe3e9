//! Tells the service manager (systemd, `Type=notify`) when the daemon is ready and when it
//! begins to stop. Does nothing when not started by one (no `NOTIFY_SOCKET`), and a failure to
//! notify is logged, never fatal: the daemon's work does not depend on it.

/// The daemon accepts work now.
pub fn ready() {
    notify(&[sd_notify::NotifyState::Ready], "ready");
}

/// The daemon has begun to stop and is finishing what is in flight.
pub fn stopping() {
    notify(&[sd_notify::NotifyState::Stopping], "stopping");
}

fn notify(states: &[sd_notify::NotifyState], what: &str) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, state = what, "cannot notify the service manager");
    }
}
