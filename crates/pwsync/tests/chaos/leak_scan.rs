//! The leak scan of a storm: every file under the test directory, searched for every password
//! the storm used, in one pass per file (a storm uses hundreds of passwords and writes tens of
//! megabytes of debug logs; a search per password would take minutes).
//!
//! Must never print a password: a finding names the file only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Panics naming the file if any of `secrets` (each at least 8 bytes) occurs in a file under
/// `dir`; returns how many files were scanned.
pub fn assert_no_secret_under(dir: &Path, secrets: &[String]) -> usize {
    let (scanned, leaky) = scan(dir, secrets);
    if let Some(path) = leaky {
        panic!("a test password was found in {}", path.display());
    }
    scanned
}

/// How many files were scanned, and the first one holding a secret.
fn scan(dir: &Path, secrets: &[String]) -> (usize, Option<PathBuf>) {
    let mut by_head: HashMap<[u8; 8], Vec<&[u8]>> = HashMap::new();
    let mut first_bytes = [false; 256];
    for secret in secrets {
        let bytes = secret.as_bytes();
        assert!(bytes.len() >= 8, "the scan needs secrets of at least 8 bytes");
        by_head.entry(bytes[..8].try_into().unwrap()).or_default().push(bytes);
        first_bytes[bytes[0] as usize] = true;
    }
    let files = crate::common::files_under(dir);
    for (index, path) in files.iter().enumerate() {
        let Some(bytes) = crate::common::read_unless_gone(path) else { continue };
        for start in 0..bytes.len().saturating_sub(7) {
            if !first_bytes[bytes[start] as usize] {
                continue;
            }
            let head: [u8; 8] = bytes[start..start + 8].try_into().unwrap();
            let Some(candidates) = by_head.get(&head) else { continue };
            if candidates.iter().any(|secret| bytes[start..].starts_with(secret)) {
                return (index + 1, Some(path.clone()));
            }
        }
    }
    (files.len(), None)
}

#[test]
fn the_scan_finds_a_secret_and_passes_clean_files() {
    let dir = crate::common::TestDir::new("leak-scan");
    std::fs::create_dir(dir.path.join("sub")).unwrap();
    std::fs::write(dir.path.join("sub/clean.log"), "pwsync-canary-but-not-quite the password\n").unwrap();
    let secret = "pwsync-canary-secret-Pä密!".to_string();
    assert_eq!(scan(&dir.path, std::slice::from_ref(&secret)), (1, None));
    let leaky = dir.path.join("sub/leaky.log");
    std::fs::write(&leaky, format!("xx{secret}yy")).unwrap();
    assert_eq!(scan(&dir.path, &[secret]).1, Some(leaky), "the scan must find the password");
}
