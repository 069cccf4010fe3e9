//! `wire_request`: request bodies of the change API (`ChangeBatch`, `NoticeBatch`,
//! `ClientStatusReport`), decoded and validated exactly as the server does.
//!
//! Properties: only the named refusals (`malformed_body`, `json_too_deep`, a `ProtoError`); no
//! refusal message quotes a password from the body; what is accepted is within the depth limit
//! and decodes again, unchanged, from its own encoding.

use pwsync_proto::{decode_json, json_depth, ChangeBatch, ClientStatusReport, NoticeBatch, MAX_JSON_DEPTH};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let passwords = passwords_in(data);
    let no_password_in = |message: &str| {
        for password in &passwords {
            assert!(!message.contains(password.as_str()), "a refusal quotes a password");
        }
    };
    if let Some(batch) = decode::<ChangeBatch>(data, &no_password_in) {
        if let Err(refusal) = batch.validate() {
            no_password_in(&refusal.to_string());
        }
        for change in &batch.changes {
            if let Err(refusal) = change.validate() {
                no_password_in(&refusal.to_string());
            }
            let _ = change.account_key();
        }
    }
    if let Some(batch) = decode::<NoticeBatch>(data, &no_password_in) {
        let _ = batch.validate();
        batch.notices.iter().for_each(|notice| drop(notice.account_key()));
    }
    if let Some(report) = decode::<ClientStatusReport>(data, &no_password_in) {
        let _ = report.validate();
    }
}

fn decode<T: DeserializeOwned + Serialize>(data: &[u8], no_password_in: &dyn Fn(&str)) -> Option<T> {
    match decode_json::<T>(data, MAX_JSON_DEPTH) {
        Ok(value) => {
            assert!(json_depth(data) <= MAX_JSON_DEPTH, "accepted a body deeper than the limit");
            let encoded = serde_json::to_string(&value).expect("a decoded document encodes");
            let again: T = decode_json(encoded.as_bytes(), MAX_JSON_DEPTH).expect("its own encoding decodes");
            assert!(
                serde_json::to_string(&again).expect("encodes") == encoded,
                "round trip changed the document"
            );
            Some(value)
        }
        Err(refusal) => {
            assert!(["malformed_body", "json_too_deep"].contains(&refusal.code()));
            no_password_in(&refusal.to_string());
            None
        }
    }
}

/// The values of every `"password"` key in `data` (if it is JSON at all) that could be told
/// apart in a message: long enough, not also a key (an unknown key is named in refusals), and
/// holding a character that no fixed message text has (a password "he password is empty" is
/// found in "the password is empty" without being quoted).
fn passwords_in(data: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return Vec::new() };
    let (mut passwords, mut keys) = (Vec::new(), Vec::new());
    collect(&value, &mut passwords, &mut keys);
    passwords.retain(|password: &String| {
        let distinctive = password.chars().any(|c| !c.is_ascii() || "!#$%&*+~^|".contains(c));
        password.chars().count() >= 8
            && distinctive
            && !keys.iter().any(|key: &String| key.contains(password.as_str()))
    });
    passwords
}

fn collect(value: &serde_json::Value, passwords: &mut Vec<String>, keys: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                keys.push(key.clone());
                if let (true, Some(text)) = (key == "password", inner.as_str()) {
                    passwords.push(text.to_string());
                }
                collect(inner, passwords, keys);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect(item, passwords, keys)),
        _ => {}
    }
}
