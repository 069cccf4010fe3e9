//! `pwsync-capture`: the capture hook as a small executable of its own, for the places where a
//! program runs once per password change (Samba's check password script, scripts, tests).

use clap::Parser;

fn main() -> std::process::ExitCode {
    match pwsync_capture::StandaloneCli::try_parse() {
        Ok(cli) => pwsync_capture::run(cli.args),
        Err(error) => pwsync_capture::usage_error(&error),
    }
}
