//! The test vectors published in docs/spool-format.md, checked byte for byte: the document
//! is compiled into this test, so it cannot drift from the code.

use pwsync_seal::{open, read_header, seal_with_ephemeral, Change, ChangeId, Password, SecretKey};

const SPEC: &str = include_str!("../../../docs/spool-format.md");
const FENCE: &str = "```pwsync-test-vector";

/// One vector as written in the document.
struct Vector {
    fields: Vec<(String, String)>,
    record_hex: String,
}

impl Vector {
    fn get(&self, key: &str) -> &str {
        self.fields
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("vector lacks `{}`", key))
    }
}

/// Parses every ```pwsync-test-vector block: `key: value` lines, then `record:` followed by
/// indented hex lines.
fn vectors() -> Vec<Vector> {
    let mut vectors = Vec::new();
    let mut rest = SPEC;
    while let Some(start) = rest.find(FENCE) {
        let block = &rest[start + FENCE.len()..];
        let end = block.find("```").expect("unterminated vector block");
        let mut vector = Vector { fields: Vec::new(), record_hex: String::new() };
        let mut in_record = false;
        for line in block[..end].lines().filter(|line| !line.trim().is_empty()) {
            if in_record {
                assert!(line.starts_with("  "), "record lines are indented: {:?}", line);
                vector.record_hex.push_str(line.trim());
            } else if line == "record:" {
                in_record = true;
            } else {
                let (key, value) = line.split_once(": ").expect("`key: value` line");
                vector.fields.push((key.to_owned(), value.to_owned()));
            }
        }
        vectors.push(vector);
        rest = &block[end + 3..];
    }
    vectors
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex length");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{:02x}", byte)).collect()
}

fn array32(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&unhex(text));
    out
}

#[test]
fn the_document_publishes_at_least_three_vectors() {
    assert!(vectors().len() >= 3, "found {}", vectors().len());
}

#[test]
fn published_vectors_match_byte_for_byte() {
    for vector in vectors() {
        let name = vector.get("name");
        let secret = SecretKey::from_bytes(array32(vector.get("recipient_secret_key")));
        let public = secret.public_key();
        assert_eq!(hex(&public.to_bytes()), vector.get("recipient_public_key"), "{}", name);
        assert_eq!(public.key_id().to_string(), vector.get("key_id"), "{}", name);
        let change = Change {
            id: vector.get("change_id").parse::<ChangeId>().unwrap(),
            account: vector.get("account").to_owned(),
            upn: match vector.get("upn") {
                "(none)" => None,
                upn => Some(upn.to_owned()),
            },
            password: Password::new(vector.get("password").to_owned()),
            captured_at_ns: vector.get("captured_at_ns").parse().unwrap(),
            origin: vector.get("origin").to_owned(),
            origin_seq: vector.get("origin_seq").parse().unwrap(),
            source: vector.get("source").parse().unwrap(),
        };
        let ikm = array32(vector.get("ephemeral_ikm"));
        let record = seal_with_ephemeral(&change, public, &ikm).unwrap();
        assert_eq!(
            hex(&record),
            vector.record_hex,
            "vector {}: the document's record differs from what the code seals (computed \
             record shown on the left)",
            name
        );
        let header = read_header(&record).unwrap();
        assert_eq!(hex(&header.encapsulated_key), vector.get("encapsulated_key"), "{}", name);
        let opened = open(&unhex(&vector.record_hex), std::slice::from_ref(&secret)).unwrap();
        assert_eq!(opened.id, change.id, "{}", name);
        assert_eq!(opened.account, change.account, "{}", name);
        assert_eq!(opened.upn, change.upn, "{}", name);
        assert!(opened.password.expose() == change.password.expose(), "{}", name);
        assert_eq!(opened.captured_at_ns, change.captured_at_ns, "{}", name);
        assert_eq!(opened.origin, change.origin, "{}", name);
        assert_eq!(opened.origin_seq, change.origin_seq, "{}", name);
        assert_eq!(opened.source, change.source, "{}", name);
    }
}
