//! [`guard`]: runs an export's body so that nothing unwinds into lsass.
//!
//! An unwinding panic crossing `extern "system"` is undefined behaviour, and an unhandled
//! one would end lsass — and with it the domain controller. Every export body therefore
//! runs inside `catch_unwind`, and a panic becomes a log line plus the export's safe
//! answer. The panic hook installed here records where the panic happened (for that log
//! line) instead of printing to lsass's non-existent console; it must never lock anything,
//! because it runs while the panicking code may hold a lock.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::log;

thread_local! {
    /// Where the last panic on this thread happened, set by the hook.
    static PANIC_LOCATION: RefCell<Option<String>> = RefCell::new(None);
}

static HOOK: Once = Once::new();

/// Replaces the default panic hook of this DLL's standard library (lsass has no console
/// to print to) with one that remembers the location for [`guard`]'s log line.
pub fn install_panic_hook() {
    HOOK.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let location = info.location().map(|location| format!("{}:{}", location.file(), location.line()));
            let _ = PANIC_LOCATION.try_with(|cell| {
                if let Ok(mut slot) = cell.try_borrow_mut() {
                    *slot = location;
                }
            });
        }));
    });
}

/// Runs `body`; if it panics, logs the panic as an internal error of `export` and returns
/// `on_panic` instead.
pub fn guard<T>(export: &str, on_panic: T, body: impl FnOnce() -> T) -> T {
    // The body's state is abandoned after a panic (nothing observes it half-done), so
    // asserting unwind safety is sound here.
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            let location = PANIC_LOCATION
                .try_with(|cell| cell.try_borrow_mut().ok().and_then(|mut slot| slot.take()))
                .ok()
                .flatten()
                .unwrap_or_else(|| "unknown location".to_owned());
            let message = format!(
                "internal error: {} panicked at {}: {}; the call was answered as if nothing had happened (a change in it may not be captured)",
                export,
                location,
                panic_text(&*payload)
            );
            // Even the log must not unwind out of here; nor may dropping the payload.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| log::error(&message)));
            let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(payload)));
            on_panic
        }
    }
}

/// The text of a panic payload (`panic!` gives `&str` or `String`).
fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "a non-text panic payload"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_body_value_when_nothing_panics() {
        assert_eq!(guard("Test", 7, || 42), 42);
    }

    #[test]
    fn a_panic_becomes_the_fallback_value() {
        install_panic_hook();
        assert_eq!(guard("Test", 7, || -> i32 { panic!("deliberate test panic") }), 7);
        let items = vec![1u8, 2, 3];
        assert_eq!(guard("Test", 0u8, || items[items.len() + 7]), 0);
    }

    #[test]
    fn panic_text_reads_both_payload_kinds() {
        let static_text: Box<dyn Any + Send> = Box::new("static");
        let owned_text: Box<dyn Any + Send> = Box::new(String::from("owned"));
        let other: Box<dyn Any + Send> = Box::new(5u8);
        assert_eq!(panic_text(&*static_text), "static");
        assert_eq!(panic_text(&*owned_text), "owned");
        assert_eq!(panic_text(&*other), "a non-text panic payload");
    }
}
