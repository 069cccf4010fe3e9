//! Warnings and errors in the Windows Application event log, source `pwsync-filter`.
//!
//! Works without registering the source (Event Viewer then prefixes "The description for
//! Event ID 1 … cannot be found" but shows the text); docs/deploy-windows.md says how to
//! register it. Must never fail its caller: an unavailable event log is ignored.

use std::ffi::OsStr;

use crate::log::Level;
use crate::win32;

/// The event source name.
pub const SOURCE: &str = "pwsync-filter";

/// Event ids: 1 for errors, 2 for warnings (3 for information, unused by the log today).
fn event_id(level: Level) -> (u16, u32) {
    match level {
        Level::Error => (win32::EVENTLOG_ERROR_TYPE, 1),
        Level::Warning => (win32::EVENTLOG_WARNING_TYPE, 2),
        Level::Info => (win32::EVENTLOG_INFORMATION_TYPE, 3),
    }
}

/// Writes `message` as one event.
pub fn report(level: Level, message: &str) {
    let source = win32::wide(OsStr::new(SOURCE));
    // SAFETY: NULL server means this computer; `source` is NUL-terminated.
    let handle = unsafe { win32::RegisterEventSourceW(std::ptr::null(), source.as_ptr()) };
    if handle.is_null() {
        return;
    }
    let text = win32::wide(OsStr::new(message));
    let strings = [text.as_ptr()];
    let (event_type, id) = event_id(level);
    // SAFETY: `handle` is a live event source; one NUL-terminated string, no SID, no data.
    unsafe {
        win32::ReportEventW(
            handle,
            event_type,
            0,
            id,
            std::ptr::null_mut(),
            1,
            0,
            strings.as_ptr(),
            std::ptr::null(),
        );
        win32::DeregisterEventSource(handle);
    }
}
