//! Scrubs a password out of text that came from outside: a script's output, a service's error
//! message. Targets echo what they were sent more often than one would hope.
//!
//! Everything a target returns passes through here before it reaches a log, the ledger or a
//! client. This module must never return text that still contains the secret, neither as it is
//! nor in any JSON-escaped form of it: an `exec` target's program receives the password inside a
//! JSON document, and a program that echoes that document prints the escaped form (`\"`, `\\`,
//! `\t`, `\u00e4`...), not the password byte for byte.

/// Longest reason kept from a target, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// What every removed copy of the secret is replaced with.
const REDACTED: &str = "<redacted>";

/// A beginning of the secret left at the end of a truncated text is removed once it is at least
/// this many bytes of the secret long; a shorter one is too likely to be ordinary text.
const MIN_TAIL_BYTES: usize = 4;

/// Replaces every occurrence of `secret` in `text` — as it is, and in any JSON string escaping
/// (the short escapes, `\uXXXX` in either case, surrogate pairs, any mix of them), as any JSON
/// serializer may write it — then truncates to [`MAX_REASON_CHARS`], removes a beginning of the
/// secret (in any of these forms) left at the cut, and flattens control characters to spaces.
pub fn scrub(text: &str, secret: &str) -> String {
    let mut kept = if secret.is_empty() {
        text.to_string()
    } else {
        redact_json_escaped(&text.replace(secret, REDACTED), secret)
    };
    if let Some((cut, _)) = kept.char_indices().nth(MAX_REASON_CHARS) {
        kept.truncate(cut);
    }
    // Truncation (here, or by the target itself) can leave the start of the secret at the end.
    // This runs before control characters are flattened, so a secret holding one still matches.
    if let Some(start) = raw_tail_start(&kept, secret).or_else(|| escaped_tail_start(&kept, secret)) {
        kept.truncate(start);
        kept.push_str(REDACTED);
    }
    let flat: String = kept.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    flat.trim().to_string()
}

/// Where a beginning of the secret, as it is, ends the text.
fn raw_tail_start(text: &str, secret: &str) -> Option<usize> {
    (MIN_TAIL_BYTES..secret.len())
        .rev()
        .find(|&cut| secret.is_char_boundary(cut) && text.ends_with(&secret[..cut]))
        .map(|cut| text.len() - cut)
}

/// One character of a text read as the inside of a JSON string: the bytes of the text from
/// `start` to the next unit's start stand for `decoded`, literally or as an escape sequence.
struct Unit {
    start: usize,
    decoded: char,
}

/// The text read as the inside of a JSON string, and the escape sequence cut short by the end
/// of the text, if any (its start). A backslash that starts no valid escape stands for itself,
/// so any text can be read.
fn json_units(text: &str) -> (Vec<Unit>, Option<usize>) {
    let bytes = text.as_bytes();
    let mut units = Vec::with_capacity(text.len());
    let mut position = 0;
    while position < text.len() {
        let literal = text[position..].chars().next().expect("position is a char boundary");
        let (length, decoded) = if literal == '\\' {
            match read_escape(bytes, position) {
                Escape::Complete { length, decoded } => (length, decoded),
                Escape::CutShort => return (units, Some(position)),
                Escape::Invalid => (1, '\\'),
            }
        } else {
            (literal.len_utf8(), literal)
        };
        units.push(Unit { start: position, decoded });
        position += length;
    }
    (units, None)
}

enum Escape {
    Complete {
        length: usize,
        decoded: char,
    },
    /// The text ends inside what could still become a valid escape.
    CutShort,
    Invalid,
}

/// Reads the escape sequence starting with the backslash at `bytes[start]`.
fn read_escape(bytes: &[u8], start: usize) -> Escape {
    let Some(&kind) = bytes.get(start + 1) else { return Escape::CutShort };
    let short = match kind {
        b'"' => Some('"'),
        b'\\' => Some('\\'),
        b'/' => Some('/'),
        b'b' => Some('\u{8}'),
        b'f' => Some('\u{c}'),
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        b't' => Some('\t'),
        _ => None,
    };
    if let Some(decoded) = short {
        return Escape::Complete { length: 2, decoded };
    }
    if kind != b'u' {
        return Escape::Invalid;
    }
    let first = match read_hex4(bytes, start + 2) {
        Hex::Value(value) => value,
        Hex::CutShort => return Escape::CutShort,
        Hex::Invalid => return Escape::Invalid,
    };
    if let Some(decoded) = char::from_u32(first) {
        return Escape::Complete { length: 6, decoded };
    }
    if !(0xD800..0xDC00).contains(&first) {
        return Escape::Invalid; // a low surrogate alone
    }
    // A high surrogate: a character beyond U+FFFF, if a low surrogate follows.
    match (bytes.get(start + 6), bytes.get(start + 7)) {
        (None, _) | (Some(b'\\'), None) => return Escape::CutShort,
        (Some(b'\\'), Some(b'u')) => {}
        _ => return Escape::Invalid,
    }
    match read_hex4(bytes, start + 8) {
        Hex::Value(second) if (0xDC00..0xE000).contains(&second) => {
            let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
            match char::from_u32(code) {
                Some(decoded) => Escape::Complete { length: 12, decoded },
                None => Escape::Invalid,
            }
        }
        Hex::CutShort => Escape::CutShort,
        _ => Escape::Invalid,
    }
}

