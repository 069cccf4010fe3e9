//! The manual pages of the installed programs, rendered from the clap definitions the programs
//! themselves parse (`pwsync::command()`, `pwsync_capture::standalone_command()`): one page for
//! `pwsync`, one for every subcommand at every depth (`pwsync-pki-issue-server(1)`), and one for
//! `pwsync-capture`.
//!
//! It only renders: it must never hold a second copy of any help text, so that the manuals cannot
//! drift from `--help`.

use std::io;
use std::path::{Path, PathBuf};

/// Section 1: both programs are installed in /usr/bin.
const SECTION: &str = "1";

/// Writes every page into `dir` (which must exist) and returns their paths, sorted.
pub fn write_manuals(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut pwsync = pwsync::command().disable_help_subcommand(true);
    pwsync.build();
    write_tree(&pwsync, dir, &mut written)?;
    // `pwsync capture` is the same hook with the same arguments as the `pwsync-capture`
    // executable; their pages would share one file name, and the executable's (with its own
    // synopsis) is the one Samba's smb.conf and the PAM docs point to.
    written.retain(|path| path.file_name().is_some_and(|name| name != "pwsync-capture.1"));
    let capture = clap_mangen::Man::new(pwsync_capture::standalone_command()).section(SECTION);
    written.push(capture.generate_to(dir)?);
    written.sort();
    Ok(written)
}

fn write_tree(command: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> io::Result<()> {
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_tree(sub, dir, written)?;
    }
    written.push(clap_mangen::Man::new(command.clone()).section(SECTION).generate_to(dir)?);
    Ok(())
}
