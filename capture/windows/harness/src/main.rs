//! The test harness of the pwsync LSA filter: a Windows program that loads the DLL with
//! LoadLibraryW, as lsass does, and calls its three exports with real UNICODE_STRINGs.
//!
//!   pwsync-filter-harness <dll> cases           every case of pwsync-filter-cases, then
//!                                               the concurrent batch
//!   pwsync-filter-harness <dll> one <account>   one change of `scenario_change(account)`
//!   pwsync-filter-harness <dll> copy-then-one <from> <to> <account>
//!                                               the same, after copying a file once the
//!                                               DLL is initialized (a configuration repair)
//!
//! It checks what the exports return (TRUE, TRUE, STATUS_SUCCESS whatever happens) and that
//! the process survives; whether the right records were written is for verify, on Linux,
//! to judge. It must never print a password (only case names), and exits non-zero on any
//! wrong return value.

#[cfg(windows)]
mod dll;
#[cfg(windows)]
mod lsa_string;
#[cfg(windows)]
mod scenarios;

#[cfg(windows)]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let outcome = match args.get(2).map(String::as_str) {
        Some("cases") if args.len() == 3 => scenarios::cases(&args[1]),
        Some("one") if args.len() == 4 => scenarios::one(&args[1], &args[3]),
        Some("copy-then-one") if args.len() == 6 => scenarios::copy_then_one(&args[1], &args[3], &args[4], &args[5]),
        _ => Err("usage: pwsync-filter-harness <dll> cases | <dll> one <account> | <dll> copy-then-one <from> <to> <account>"
            .to_owned()),
    };
    if let Err(message) = outcome {
        eprintln!("harness: FAILED: {}", message);
        std::process::exit(1);
    }
}

#[cfg(not(windows))]
fn main() {
    eprintln!("pwsync-filter-harness runs on Windows (or under Wine) only");
    std::process::exit(2);
}
