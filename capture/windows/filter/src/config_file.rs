//! The fallback configuration file `pwsync-filter.conf` next to the DLL: its text format
//! and its parser.
//!
//! Format: one `Name = value` per line, names as the registry values (case-insensitive, like
//! registry value names), blank lines and lines starting with `#` or `;` ignored, UTF-8
//! (with or without a byte order mark) or UTF-16LE with a byte order mark (what Notepad
//! writes as "Unicode"). Values are taken verbatim after trimming, so paths need no quoting
//! or escaping. The parser must never guess: a line that is not a setting or a comment is
//! an error naming its line number; which names are allowed is decided by `settings`.

use std::path::{Path, PathBuf};

/// Name of the file, looked for in the DLL's directory.
pub const FILE_NAME: &str = "pwsync-filter.conf";

/// Why the file's text was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigFileError {
    /// Neither UTF-8 nor UTF-16LE with a byte order mark.
    #[error("file {path} is neither UTF-8 nor UTF-16LE with a byte order mark; save it as UTF-8")]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// A line that is neither blank, a comment, nor `Name = value`.
    #[error(
        "file {path}, line {line}: expected `Name = value`, a comment starting with # or ;, or a blank line"
    )]
    MalformedLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
}

/// One `Name = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSetting {
    /// 1-based line number.
    pub line: usize,
    /// The name as written.
    pub name: String,
    /// The value, trimmed.
    pub value: String,
}

/// Decodes the file's bytes (UTF-8, UTF-8 with BOM, or UTF-16LE with BOM) into text.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<String, ConfigFileError> {
    let not_text = || ConfigFileError::NotText { path: path.to_owned() };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        if rest.len() % 2 != 0 {
            return Err(not_text());
        }
        let units: Vec<u16> = rest.chunks(2).map(|pair| u16::from_le_bytes([pair[0], pair[1]])).collect();
        return String::from_utf16(&units).map_err(|_| not_text());
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    String::from_utf8(bytes.to_vec()).map_err(|_| not_text())
}

/// The settings lines of `text`, in file order.
pub fn parse(path: &Path, text: &str) -> Result<Vec<FileSetting>, ConfigFileError> {
    let mut settings = Vec::new();
    for (index, raw_line) in text.lines().enumerate() {
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let malformed = || ConfigFileError::MalformedLine { path: path.to_owned(), line: index + 1 };
        let (name, value) = line.split_once('=').ok_or_else(malformed)?;
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(malformed());
        }
        settings.push(FileSetting { line: index + 1, name: name.to_owned(), value: value.trim().to_owned() });
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> PathBuf {
        PathBuf::from(r"C:\Windows\System32\pwsync-filter.conf")
    }

    #[test]
    fn reads_settings_comments_and_paths_verbatim() {
        let text = "# pwsync\r\n\r\n; also a comment\r\nSpoolDirectory = C:\\Program Data\\pwsync\\spool \r\nOrigin=dc1=east\n";
        assert_eq!(
            parse(&path(), text).unwrap(),
            vec![
                FileSetting {
                    line: 4,
                    name: "SpoolDirectory".to_owned(),
                    value: r"C:\Program Data\pwsync\spool".to_owned()
                },
                FileSetting { line: 5, name: "Origin".to_owned(), value: "dc1=east".to_owned() },
            ]
        );
    }

    #[test]
    fn a_line_without_equals_or_name_is_an_error_with_its_number() {
        for (text, line) in
            [("Origin = a\nSpoolDirectory C:\\x\n", 2), ("= value\n", 1), ("Spool Dir = x\n", 1)]
        {
            assert_eq!(
                parse(&path(), text),
                Err(ConfigFileError::MalformedLine { path: path(), line }),
                "{:?}",
                text
            );
        }
    }

    #[test]
    fn decodes_utf8_with_or_without_bom_and_utf16le_with_bom() {
        assert_eq!(decode(&path(), b"Origin = d\xc3\xa9").unwrap(), "Origin = dé");
        assert_eq!(decode(&path(), b"\xef\xbb\xbfOrigin = x").unwrap(), "Origin = x");
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in "Origin = é".encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(decode(&path(), &utf16).unwrap(), "Origin = é");
    }

    #[test]
    fn refuses_bytes_that_are_not_text() {
        for bytes in [&b"Origin = \xff\xfe\xfd"[..], &[0xFF, 0xFE, 0x41][..], &[0xFF, 0xFE, 0x00, 0xD8][..]] {
            assert_eq!(
                decode(&path(), bytes),
                Err(ConfigFileError::NotText { path: path() }),
                "{:x?}",
                bytes
            );
        }
    }
}
