//! The checks: every expected change is in the spool exactly once with the exact account
//! and password, nothing else is, every refused change left its explanation in the log, and
//! the log holds no password. A failed check must never quote a password: it names the case
//! and gives lengths.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use pwsync_filter_cases::{all_cases, concurrent_cases, scenario_change, Case, Expect, Utf16Input};
use pwsync_seal::{Change, SourceKind};

use crate::records;

/// Passwords shorter than this are not searched for in the log (a one-letter password
/// occurs in any text).
const MIN_SEARCHED_PASSWORD_LEN: usize = 6;

/// Checks the spool and log after `harness cases`.
pub fn cases(spool: &Path, key: &Path, log: &Path, origin: &str) -> Result<String, String> {
    let changes = records::open_all(spool, key)?;
    let log_text = read_log(log)?;
    let cases: Vec<Case> = all_cases().into_iter().chain(concurrent_cases().into_iter().flatten()).collect();
    let mut expected_accounts = HashSet::new();
    let mut refused = 0;
    for case in &cases {
        match &case.expect {
            Expect::Captured { account, password } => {
                expected_accounts.insert(account.as_str());
                let change = only_change_of(&changes, account, case.name)?;
                check_change(change, password, origin, case.name)?;
            }
            Expect::Refused { log_fragment } => {
                refused += 1;
                if !log_text.lines().any(|line| names_rid(line, case.rid) && line.contains(log_fragment)) {
                    return Err(format!(
                        "case {}: no log line names RID {} and says {:?}",
                        case.name, case.rid, log_fragment
                    ));
                }
            }
        }
    }
    if let Some(extra) = changes.iter().find(|change| !expected_accounts.contains(change.account.as_str())) {
        return Err(format!("the spool holds a record for {:?}, which no case expects", extra.account));
    }
    let sequences: HashSet<u64> = changes.iter().map(|change| change.origin_seq).collect();
    if sequences.len() != changes.len() {
        return Err("two records share an origin sequence number".to_owned());
    }
    let passwords: Vec<String> = cases.iter().filter_map(|case| text_of(&case.password)).collect();
    check_no_password_in_log(&log_text, &passwords)?;
    Ok(format!(
        "{} records opened with the exact account and password, {} refusals explained in the log, no password in the log",
        changes.len(),
        refused
    ))
}

/// Checks that the spool holds exactly `count` records, all of `scenario_change(account)`.
pub fn one(spool: &Path, key: &Path, log: &Path, account: &str, count: usize) -> Result<String, String> {
    let changes = records::open_all(spool, key)?;
    let (account, password) = scenario_change(account);
    if changes.len() != count {
        return Err(format!("expected {} record(s), found {}", count, changes.len()));
    }
    for change in &changes {
        if change.account != account {
            return Err(format!("found a record for {:?}, expected only {:?}", change.account, account));
        }
        check_change(change, &password, "", "scenario")?;
    }
    if log.exists() {
        check_no_password_in_log(&read_log(log)?, &[password])?;
    }
    Ok(format!("{} record(s) of {} with the exact password", count, account))
}

fn only_change_of<'a>(changes: &'a [Change], account: &str, case: &str) -> Result<&'a Change, String> {
    let found: Vec<&Change> = changes.iter().filter(|change| change.account == account).collect();
    match found.as_slice() {
        [change] => Ok(change),
        _ => Err(format!("case {}: expected 1 record for its account, found {}", case, found.len())),
    }
}

/// The record's password, source and origin (`origin` empty: any non-empty origin).
fn check_change(change: &Change, password: &str, origin: &str, case: &str) -> Result<(), String> {
    if change.password.expose().as_bytes() != password.as_bytes() {
        return Err(format!(
            "case {}: the record's password differs from the one passed ({} bytes recorded, {} bytes passed)",
            case,
            change.password.len(),
            password.len()
        ));
    }
    if change.source != SourceKind::WindowsLsa {
        return Err(format!("case {}: source is {}, expected windows-lsa", case, change.source));
    }
    if change.upn.is_some() {
        return Err(format!("case {}: the record has a UPN, but LSA gives none", case));
    }
    if (origin.is_empty() && change.origin.is_empty()) || (!origin.is_empty() && change.origin != origin) {
        return Err(format!("case {}: origin is {:?}, expected {:?}", case, change.origin, origin));
    }
    Ok(())
}

/// Whether `line` contains `RID <rid>` not followed by another digit.
fn names_rid(line: &str, rid: u32) -> bool {
    let needle = format!("RID {}", rid);
    line.match_indices(&needle)
        .any(|(at, _)| !line[at + needle.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

fn check_no_password_in_log(log_text: &str, passwords: &[String]) -> Result<(), String> {
    for (index, password) in passwords.iter().enumerate() {
        if password.len() >= MIN_SEARCHED_PASSWORD_LEN && log_text.contains(password.as_str()) {
            return Err(format!("the log contains a test password (number {} of the table)", index));
        }
    }
    Ok(())
}

fn read_log(log: &Path) -> Result<String, String> {
    let bytes = fs::read(log).map_err(|error| format!("cannot read the log {}: {}", log.display(), error))?;
    String::from_utf8(bytes).map_err(|_| format!("the log {} is not UTF-8", log.display()))
}

/// The text a case's UNICODE_STRING holds, if it is whole, valid UTF-16.
fn text_of(input: &Utf16Input) -> Option<String> {
    match input {
        Utf16Input::Buffer { units, length_bytes, .. } => {
            let length = usize::from(*length_bytes / 2).min(units.len());
            String::from_utf16(&units[..length]).ok()
        }
        Utf16Input::NullBuffer { .. } | Utf16Input::NullPointer => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rid_must_not_continue_with_a_digit() {
        assert!(names_rid("change of RID 1001 NOT captured", 1001));
        assert!(names_rid("account a (RID 1001) NOT", 1001));
        assert!(!names_rid("account a (RID 10012) NOT", 1001));
        assert!(!names_rid("RID 100", 1001));
    }

    #[test]
    fn finds_a_password_in_the_log() {
        let passwords = vec!["Correct-Horse-42!".to_owned(), "x".to_owned()];
        assert!(check_no_password_in_log("INFO captured account x", &passwords).is_ok());
        assert!(check_no_password_in_log("oops Correct-Horse-42! leaked", &passwords).is_err());
    }
}
