//! Log setup for daemons and tools: tracing to stderr, as text or JSON lines.
//!
//! Logs carry change ids and account names, never passwords: that is the rule of every
//! `tracing` call in the code base, not something this module could filter afterwards.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|error| {
        eprintln!("pwsync: bad --log-level {level:?} ({error}); using info");
        EnvFilter::new("info")
    });
    // Colour codes only for a person at a terminal: in files and the journal they are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