enum Hex {
    Value(u32),
    CutShort,
    Invalid,
}

/// Reads four hex digits (either case) at `bytes[start..]`.
fn read_hex4(bytes: &[u8], start: usize) -> Hex {
    let mut value = 0;
    for offset in 0..4 {
        let Some(&byte) = bytes.get(start + offset) else { return Hex::CutShort };
        let Some(digit) = (byte as char).to_digit(16) else { return Hex::Invalid };
        value = value * 16 + digit;
    }
    Hex::Value(value)
}

/// The text as decoded characters, with the text offset where each decoded byte's character
/// starts (plus one entry for the end), so that a match can be mapped back.
fn decode(units: &[Unit], text_end: usize) -> (String, Vec<usize>) {
    let mut decoded = String::with_capacity(units.len());
    let mut text_offset = Vec::with_capacity(units.len() + 1);
    for unit in units {
        decoded.push(unit.decoded);
        text_offset.extend(std::iter::repeat_n(unit.start, unit.decoded.len_utf8()));
    }
    text_offset.push(text_end);
    (decoded, text_offset)
}

/// Replaces every JSON-escaped copy of the secret. Text without a backslash holds none (the
/// literal copies are already gone), which spares the work for nearly every text.
fn redact_json_escaped(text: &str, secret: &str) -> String {
    if !text.contains('\\') {
        return text.to_string();
    }
    let (units, cut_short) = json_units(text);
    let decoded_end = cut_short.unwrap_or(text.len());
    let (decoded, text_offset) = decode(&units, decoded_end);
    let mut scrubbed = String::with_capacity(text.len());
    let mut copied_to = 0;
    for (start, found) in decoded.match_indices(secret) {
        scrubbed.push_str(&text[copied_to..text_offset[start]]);
        scrubbed.push_str(REDACTED);
        copied_to = text_offset[start + found.len()];
    }
    scrubbed.push_str(&text[copied_to..]);
    scrubbed
}

