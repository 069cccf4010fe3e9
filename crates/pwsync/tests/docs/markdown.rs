//! The parts of the documentation the docs test checks: fenced code blocks (with their tag, the
//! line they start on and whether a reader is told they are not run) and inline code spans.
//!
//! A plain line scanner, enough for the project's own Markdown (fences of three backticks, in
//! list items indented); it must never skip a block silently: an unclosed fence panics.

use std::path::{Path, PathBuf};

/// The line that tells a reader the next block is not run by the tests, and what it needs.
pub const NOT_RUN_MARK: &str = "Not run by the tests:";

/// One fenced code block.
pub struct Block {
    pub file: PathBuf,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The info string after the backticks (`sh`, `toml`, `text`...), empty when none.
    pub tag: String,
    /// The content, with the fence's indentation removed.
    pub text: String,
    /// What the example needs, from the `Not run by the tests:` of the paragraph before it.
    pub not_run_because: Option<String>,
}

impl Block {
    pub fn at(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

/// README.md and every docs/*.md, in a stable order.
pub fn documents(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The mark in the paragraph before a block, if it has one: `Not run by the tests: <needs>`,
/// anywhere in it (also in italics or parentheses); returns what the example needs.
fn mark_in(paragraph: &str) -> Option<String> {
    let (_, needs) = paragraph.split_once(NOT_RUN_MARK)?;
    Some(needs.trim().trim_end_matches(['*', '_', ')', '.', ':']).trim().to_string())
}

/// The paragraph (or list item text) just before line `start`, joined into one line.
fn paragraph_before(lines: &[&str], start: usize) -> String {
    let before: Vec<&str> =
        lines[..start].iter().rev().skip_while(|line| line.trim().is_empty()).copied().collect();
    let mut paragraph: Vec<&str> = before
        .iter()
        .take_while(|line| !line.trim().is_empty() && !line.trim_start().starts_with("```"))
        .map(|line| line.trim())
        .collect();
    paragraph.reverse();
    paragraph.join(" ")
}

pub fn blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let indent = line.len() - line.trim_start().len();
        let Some(tag) = line.trim_start().strip_prefix("```") else {
            index += 1;
            continue;
        };
        let start = index;
        let mut body = Vec::new();
        index += 1;
        loop {
            let inner = lines
                .get(index)
                .unwrap_or_else(|| panic!("{}:{}: unclosed fence", file.display(), start + 1));
            if inner.trim() == "```" {
                break;
            }
            body.push(inner.get(indent..).unwrap_or(inner.trim_start()));
            index += 1;
        }
        index += 1;
        let not_run_because = mark_in(&paragraph_before(&lines, start));
        found.push(Block {
            file: file.to_path_buf(),
            line: start + 1,
            tag: tag.trim().to_string(),
            text: body.join("\n") + "\n",
            not_run_because,
        });
    }
    found
}

/// Every inline code span outside fenced blocks, with its 1-based line.
pub fn inline_code(file: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut spans = Vec::new();
    let mut in_fence = false;
    for (number, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(span), Some(_)) = (parts.next(), parts.next()) {
            spans.push((number + 1, span.to_string()));
        }
    }
    spans
}
