//! `pwsync-bench-floor DIR NAME BYTES`: the physical floor of a capture hook, as a process.
//!
//! It does exactly the durable write the spool does for one record — create a private temporary
//! file, write BYTES bytes, fsync it, rename it to NAME, fsync the directory — and nothing else:
//! no key, no sealing, no locking. Timing this process from spawn to exit gives the least any
//! hook process that makes a change durable could cost on this machine. It must stay free of
//! dependencies so that its own start-up is as small as a Rust program's can be.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, name, bytes] = args.as_slice() else {
        eprintln!("usage: pwsync-bench-floor DIR NAME BYTES");
        return ExitCode::from(64);
    };
    let Ok(bytes) = bytes.parse::<usize>() else {
        eprintln!("pwsync-bench-floor: BYTES must be a number");
        return ExitCode::from(64);
    };
    match write_durably(Path::new(dir), name, &vec![0x5a; bytes]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pwsync-bench-floor: {error}");
            ExitCode::from(74)
        }
    }
}

fn write_durably(dir: &Path, name: &str, contents: &[u8]) -> std::io::Result<()> {
    let temporary = dir.join(format!(".tmp-{name}"));
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, dir.join(name))?;
    File::open(dir)?.sync_all()
}
