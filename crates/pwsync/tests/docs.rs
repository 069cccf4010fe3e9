//! The documentation as a new user follows it: README.md and docs/*.md, checked against the
//! real binaries cargo built. The convention (docs/architecture.md, "Testing"):
//!
//! - A ```` ```sh ```` block is run, line by line, in a throwaway directory with the example's
//!   paths rewritten into it (`sandbox.rs`); every line must succeed, and a line that starts a
//!   daemon must be accepted. Unless the paragraph before it says `Not run by the tests:` and
//!   what it needs (Windows, a Samba DC, root...), visibly to readers.
//! - ```` ```console ```` (a transcript with its output) and ```` ```powershell ```` blocks are
//!   never run here and must carry that mark; no other block may hold shell commands.
//! - Every `pwsync` and `pwsync-capture` command anywhere in the docs, in any block or inline
//!   code, names only subcommands and flags the binaries have (`command_line.rs`).
//! - Every ```` ```toml ```` block is written where its first comment says (`# /etc/pwsync/
//!   client.toml`) and loaded by `pwsync check-config` in the sandbox of its document, in the
//!   order of the document; files it names that no command before it made are made by
//!   `config_files.rs`, and a `[[target]]` example stands in a minimal server configuration.
//!
//! Nothing here may put the sandbox's password in argv or the environment; every document's
//! sandbox is scanned for it at the end.

#[path = "docs/command_line.rs"]
mod command_line;
mod common;
#[path = "docs/config_files.rs"]
mod config_files;
#[path = "docs/markdown.rs"]
mod markdown;
#[path = "docs/sandbox.rs"]
mod sandbox;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use markdown::Block;

