//! Replays every committed fuzz input (`fuzz/corpus/<target>/*` and `fuzz/regressions/<target>/*`)
//! through the same checks the fuzz targets run, so that the corpus is a regression suite on
//! stable Rust too, without cargo-fuzz.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_has_a_seed_corpus_and_every_input_passes() {
    for (target, check) in pwsync_fuzz_checks::TARGETS {
        let corpus = inputs(&fuzz_dir().join("corpus").join(target));
        assert!(corpus.len() >= 3, "fuzz/corpus/{target} holds {} seeds", corpus.len());
        let regressions = inputs(&fuzz_dir().join("regressions").join(target));
        for input in corpus.iter().chain(&regressions) {
            let data = std::fs::read(input).expect("a readable input");
            // A failing check panics; the file name says which input to look at.
            eprintln!("{target}: {}", input.display());
            check(&data);
        }
        println!("{target}: {} corpus inputs, {} regressions replayed", corpus.len(), regressions.len());
    }
}

#[test]
fn every_fuzz_target_has_its_check() {
    let targets_dir = fuzz_dir().join("fuzz_targets");
    let mut names: Vec<String> = inputs(&targets_dir)
        .iter()
        .filter_map(|path| path.file_stem().map(|stem| stem.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    let mut known: Vec<String> =
        pwsync_fuzz_checks::TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    known.sort();
    assert_eq!(names, known);
}
