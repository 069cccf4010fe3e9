//! What the harness does with the DLL: run the whole case table (then the concurrent
//! batch), or make one change for the error scenarios of test.sh (optionally after
//! repairing the configuration behind the loaded DLL's back).
//!
//! Every export's return value is checked; the slowest PasswordChangeNotify is reported,
//! because blocking lsass is what a filter must not do. Must never print a password: cases
//! are reported by name and RID.

use std::time::{Duration, Instant};

use pwsync_filter_cases::{all_cases, concurrent_cases, scenario_change, Case, Utf16Input};

use crate::dll::FilterDll;
use crate::lsa_string::LsaString;

const TRUE: u8 = 1;
const STATUS_SUCCESS: i32 = 0;

/// Loads the DLL and calls InitializeChangeNotify, which must answer TRUE.
fn load_and_initialize(path: &str) -> Result<FilterDll, String> {
    let dll = FilterDll::load(path)?;
    let answer = dll.initialize();
    if answer != TRUE {
        return Err(format!("InitializeChangeNotify returned {}, expected TRUE (1)", answer));
    }
    println!("harness: loaded {}; InitializeChangeNotify returned TRUE", path);
    Ok(dll)
}

/// Calls PasswordFilter (set and change) and PasswordChangeNotify for `case`; returns how
/// long the notification took.
fn run_case(dll: &FilterDll, case: &Case) -> Result<Duration, String> {
    let account = LsaString::new(&case.account);
    let password = LsaString::new(&case.password);
    let full_name = LsaString::new(&Utf16Input::text("Test User"));
    for set_operation in [false, true] {
        let answer = dll.filter(account.as_ptr(), full_name.as_ptr(), password.as_ptr(), set_operation);
        if answer != TRUE {
            return Err(format!("case {}: PasswordFilter returned {}, expected TRUE (1)", case.name, answer));
        }
    }
    let started = Instant::now();
    let status = dll.notify(account.as_ptr(), case.rid, password.as_ptr());
    let elapsed = started.elapsed();
    if status != STATUS_SUCCESS {
        return Err(format!(
            "case {}: PasswordChangeNotify returned 0x{:08x}, expected STATUS_SUCCESS",
            case.name, status
        ));
    }
    Ok(elapsed)
}

/// Every case, then the concurrent batch.
pub fn cases(path: &str) -> Result<(), String> {
    let dll = load_and_initialize(path)?;
    let mut slowest = Duration::ZERO;
    for case in all_cases() {
        let elapsed = run_case(&dll, &case)?;
        slowest = slowest.max(elapsed);
        println!("harness: ok {:<28} RID {} ({} ms)", case.name, case.rid, elapsed.as_millis());
    }
    let threads: Vec<_> = concurrent_cases()
        .into_iter()
        .map(|batch| {
            std::thread::spawn(move || -> Result<Duration, String> {
                let mut slowest = Duration::ZERO;
                for case in &batch {
                    slowest = slowest.max(run_case(&dll, case)?);
                }
                Ok(slowest)
            })
        })
        .collect();
    let thread_count = threads.len();
    for thread in threads {
        let batch_slowest = thread.join().map_err(|_| "a concurrent caller thread panicked".to_owned())??;
        slowest = slowest.max(batch_slowest);
    }
    println!("harness: ok concurrent batch ({} threads)", thread_count);
    println!("harness: slowest PasswordChangeNotify: {} ms", slowest.as_millis());
    Ok(())
}

/// One change of `scenario_change(account)`.
pub fn one(path: &str, account: &str) -> Result<(), String> {
    let dll = load_and_initialize(path)?;
    change_once(&dll, account)
}

/// Loads the DLL (whose configuration must then be unusable), copies `from` to `to` (the
/// repair, e.g. the missing public key), then makes one change: the DLL must pick up the
/// repaired configuration without being reloaded.
pub fn copy_then_one(path: &str, from: &str, to: &str, account: &str) -> Result<(), String> {
    let dll = load_and_initialize(path)?;
    std::fs::copy(from, to).map_err(|error| format!("cannot copy {} to {}: {}", from, to, error))?;
    println!("harness: copied {} to {} after InitializeChangeNotify", from, to);
    change_once(&dll, account)
}

fn change_once(dll: &FilterDll, account: &str) -> Result<(), String> {
    let (account, password) = scenario_change(account);
    let case = Case {
        name: "scenario",
        rid: 3000,
        account: Utf16Input::text(&account),
        password: Utf16Input::text(&password),
        expect: pwsync_filter_cases::Expect::Captured {
            account: account.clone(),
            password: password.clone(),
        },
    };
    let elapsed = run_case(dll, &case)?;
    println!("harness: ok one change of {} ({} ms)", account, elapsed.as_millis());
    Ok(())
}
