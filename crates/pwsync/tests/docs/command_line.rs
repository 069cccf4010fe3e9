//! What the real binaries accept, read from their own `--help`: the subcommand tree of
//! `pwsync` and the flags of each command; and the check that a command line written in the
//! documentation names only those.
//!
//! Read from the help, not from a list kept here, so that a renamed flag fails the docs that
//! still name the old one. It must never run a documented command: that is the sandbox's job.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};

/// One command of the tree: its flags (those of its parents included, as clap accepts them
/// there too) and its subcommands by name.
#[derive(Default)]
pub struct CommandSpec {
    pub flags: BTreeSet<String>,
    pub subcommands: BTreeMap<String, CommandSpec>,
}

fn help_of(program: &str, path: &[&str]) -> String {
    let output = Command::new(program).args(path).arg("--help").stdin(Stdio::null()).output().unwrap();
    assert!(output.status.success(), "{program} {} --help failed: {output:?}", path.join(" "));
    String::from_utf8(output.stdout).unwrap()
}

/// The `--long` and `-s` flags of the option lines of a help text.
fn flags_in(help: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    for line in help.lines() {
        let trimmed = line.trim_start();
        if !trimmed.starts_with('-') || line.len() == trimmed.len() {
            continue;
        }
        for word in trimmed.split([' ', ',']).take_while(|word| word.starts_with('-') || word.is_empty()) {
            let flag = word.split(['=', '<', '[']).next().unwrap_or_default();
            if flag.len() > 1 {
                flags.insert(flag.to_string());
            }
        }
    }
    flags
}

fn spec_of(program: &str, path: &[&str], inherited: &BTreeSet<String>) -> CommandSpec {
    let help = help_of(program, path);
    let mut flags = flags_in(&help);
    flags.extend(inherited.iter().cloned());
    let mut subcommands = BTreeMap::new();
    for name in crate::common::subcommands_listed(&help) {
        let mut child: Vec<&str> = path.to_vec();
        child.push(&name);
        subcommands.insert(name.clone(), spec_of(program, &child, &flags));
    }
    CommandSpec { flags, subcommands }
}

/// The command trees of `pwsync` and `pwsync-capture`, by program name.
pub fn programs() -> BTreeMap<&'static str, CommandSpec> {
    BTreeMap::from([
        ("pwsync", spec_of(env!("CARGO_BIN_EXE_pwsync"), &[], &BTreeSet::new())),
        ("pwsync-capture", spec_of(env!("CARGO_BIN_EXE_pwsync-capture"), &[], &BTreeSet::new())),
    ])
}

/// Words that end a command in a shell line.
fn ends_command(word: &str) -> bool {
    matches!(word, "|" | "||" | "&&" | ";" | "&" | "#" | ")" | "\\")
        || word.starts_with('>')
        || word.starts_with('<')
        || word.starts_with('#')
        || word.contains("...")
        || word.contains('…')
}

/// The program a word invokes, if it is one: `pwsync`, `/usr/bin/pwsync`,
/// `ExecStart=/usr/bin/pwsync`, `$(pwsync`... but not a path such as `/var/spool/pwsync`, nor
/// the package of `cargo test -p pwsync`.
fn program_in<'a>(
    word: &'a str,
    previous: Option<&str>,
    programs: &BTreeMap<&str, CommandSpec>,
) -> Option<&'a str> {
    if matches!(previous, Some("-p") | Some("--package")) {
        return None;
    }
    let word = word.trim_start_matches(['(', '$', '`']);
    // After `=` (an ini key) only a path counts: `Description=pwsync client daemon` is prose.
    let (word, assigned) = word.rsplit_once('=').map_or((word, false), |(_, value)| (value, true));
    let name = word.rsplit('/').next().unwrap_or_default();
    let is_program = (word == name && !assigned) || word.ends_with(&format!("/bin/{name}"));
    (is_program && programs.contains_key(name)).then_some(name)
}

/// Every invocation of one of `programs` in `text` (a code block or span): the program name and
/// the words after it, up to the end of the command.
pub fn invocations<'a>(text: &'a str, programs: &BTreeMap<&str, CommandSpec>) -> Vec<(String, Vec<&'a str>)> {
    let mut found = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (index, word) in words.iter().enumerate() {
            let previous = index.checked_sub(1).map(|before| words[before]);
            let Some(name) = program_in(word, previous, programs) else { continue };
            let mut rest = Vec::new();
            for word in &words[index + 1..] {
                if ends_command(word) {
                    break;
                }
                // Prose around a command in a comment: `(see pwsync pki init; ...)`.
                let bare = word.trim_end_matches([';', ')', ':', ',', '.']);
                rest.push(bare);
                if bare.len() < word.len() {
                    break;
                }
            }
            found.push((name.to_string(), rest));
        }
    }
    found
}

/// A word that can name a subcommand; anything else after `pwsync` is prose or a diagram
/// (`pwsync client ◀──`, `pwsync LSA password filter`).
fn is_command_word(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_lowercase())
        && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '|')
}

/// Checks one invocation: the leading words that name subcommands must name real ones, and
/// every flag must be one of the resolved command's. Returns what is wrong.
pub fn check(programs: &BTreeMap<&str, CommandSpec>, program: &str, words: &[&str]) -> Result<(), String> {
    let mut spec = &programs[program];
    let mut path = vec![program.to_string()];
    let mut words = words.iter().map(|word| word.trim_matches(|c| c == '`' || c == '"' || c == '\''));
    let mut flags = Vec::new();
    let mut after_flag = false;
    // Subcommands come first; global flags (and their values) may stand before them.
    for word in words.by_ref() {
        if word.starts_with('-') {
            flags.push(word);
            after_flag = !word.contains('=');
            continue;
        }
        if !is_command_word(word) && !after_flag {
            if path.len() == 1 || !spec.subcommands.is_empty() {
                // Not a command line at all.
                return Ok(());
            }
            break;
        }
        // `pwsync failed list|show|retry|purge`: each alternative must exist.
        if word.contains('|') && !after_flag {
            let missing = word.split('|').find(|name| !spec.subcommands.contains_key(*name));
            if let Some(name) = missing {
                return Err(format!("`{}` has no subcommand `{name}`", path.join(" ")));
            }
            break;
        }
        match spec.subcommands.get(word) {
            Some(child) => {
                spec = child;
                path.push(word.to_string());
            }
            None if after_flag => {}
            None if !spec.subcommands.is_empty() => {
                return Err(format!("`{}` has no subcommand `{word}`", path.join(" ")));
            }
            None => break,
        }
        after_flag = false;
    }
    for word in flags.into_iter().chain(words) {
        if !word.starts_with('-')
            || word == "-"
            || word == "--"
            || word[1..].starts_with(|c: char| c.is_ascii_digit())
        {
            continue;
        }
        let flag = word.split('=').next().unwrap_or_default();
        if !spec.flags.contains(flag) {
            return Err(format!("`{}` has no flag `{flag}`", path.join(" ")));
        }
    }
    Ok(())
}
