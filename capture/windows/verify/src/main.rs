//! The Linux side of the Wine test of the pwsync LSA filter: makes the spool key pair, and
//! opens the records the DLL wrote with the same calls the pwsync client daemon makes
//! (`Spool::list_pending`, `Spool::read`, `pwsync_seal::open`), checking them against the
//! shared case table.
//!
//!   pwsync-filter-verify keygen <dir>
//!   pwsync-filter-verify cases <spool> <secret key> <log> <origin>
//!   pwsync-filter-verify one <spool> <secret key> <log> <account> <count>
//!
//! It must never print a password: a mismatch is reported by case name and lengths. Exits
//! non-zero on the first failed check.

mod checks;
mod records;

use std::path::Path;
use std::process::exit;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = match words.as_slice() {
        ["keygen", dir] => records::keygen(Path::new(dir)),
        ["cases", spool, key, log, origin] => {
            checks::cases(Path::new(spool), Path::new(key), Path::new(log), origin)
        }
        ["one", spool, key, log, account, count] => match count.parse::<usize>() {
            Ok(count) => checks::one(Path::new(spool), Path::new(key), Path::new(log), account, count),
            Err(_) => Err(format!("count {:?} is not a number", count)),
        },
        _ => Err("usage: pwsync-filter-verify keygen <dir> | cases <spool> <secret key> <log> <origin> | one <spool> <secret key> <log> <account> <count>".to_owned()),
    };
    match outcome {
        Ok(summary) => println!("verify: ok: {}", summary),
        Err(message) => {
            eprintln!("verify: FAILED: {}", message);
            exit(1);
        }
    }
}
