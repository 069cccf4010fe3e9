//! The demo's leak check: every file under the demo directory is scanned for the canary prefix
//! that all demo passwords share. Sealed spool records are scanned too: they must not contain
//! it either, since they are ciphertext.

use std::path::{Path, PathBuf};

/// Files under `dir` whose bytes contain `needle`, and how many files were scanned.
pub fn scan(dir: &Path, needle: &[u8]) -> std::io::Result<(Vec<PathBuf>, usize)> {
    let mut hits = Vec::new();
    let mut scanned = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                scanned += 1;
                let bytes = std::fs::read(&path)?;
                if bytes.windows(needle.len()).any(|window| window == needle) {
                    hits.push(path);
                }
            }
        }
    }
    Ok((hits, scanned))
}
