//! `payload_decode`: the opened payload's decoder on its own, fed the bytes that decryption
//! would yield. `record_open` reaches the same decoder only behind an X25519 agreement and an
//! AEAD per input (about 0.1 M executions in 90 s); without them the fuzzer runs the decoder
//! millions of times and reaches its deep branches (the UPN flag, every length prefix, the
//! password's NUL rule, trailing bytes).
//!
//! Properties: only the named `MalformedPayload` error; a payload that decodes is the one
//! canonical encoding of its change (encoding it again gives the same bytes); the error's text
//! quotes no field content. Never prints an input: it may hold a password.

use pwsync_seal::{decode_payload, encode_payload, OpenError};

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    match decode_payload(data) {
        Ok(change) => {
            let again = encode_payload(&change).expect("a decoded change must encode again");
            assert!(again.as_slice() == data, "a decoded payload is not re-encoded byte for byte");
        }
        Err(error @ OpenError::MalformedPayload { .. }) => {
            // Field names and problems only: no run of the input's printable bytes (the
            // password among them) may appear in the message.
            let message = error.to_string();
            for window in data.windows(12).filter(|window| window.iter().all(|b| b.is_ascii_alphanumeric())) {
                let text = std::str::from_utf8(window).expect("ASCII");
                assert!(!message.contains(text), "a payload error quotes the input");
            }
        }
        Err(other) => {
            panic!("the payload decoder gave a refusal other than malformed_payload: {}", other.code())
        }
    }
}
