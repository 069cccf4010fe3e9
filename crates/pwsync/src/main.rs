//! The `pwsync` command: one binary for the capture hook, the client daemon, the server, the
//! PKI and key tools, and the demo.
//!
//! `main` only parses the command line and hands over; each subcommand lives in its own module.
//! Nothing here may print a password, and no subcommand takes one in argv or the environment.

mod capture;
mod check_config;
mod cli;
mod daemons;
mod demo;
mod hostname;
mod keygen;
mod logging;
mod pki;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        // The hook answers inside the DC's password-change path: no runtime, no log setup.
        cli::Command::Capture(args) => capture::run(args),
        command => {
            logging::init(cli.log_format, &cli.log_level);
            let result = match command {
                cli::Command::Capture(_) => unreachable!("handled above"),
                cli::Command::Keygen(args) => keygen::run(args),
                cli::Command::Pki(args) => pki::run(args),
                cli::Command::Client(args) => daemons::run_client(args),
                cli::Command::Server(args) => daemons::run_server(args),
                cli::Command::CheckConfig(args) => check_config::run(args),
                cli::Command::Demo(args) => demo::run(args),
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("pwsync: {error:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