/// Tags of blocks that hold shell commands.
const RUNNABLE: &str = "sh";
const NEVER_RUN: [&str; 2] = ["console", "powershell"];
/// Tags of blocks that hold file contents, output, formats or diagrams: never a command.
const NOT_COMMANDS: [&str; 8] = ["", "text", "toml", "ini", "json", "python", "yaml", "pwsync-test-vector"];
/// How a shell command begins, to find one in a block that must not hold any.
const COMMAND_STARTS: [&str; 16] = [
    "$ ",
    "pwsync ",
    "pwsync-capture ",
    "cargo ",
    "sudo ",
    "systemctl ",
    "journalctl ",
    "openssl ",
    "samba-tool ",
    "printf ",
    "install ",
    "useradd ",
    "pamtester ",
    "scripts/",
    "target/release/",
    "capture/windows/",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// True when `line` begins like a shell command (`pwsync client ◀──` in a diagram does not).
fn looks_like_a_command(line: &str, programs: &BTreeMap<&str, command_line::CommandSpec>) -> bool {
    // Box drawing and arrows: a diagram.
    if line.chars().any(|c| ('\u{2500}'..='\u{25FF}').contains(&c)) {
        return false;
    }
    let mut words = line.split_whitespace();
    if let Some(spec) = words.next().and_then(|word| programs.get(word)) {
        let next = words.next().unwrap_or_default();
        return next.starts_with('-') || spec.subcommands.contains_key(next);
    }
    COMMAND_STARTS.iter().any(|start| line.starts_with(start))
}

fn all_blocks() -> Vec<Block> {
    markdown::documents(&root()).iter().flat_map(|file| markdown::blocks(file)).collect()
}

#[test]
fn every_shell_block_is_run_or_marked_and_no_other_block_holds_a_command() {
    let programs = command_line::programs();
    let blocks = all_blocks();
    assert!(blocks.len() > 40, "the docs were not found: {} blocks", blocks.len());
    let mut runnable = 0;
    for block in &blocks {
        let at = block.at();
        if block.tag == RUNNABLE {
            runnable += usize::from(block.not_run_because.is_none());
        } else if NEVER_RUN.contains(&block.tag.as_str()) {
            assert!(
                block.not_run_because.is_some(),
                "{at}: a ```{} block needs a `{}` line before it",
                block.tag,
                markdown::NOT_RUN_MARK
            );
        } else {
            assert!(
                NOT_COMMANDS.contains(&block.tag.as_str()),
                "{at}: unknown block tag {:?} (see the convention in docs/architecture.md, Testing)",
                block.tag
            );
            for line in block.text.lines() {
                assert!(
                    !looks_like_a_command(line.trim_start(), &programs),
                    "{at}: a shell command in a ```{} block: tag it sh (run, or marked `{}`): {line}",
                    block.tag,
                    markdown::NOT_RUN_MARK
                );
            }
        }
        if let Some(needs) = &block.not_run_because {
            assert!(needs.len() >= 10, "{at}: say what the example needs after `{}`", markdown::NOT_RUN_MARK);
        }
    }
    assert!(runnable >= 5, "only {runnable} runnable shell blocks were found");
}

#[test]
fn every_pwsync_command_in_the_docs_names_real_subcommands_and_flags() {
    let programs = command_line::programs();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in markdown::documents(&root()) {
        let mut texts: Vec<(String, String)> =
            markdown::blocks(&file).into_iter().map(|block| (block.at(), block.text)).collect();
        texts.extend(
            markdown::inline_code(&file)
                .into_iter()
                .map(|(line, span)| (format!("{}:{line}", file.display()), span)),
        );
        for (at, text) in texts {
            // A shell line continued with `\` is one command.
            let joined = text.replace("\\\n", " ");
            for (program, words) in command_line::invocations(&joined, &programs) {
                checked += 1;
                if let Err(problem) = command_line::check(&programs, &program, &words) {
                    wrong.push(format!("{at}: {problem}: {program} {}", words.join(" ")));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "commands in the docs the binaries do not accept:\n{}", wrong.join("\n"));
    assert!(checked > 50, "only {checked} pwsync commands were found in the docs");
}

/// The config file an example is written to: the path its first comment names
/// (`# /etc/pwsync/client.toml`), else one named after the block.
fn config_path(sandbox: &sandbox::Sandbox, block: &Block) -> PathBuf {
    let named =
        block.text.lines().next().and_then(|line| line.strip_prefix("# ")).filter(|path| {
            path.starts_with("/etc/pwsync/") && path.ends_with(".toml") && !path.contains(' ')
        });
    match named {
        Some(path) => PathBuf::from(sandbox.rewrite(path)),
        None => {
            let stem = block.file.file_stem().unwrap().to_string_lossy().into_owned();
            sandbox.root().join(format!("etc/pwsync/example-{stem}-{}.toml", block.line))
        }
    }
}

fn check_toml(sandbox: &mut sandbox::Sandbox, block: &Block) {
    let at = block.at();
    let mut text = sandbox.rewrite(&block.text);
    let table: toml::Table = toml::from_str(&text).unwrap_or_else(|error| panic!("{at}: not TOML: {error}"));
    if !table.contains_key("client") && !table.contains_key("ledger") {
        assert!(table.contains_key("target"), "{at}: neither a configuration nor a [[target]] example");
        text = sandbox.rewrite(config_files::SERVER_SKELETON) + &text;
    }
    let table: toml::Table = toml::from_str(&text).unwrap();
    let file = config_path(sandbox, block);
    eprintln!("{at}: pwsync check-config {}", file.display());
    config_files::Provider::new(sandbox, &file, &at).provide(&table);
    std::fs::write(&file, text).unwrap();
    sandbox.check_config(&at, &file);
}

#[test]
fn every_runnable_shell_block_runs_and_every_toml_example_passes_check_config() {
    let (mut ran, mut tomls) = (0, 0);
    for file in markdown::documents(&root()) {
        let blocks = markdown::blocks(&file);
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let mut sandbox = sandbox::Sandbox::new(&name);
        // In the order of the document: a configuration uses the files of the commands before
        // it, and the commands after it (check-config, the daemons) use the configuration.
        for block in &blocks {
            if block.tag == RUNNABLE && block.not_run_because.is_none() {
                sandbox.run_block(&block.at(), &block.text);
                ran += 1;
            } else if block.tag == "toml" {
                check_toml(&mut sandbox, block);
                tomls += 1;
            }
        }
        sandbox.scan();
    }
    eprintln!("ran {ran} shell blocks and checked {tomls} TOML examples");
    assert!(ran >= 5 && tomls >= 8, "ran {ran} shell blocks, checked {tomls} TOML examples");
}
