//! The `pwsync` command: one binary for the capture hook, the client daemon, the server, the
//! PKI and key tools, and the demo.
//!
//! `main` only parses the command line and hands over; each subcommand lives in its own module.
//! Nothing here may print a password, and no subcommand takes one in argv or the environment.

mod changes;
mod check_config;
mod daemons;
mod demo;
mod failed;
mod graph_emulator;
mod keygen;
mod logging;
mod pki;
mod scope_test;
mod status;
mod target_test;

use std::process::ExitCode;

use clap::Parser;
// The definitions are in the library, shared with the manual generator; `crate::cli` stays the
// path the subcommand modules use.
use pwsync::cli;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        // A mistyped capture command line may hold a password: report it without echoing it.
        Err(error) if std::env::args_os().any(|arg| arg == "capture") => {
            return pwsync_capture::usage_error(&error)
        }
        Err(error) => error.exit(),
    };
    match cli.command {
        // The hook answers inside the DC's password-change path: no runtime, no log setup.
        cli::Command::Capture(args) => pwsync_capture::run(args),
        command => {
            // The demo reports on its own; its set-up steps would only clutter the screen.
            let default_level = if matches!(command, cli::Command::Demo(_)) { "warn" } else { "info" };
            logging::init(cli.log_format, cli.log_level.as_deref().unwrap_or(default_level));
            let result = match command {
                cli::Command::Capture(_) => unreachable!("handled above"),
                cli::Command::Keygen(args) => keygen::run(args),
                cli::Command::Pki(args) => pki::run(args),
                cli::Command::Client(cli::ClientArgs { command: Some(command), .. }) => {
                    scope_test::run(command)
                }
                cli::Command::Client(cli::ClientArgs { command: None, config }) => {
                    daemons::run_client(&config.expect("clap requires --config without a subcommand"))
                }
                cli::Command::Server(args) => daemons::run_server(args),
                cli::Command::CheckConfig(args) => check_config::run(args),
                cli::Command::Target(args) => target_test::run(args),
                cli::Command::Demo(args) => demo::run(args),
                cli::Command::Status(args) => status::run(args),
                cli::Command::Failed(args) => failed::run(args),
                cli::Command::Changes(args) => changes::run(args),
                cli::Command::GraphEmulator(args) => graph_emulator::run(args),
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("pwsync: {}", describe(&error));
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The error and its causes on one line, leaving out a cause its message already quotes (many
/// errors include their source in their own text).
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}
