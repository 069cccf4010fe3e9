//! The help of every subcommand, as the real binary prints it, reads like a man page: the
//! command's own purpose and options first, the options every command shares (`--log-format`,
//! `--log-level`) after them under their own heading, one line each. Their full description is
//! in `pwsync --help` alone.
//!
//! The subcommands are found by walking the `Commands:` lists of the help itself, so a new
//! subcommand is checked without being named here. Nothing here involves a password.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

/// The heading the global options are listed under (crates/pwsync/src/cli.rs).
const GLOBAL_HEADING: &str = "Global options:";
const GLOBAL_FLAGS: [&str; 2] = ["--log-format", "--log-level"];
/// The heading of the full description of the global options in `pwsync --help`.
const LOGGING_HEADING: &str = "LOGGING";

fn help(path: &[String], flag: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_pwsync"))
        .args(path)
        .arg(flag)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "pwsync {} {flag} failed: {output:?}", path.join(" "));
    String::from_utf8(output.stdout).unwrap()
}

/// Every subcommand path below the top level, depth first.
fn every_subcommand() -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut stack = vec![Vec::new()];
    while let Some(path) = stack.pop() {
        for name in common::subcommands_listed(&help(&path, "--help")) {
            let mut child = path.clone();
            child.push(name);
            stack.push(child.clone());
            found.push(child);
        }
    }
    found
}

/// The lines of the full global text: the LOGGING section of `pwsync --help`, without blanks.
fn full_global_text() -> BTreeSet<String> {
    let top = help(&[], "--help");
    let lines: BTreeSet<String> = top
        .lines()
        .skip_while(|line| *line != LOGGING_HEADING)
        .skip(1)
        .map(|line| line.trim().to_string())
        .filter(|line| !line.is_empty())
        .collect();
    assert!(lines.len() >= 3, "pwsync --help has no {LOGGING_HEADING} section:\n{top}");
    lines
}

#[test]
fn every_subcommand_help_starts_with_its_own_purpose_and_options_then_the_global_ones_briefly() {
    let full_text = full_global_text();
    let commands = every_subcommand();
    // The walk must really reach the nested commands (pki init, failed retry, ...).
    for expected in [&["pki", "init"][..], &["failed", "retry"], &["client", "test-scope"], &["keygen"]] {
        assert!(commands.iter().any(|path| path == expected), "the walk missed {expected:?}: {commands:?}");
    }
    for path in &commands {
        let name = format!("pwsync {}", path.join(" "));
        for flag in ["-h", "--help"] {
            let text = help(path, flag);
            let first = text.lines().next().unwrap_or_default();
            assert!(
                !first.is_empty() && !first.starts_with("Usage:") && !first.contains("--log"),
                "{name} {flag} does not start with its purpose:\n{text}"
            );
            let global_at = text
                .find(GLOBAL_HEADING)
                .unwrap_or_else(|| panic!("{name} {flag} has no `{GLOBAL_HEADING}`:\n{text}"));
            let (own, globals) = text.split_at(global_at);
            for global in GLOBAL_FLAGS {
                assert!(
                    !own.contains(global),
                    "{name} {flag} lists {global} before its own options:\n{text}"
                );
                assert!(globals.contains(global), "{name} {flag} does not list {global}:\n{text}");
            }
            assert!(
                own.contains("Options:") && own.find("Usage:") < own.find("Options:"),
                "{name} {flag}: its own options do not come first:\n{text}"
            );
            // Briefly: each global option on one line (two in the long layout: the flag, then
            // one line of text; no wrapped text, no value lists), and none of the full text of
            // `pwsync --help`. The section ends where the command's own notes (EXIT STATUS...)
            // begin, at the left margin.
            let entries: Vec<&str> = globals
                .lines()
                .skip(1)
                .take_while(|line| line.is_empty() || line.starts_with(' '))
                .filter(|line| !line.trim().is_empty())
                .collect();
            assert!(
                entries.len() <= 2 * GLOBAL_FLAGS.len(),
                "{name} {flag}: the global options take more room than a line each:\n{globals}"
            );
            for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
                assert!(
                    !full_text.contains(line),
                    "{name} {flag} repeats the full global text ({line:?}):\n{text}"
                );
            }
        }
    }
}

#[test]
fn the_top_level_help_describes_the_global_options_in_full() {
    let text = help(&[], "--help");
    let logging = &text[text.find(LOGGING_HEADING).expect("a LOGGING section")..];
    for needed in
        ["--log-format", "--log-level", "json", "change_id", "PWSYNC_LOG_FORMAT", "warn for pwsync demo"]
    {
        assert!(
            logging.contains(needed),
            "the LOGGING section of pwsync --help lacks {needed:?}:\n{logging}"
        );
    }
}

/// The shortened help must not have changed what the options accept.
#[test]
fn the_global_options_still_work_before_and_after_the_subcommand_and_from_the_environment() {
    let dir = std::env::temp_dir().join(format!("pwsync-help-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.toml");
    std::fs::write(&file, "[client]\n").unwrap();
    let run = |args: &[&str], env: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pwsync"));
        command.args(args).arg(&file).stdin(Stdio::null());
        if let Some(format) = env {
            command.env("PWSYNC_LOG_FORMAT", format);
        }
        command.output().unwrap()
    };
    for (args, env) in [
        (&["--log-format", "json", "--log-level", "debug", "check-config"][..], None),
        (&["check-config", "--log-format", "json", "--log-level", "debug"], None),
        (&["check-config"], Some("json")),
    ] {
        let output = run(args, env);
        // A broken file: exit status 1 with the message, not a usage error (2).
        assert_eq!(output.status.code(), Some(1), "{args:?} {env:?}: {output:?}");
    }
    let output = run(&["--log-format", "yaml", "check-config"], None);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("text, json"), "{output:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
