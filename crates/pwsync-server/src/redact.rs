//! Scrubs a password out of text that came from outside: a script's output, a service's error
//! message. Targets echo what they were sent more often than one would hope.
//!
//! Everything a target returns passes through here before it reaches a log, the ledger or a
//! client. This module must never return text that still contains the secret.

/// Longest reason kept from a target, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Replaces every occurrence of `secret` in `text`, flattens control characters and truncates.
pub fn scrub(text: &str, secret: &str) -> String {
    let replaced = if secret.is_empty() { text.to_string() } else { text.replace(secret, "<redacted>") };
    let mut flat: String =
        replaced.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_REASON_CHARS).collect();
    // Truncation could leave the start of the secret at the end of the text.
    for cut in (1..secret.len()).rev() {
        if secret.is_char_boundary(cut) && cut >= 4 && flat.ends_with(&secret[..cut]) {
            flat.truncate(flat.len() - cut);
            flat.push_str("<redacted>");
            break;
        }
    }
    flat.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_every_occurrence() {
        let out = scrub("bad password 'Pässwörd-1' (Pässwörd-1)\nline", "Pässwörd-1");
        assert!(!out.contains("Pässwörd"));
        assert_eq!(out, "bad password '<redacted>' (<redacted>) line");
    }

    #[test]
    fn a_truncated_tail_of_the_secret_is_removed_too() {
        let secret = "pwsync-canary-abcdefgh";
        let text = format!("{}{}", "x".repeat(MAX_REASON_CHARS - 10), secret);
        let out = scrub(&text, secret);
        assert!(!out.contains("pwsync-can"), "{out}");
    }
}
