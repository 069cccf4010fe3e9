//! The cases themselves: the shapes of UNICODE_STRING that LSA can hand over (ASCII,
//! non-ASCII, surrogate pairs, embedded NUL, text followed by unrelated buffer content,
//! the longest the record format accepts, the longest a UNICODE_STRING can be, empty, odd
//! byte length, unpaired surrogates, inconsistent lengths, NULL buffers and pointers) and
//! the accounts the DLL must not capture.
//!
//! Every expected log fragment here is a promise about the DLL's wording: change one side,
//! change the other. A case must never expect a record whose password the record format
//! cannot hold, nor reuse another case's RID or captured account (a unit test checks both).

use crate::{Case, Expect, Utf16Input, MAX_UNICODE_STRING_BYTES};

/// Threads of the concurrent batch (lsass calls notification packages from several threads).
pub const CONCURRENT_THREADS: usize = 4;
/// Changes per thread in the concurrent batch.
pub const CONCURRENT_CHANGES: usize = 5;

/// The account and password of the single change that the error scenarios (missing spool,
/// unreadable key, full disk) make, e.g. `scenario_change("full.disk")`.
pub fn scenario_change(account: &str) -> (String, String) {
    (account.to_owned(), format!("Scenario-{}-Pässwort-1!", account))
}

fn captured(name: &'static str, rid: u32, account: &str, password: &str) -> Case {
    Case {
        name,
        rid,
        account: Utf16Input::text(account),
        password: Utf16Input::text(password),
        expect: Expect::Captured { account: account.to_owned(), password: password.to_owned() },
    }
}

fn refused(
    name: &'static str,
    rid: u32,
    account: Utf16Input,
    password: Utf16Input,
    log_fragment: &'static str,
) -> Case {
    Case { name, rid, account, password, expect: Expect::Refused { log_fragment } }
}

/// Every single-threaded case, in the order the harness feeds them.
pub fn all_cases() -> Vec<Case> {
    // 256 musical G clefs: a surrogate pair each, 4 UTF-8 bytes each, 1024 bytes in all —
    // exactly the longest password a record holds.
    let longest_password = "\u{1D11E}".repeat(256);
    let one_byte_too_long = format!("a{}", longest_password);
    let longest_account = format!("acct-{}", "x".repeat(251));
    let too_long_account = format!("{}y", longest_account);
    let max_units = usize::from(MAX_UNICODE_STRING_BYTES / 2);
    vec![
        captured("ascii", 1001, "ascii.user", "Correct-Horse-42!"),
        captured("non-ascii", 1002, "jürgen.müller", "Pässwörd-密码-Ωμέγα-1!"),
        captured("surrogate-pairs", 1003, "emoji.user", "\u{1F511}Schlüssel-\u{1D11E}-\u{1F600}"),
        captured("embedded-nul", 1004, "nul.inside", "ab\u{0}cd-Z9"),
        Case {
            name: "junk-after-length",
            rid: 1005,
            account: Utf16Input::text_with_junk_after("junk.after", u16::from(b'Q'), 7),
            password: Utf16Input::text_with_junk_after("Short#1", u16::from(b'X'), 9),
            expect: Expect::Captured { account: "junk.after".to_owned(), password: "Short#1".to_owned() },
        },
        captured("longest-password", 1006, "max.password", &longest_password),
        captured("longest-account", 1007, &longest_account, "Long-Account-1"),
        captured("single-char", 1008, "s", "x"),
        refused(
            "password-one-byte-too-long",
            1101,
            Utf16Input::text("too.long.pw"),
            Utf16Input::text(&one_byte_too_long),
            "cannot seal change: field password is 1025 bytes, more than the limit of 1024",
        ),
        refused(
            "maximum-unicode-string",
            1102,
            Utf16Input::text("max.unicode.string"),
            Utf16Input::units(vec![u16::from(b'x'); max_units]),
            "cannot seal change: field password is 32767 bytes, more than the limit of 1024",
        ),
        refused(
            "empty-password",
            1103,
            Utf16Input::text("empty.pw"),
            Utf16Input::text(""),
            "cannot seal change: field password is empty",
        ),
        refused(
            "odd-byte-length",
            1104,
            Utf16Input::text("odd.pw"),
            Utf16Input::odd_length("Odd-Length-1"),
            "new password: the UNICODE_STRING has an odd byte length (23)",
        ),
        refused(
            "lone-high-surrogate-at-end",
            1105,
            Utf16Input::text("lone.high"),
            Utf16Input::units(vec![0x41, 0x62, 0x63, 0xD83D]),
            "new password: unpaired UTF-16 surrogate at code unit 3",
        ),
        refused(
            "lone-low-surrogate-inside",
            1106,
            Utf16Input::text("lone.low"),
            Utf16Input::units(vec![0x41, 0x62, 0xDC00, 0x63, 0x64]),
            "new password: unpaired UTF-16 surrogate at code unit 2",
        ),
        refused(
            "swapped-surrogate-pair",
            1107,
            Utf16Input::text("swapped.pair"),
            Utf16Input::units(vec![0x31, 0xDD1E, 0xD834]),
            "new password: unpaired UTF-16 surrogate at code unit 1",
        ),
        refused(
            "length-beyond-maximum",
            1108,
            Utf16Input::text("beyond.max"),
            Utf16Input::length_beyond_maximum("Beyond-1"),
            "new password: the UNICODE_STRING's Length (18 bytes) exceeds its MaximumLength (16 bytes)",
        ),
        refused(
            "null-password-buffer",
            1109,
            Utf16Input::text("null.buffer"),
            Utf16Input::NullBuffer { length_bytes: 8 },
            "new password: the UNICODE_STRING has a NULL buffer but a Length of 8 bytes",
        ),
        refused(
            "null-password-pointer",
            1110,
            Utf16Input::text("null.pointer"),
            Utf16Input::NullPointer,
            "new password: no UNICODE_STRING (NULL pointer)",
        ),
        refused(
            "null-account-pointer",
            1111,
            Utf16Input::NullPointer,
            Utf16Input::text("Null-Account-1"),
            "account name: no UNICODE_STRING (NULL pointer)",
        ),
        refused(
            "odd-account",
            1112,
            Utf16Input::odd_length("odd.account"),
            Utf16Input::text("Odd-Account-1"),
            "account name: the UNICODE_STRING has an odd byte length (21)",
        ),
        refused(
            "account-unpaired-surrogate",
            1113,
            Utf16Input::units(vec![0x62, 0x6F, 0x62, 0xD800]),
            Utf16Input::text("Surrogate-Account-1"),
            "account name: unpaired UTF-16 surrogate at code unit 3",
        ),
        refused(
            "empty-account",
            1114,
            Utf16Input::text(""),
            Utf16Input::text("Empty-Account-1"),
            "cannot seal change: field account is empty",
        ),
        refused(
            "account-too-long",
            1115,
            Utf16Input::text(&too_long_account),
            Utf16Input::text("Too-Long-Account-1"),
            "cannot seal change: field account is 257 bytes, more than the limit of 256",
        ),
        refused(
            "machine-account",
            1116,
            Utf16Input::text("WS042$"),
            Utf16Input::text("Machine-Account-Secret-1"),
            "skipped: \"WS042$\" is a machine or trust account",
        ),
    ]
}