/// Where a beginning of the secret, in any JSON-escaped form, ends the text — possibly with an
/// escape sequence cut short (`\`, `\u00`) standing for the secret's next character.
fn escaped_tail_start(text: &str, secret: &str) -> Option<usize> {
    if !text.contains('\\') {
        return None;
    }
    let (units, cut_short) = json_units(text);
    let (decoded, text_offset) = decode(&units, cut_short.unwrap_or(text.len()));
    (0..secret.len()).rev().filter(|&cut| secret.is_char_boundary(cut)).find_map(|cut| {
        let prefix = &secret[..cut];
        // The bytes of the secret the tail gives away, the character cut short included.
        let covered = match cut_short {
            Some(_) => cut + secret[cut..].chars().next().map_or(0, char::len_utf8),
            None => cut,
        };
        if covered < MIN_TAIL_BYTES || !decoded.ends_with(prefix) {
            return None;
        }
        let start = decoded.len() - prefix.len();
        Some(if prefix.is_empty() { cut_short.unwrap_or(text.len()) } else { text_offset[start] })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The secret as serde_json writes it inside a JSON string (the exec target's stdin).
    fn serde_escaped(secret: &str) -> String {
        let quoted = serde_json::to_string(secret).unwrap();
        quoted[1..quoted.len() - 1].to_string()
    }

    /// The secret with every non-ASCII character as `\uXXXX` (surrogate pairs beyond U+FFFF),
    /// as Python's `json.dumps` writes it by default.
    fn ascii_escaped(secret: &str, uppercase: bool) -> String {
        let mut out = String::new();
        for c in serde_escaped(secret).chars() {
            if c.is_ascii() {
                out.push(c);
                continue;
            }
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&if uppercase { format!("\\u{unit:04X}") } else { format!("\\u{unit:04x}") });
            }
        }
        out
    }

    const SECRETS: [&str; 5] =
        ["Pa\"ss\\word-1!", "Tab\there", "Pässwörd-密码", "Key🔑-\u{1}-/x", "plain-Secret-9"];

    #[test]
    fn removes_every_occurrence() {
        let out = scrub("bad password 'Pässwörd-1' (Pässwörd-1)\nline", "Pässwörd-1");
        assert!(!out.contains("Pässwörd"));
        assert_eq!(out, "bad password '<redacted>' (<redacted>) line");
    }

    #[test]
    fn the_escaped_forms_really_differ_from_the_secret() {
        // Guards the tests below: they would prove nothing if the forms were the secret itself.
        for secret in &SECRETS[..4] {
            assert!(!ascii_escaped(secret, false).contains(secret), "{secret:?}");
        }
        assert_eq!(serde_escaped("Pa\"ss\\word-1!"), r#"Pa\"ss\\word-1!"#);
        assert_eq!(serde_escaped("Tab\there"), r"Tab\there");
    }

    #[test]
    fn the_json_escaped_forms_are_removed() {
        for secret in SECRETS {
            for form in [serde_escaped(secret), ascii_escaped(secret, false), ascii_escaped(secret, true)] {
                let document = format!(r#"{{"account":"alice","password":"{form}","origin":"dc1"}}"#);
                let out = scrub(&format!("echo: {document} and again {form}."), secret);
                assert_eq!(
                    out,
                    r#"echo: {"account":"alice","password":"<redacted>","origin":"dc1"} and again <redacted>."#,
                    "{secret:?} as {form}"
                );
            }
        }
    }

    #[test]
    fn a_mix_of_escaped_and_literal_characters_is_removed() {
        // \u0050 is 'P', \/ is '/', hex digits of either case: every JSON escape counts.
        let out = scrub(r"x \u0050\u00E4ssw\u00f6rd-\u5bc6码 y", "Pässwörd-密码");
        assert_eq!(out, "x <redacted> y");
        let out = scrub(r"x Key\ud83d\udd11-\u0001-\/x y", "Key🔑-\u{1}-/x");
        assert_eq!(out, "x <redacted> y");
    }

    #[test]
    fn backslashes_that_are_not_the_secret_are_left_alone() {
        let text = r#"C:\new\path \"quoted\" \u00e4 \ud800 \x trailing\"#;
        assert_eq!(scrub(text, "other-secret"), text);
        let text = r"C:\temp\u12";
        assert_eq!(scrub(text, "other-secret"), text);
    }

    #[test]
    fn a_truncated_tail_of_the_secret_is_removed_too() {
        let secret = "pwsync-canary-abcdefgh";
        // Not the whole secret (that would be replaced before the cut): its beginning at the cut.
        let text = format!("{}{}-and-then-more", "x".repeat(MAX_REASON_CHARS - 10), &secret[..10]);
        let out = scrub(&text, secret);
        assert!(!out.contains("pwsync-can"), "{out}");
        assert!(out.ends_with(REDACTED), "{out}");
        let out = scrub("the text ends with pwsync-cana", secret);
        assert_eq!(out, "the text ends with <redacted>");
    }

    #[test]
    fn a_truncated_tail_of_an_escaped_form_is_removed_too() {
        for secret in ["Pa\"ss\\word-1!-and-more", "Pässwörd-密码-and-more", "Tab\there-and-more"] {
            for form in [serde_escaped(secret), ascii_escaped(secret, false), ascii_escaped(secret, true)] {
                // Every cut from 12 bytes on (at least 4 bytes of the secret), including those
                // inside an escape sequence (`\`, `\u00`, `\u00e`).
                for kept in 12..form.len() {
                    if !form.is_char_boundary(kept) {
                        continue;
                    }
                    let filler = "x".repeat(MAX_REASON_CHARS - form[..kept].chars().count());
                    let text = format!("{filler}{}<not the rest>", &form[..kept]);
                    let out = scrub(&text, secret);
                    assert_eq!(out, format!("{filler}{REDACTED}"), "{secret:?} cut to {:?}", &form[..kept]);
                    let out = scrub(&format!("ends with {}", &form[..kept]), secret);
                    assert_eq!(
                        out,
                        format!("ends with {REDACTED}"),
                        "{secret:?} ending in {:?}",
                        &form[..kept]
                    );
                }
            }
        }
    }

    #[test]
    fn a_tail_shorter_than_four_bytes_of_the_secret_stays() {
        assert_eq!(scrub("ends with Pa\\\"", "Pa\"ss-word"), "ends with Pa\\\"");
    }

    #[test]
    fn control_characters_are_flattened_and_length_is_capped() {
        let out = scrub(&format!("a\tb\nc{}", "y".repeat(2 * MAX_REASON_CHARS)), "unrelated");
        assert!(out.starts_with("a b c"), "{out}");
        assert_eq!(out.chars().count(), MAX_REASON_CHARS);
    }
}
