//! `pwsync-capture`: the capture hook as a small executable of its own, for the places where a
//! program runs once per password change (Samba's check password script, scripts, tests).

use clap::Parser;

/// Capture one password change into the pwsync spool (the password is read from stdin).
#[derive(Parser)]
#[command(name = "pwsync-capture", version)]
struct Cli {
    #[command(flatten)]
    args: pwsync_capture::CaptureArgs,
}

fn main() -> std::process::ExitCode {
    match Cli::try_parse() {
        Ok(cli) => pwsync_capture::run(cli.args),
        Err(error) => pwsync_capture::usage_error(&error),
    }
}
