//! pwsync's library: the command-line definitions of the `pwsync` command, and nothing else.
//!
//! They live here, not in the binary, so that the manual generator (crates/pwsync-man) renders
//! the very definitions the binary parses. This library must stay free of behaviour: every
//! subcommand's work belongs to the binary's own modules.

// The doc comments in it are clap's help texts, written for the terminal: brackets there, as in
// "a [scope] table", are TOML, not rustdoc links.
#[allow(rustdoc::broken_intra_doc_links)]
pub mod cli;

/// The `pwsync` command as clap sees it: every subcommand, flag and help text.
pub fn command() -> clap::Command {
    <cli::Cli as clap::CommandFactory>::command()
}