/// The concurrent batch: `CONCURRENT_THREADS` threads making `CONCURRENT_CHANGES` changes
/// each, all of which must be captured. Indexed `[thread][change]`.
pub fn concurrent_cases() -> Vec<Vec<Case>> {
    (0..CONCURRENT_THREADS)
        .map(|thread| {
            (0..CONCURRENT_CHANGES)
                .map(|change| {
                    let account = format!("thread{}.user{}", thread, change);
                    let password = format!("Thread-{}-Change-{}-é€", thread, change);
                    let rid = 2000 + (thread * CONCURRENT_CHANGES + change) as u32;
                    captured("concurrent", rid, &account, &password)
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn rids_and_captured_accounts_are_unique() {
        let cases: Vec<Case> =
            all_cases().into_iter().chain(concurrent_cases().into_iter().flatten()).collect();
        let rids: HashSet<u32> = cases.iter().map(|case| case.rid).collect();
        assert_eq!(rids.len(), cases.len());
        let mut accounts = HashSet::new();
        for case in &cases {
            if let Expect::Captured { account, .. } = &case.expect {
                assert!(accounts.insert(account.clone()), "account {} twice", account);
            }
        }
    }

    #[test]
    fn boundary_cases_sit_exactly_on_the_record_limits() {
        let cases = all_cases();
        let find = |name: &str| cases.iter().find(|case| case.name == name).unwrap();
        match &find("longest-password").expect {
            Expect::Captured { password, .. } => assert_eq!(password.len(), 1024),
            Expect::Refused { .. } => panic!("longest-password must be captured"),
        }
        match &find("longest-account").expect {
            Expect::Captured { account, .. } => assert_eq!(account.len(), 256),
            Expect::Refused { .. } => panic!("longest-account must be captured"),
        }
        match &find("maximum-unicode-string").password {
            Utf16Input::Buffer { length_bytes, .. } => assert_eq!(*length_bytes, 65534),
            _ => panic!("maximum-unicode-string must be a buffer"),
        }
    }
}
