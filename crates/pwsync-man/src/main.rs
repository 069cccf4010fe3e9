//! `pwsync-man DIR`: writes the manual pages of pwsync and pwsync-capture into DIR (created if
//! missing) and prints their paths. Run by packaging/build-debs.sh.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: pwsync-man DIR");
        return ExitCode::from(64);
    };
    let dir = PathBuf::from(dir);
    let result = std::fs::create_dir_all(&dir).and_then(|()| pwsync_man::write_manuals(&dir));
    match result {
        Ok(pages) => {
            for page in pages {
                println!("{}", page.display());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("pwsync-man: {}: {error}", dir.display());
            ExitCode::FAILURE
        }
    }
}
