//! Where the programs under test are: the release `pwsync` and `pwsync-capture` built from this
//! workspace (and this crate's own `pwsync-bench-floor`), found beside the bench executable or in
//! a directory given with `--bin-dir`.
//!
//! It never builds anything itself: a benchmark of a stale or debug binary must be the
//! operator's explicit choice, so a missing program is a named error with the build command.

use std::path::{Path, PathBuf};

use anyhow::bail;

#[derive(Debug, Clone)]
pub struct Binaries {
    pub pwsync: PathBuf,
    pub capture: PathBuf,
    pub floor: PathBuf,
}

impl Binaries {
    pub fn locate(bin_dir: Option<&Path>) -> anyhow::Result<Binaries> {
        let here = std::env::current_exe()?;
        let own_dir = here.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = bin_dir.map(Path::to_path_buf).unwrap_or_else(|| own_dir.clone());
        let binaries = Binaries {
            pwsync: dir.join("pwsync"),
            capture: dir.join("pwsync-capture"),
            floor: if dir.join("pwsync-bench-floor").is_file() {
                dir.join("pwsync-bench-floor")
            } else {
                own_dir.join("pwsync-bench-floor")
            },
        };
        for program in [&binaries.pwsync, &binaries.capture, &binaries.floor] {
            if !program.is_file() {
                bail!(
                    "{} not found; build the programs under test first: \
                     cargo build --release --locked -p pwsync -p pwsync-bench (or give --bin-dir)",
                    program.display()
                );
            }
        }
        Ok(binaries)
    }
}
