//! Keeps `docs/api/openapi.yaml` honest: the document is compiled into this test and checked
//! against the wire types and limits of this crate, so a field, verdict, error code or limit
//! cannot change here without the document changing too.
//!
//! Field names are taken from serialising fully populated values, not from a list written
//! here, and length limits are found by probing `WireChange::validate`, so that a new field or
//! a changed limit fails this test. The YAML is read with plain string search (no YAML crate):
//! the document keeps the usual two-space indentation, which `section` relies on. This test
//! must never put a real password into the document or its messages.

use std::collections::BTreeSet;

use pwsync_proto::{
    ApiError, ChangeBatch, Identity, Notice, NoticeBatch, NoticeKind, NoticeReceipt, ProtoError,
    SecretString, Verdict, VerdictEntry, WireChange, CHANGES_PATH, HEALTH_PATH, MAX_ACCOUNT_BYTES,
    MAX_BATCH_CHANGES, MAX_BODY_BYTES, MAX_PASSWORD_BYTES, NOTICES_PATH,
};

const SPEC: &str = include_str!("../../../docs/api/openapi.yaml");

/// The error code the server's API layer uses for a body that does not parse as a `ChangeBatch`
/// (crates/pwsync-server/src/api.rs; not a `ProtoError`).
const MALFORMED_BODY: &str = "malformed_body";

/// The error code the server's API layer uses for a body larger than `MAX_BODY_BYTES`, with
/// status 413 (crates/pwsync-server/src/api.rs; not a `ProtoError`).
const BODY_TOO_LARGE: &str = "body_too_large";

/// The error code the server's API layer uses for a body that did not arrive in time, with
/// status 408 (crates/pwsync-server/src/api.rs; not a `ProtoError`).
const BODY_TIMEOUT: &str = "body_timeout";

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// True when `line` is the mapping key `key` (`key:` alone or followed by a value).
fn is_key(line: &str, key: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.strip_prefix(key).is_some_and(|rest| rest == ":" || rest.starts_with(": "))
}

/// The lines nested under the mapping key `path` (one indentation level of two spaces per
/// step), found by indentation alone.
fn section(path: &[&str]) -> Vec<&'static str> {
    let mut lines: Vec<&'static str> = SPEC.lines().collect();
    for (depth, key) in path.iter().enumerate() {
        let level = depth * 2;
        let start = lines
            .iter()
            .position(|line| indentation(line) == level && is_key(line, key))
            .unwrap_or_else(|| panic!("openapi.yaml has no `{}`", path[..=depth].join(".")));
        lines = lines[start + 1..]
            .iter()
            .take_while(|line| line.trim().is_empty() || indentation(line) > level)
            .copied()
            .collect();
    }
    lines
}

/// The keys directly under `path` (the next indentation level), comments skipped.
fn keys_under(path: &[&str]) -> BTreeSet<String> {
    let level = path.len() * 2;
    section(path)
        .into_iter()
        .filter(|line| indentation(line) == level && !line.trim_start().starts_with('#'))
        .filter_map(|line| line.trim().split(':').next())
        .map(|key| key.trim_matches('\'').to_string())
        .collect()
}

/// The property names a schema of `components.schemas` declares.
fn schema_properties(schema: &str) -> BTreeSet<String> {
    keys_under(&["components", "schemas", schema, "properties"])
}

/// The lines describing one property of a schema.
fn property(schema: &str, name: &str) -> String {
    section(&["components", "schemas", schema, "properties", name]).join("\n")
}

/// The keys of a JSON object.
fn json_keys(value: &serde_json::Value) -> BTreeSet<String> {
    value.as_object().expect("a JSON object").keys().cloned().collect()
}

fn full_identity() -> Identity {
    Identity {
        user_principal_name: Some("alice@corp.example".into()),
        mail: Some("alice@corp.example".into()),
        object_guid: Some("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into()),
        distinguished_name: Some("CN=alice,DC=corp,DC=example".into()),
    }
}

fn sample_change() -> WireChange {
    WireChange {
        id: "0123456789abcdef0123456789abcdef".into(),
        domain: "corp.example".into(),
        account: "alice".into(),
        identity: full_identity(),
        password: SecretString::new("not-a-real-password".into()),
        captured_at_ns: 1_700_000_000_000_000_000,
        origin: "dc1".into(),
        origin_seq: 7,
        source: "generic".into(),
        operator_retry: true,
        directory_version: Some(7),
    }
}

/// One value of every verdict, each with its optional fields set. The `match` makes a new
/// variant fail to compile here until it is added (and documented).
fn every_verdict() -> Vec<Verdict> {
    let all = vec![
        Verdict::Applied,
        Verdict::Superseded { by: Some("fedcba9876543210fedcba9876543210".into()) },
        Verdict::OutOfScope { reason: "not in the scope".into() },
        Verdict::Rejected { reason: "refused".into() },
        Verdict::Retry { after_ms: 5_000, reason: "busy".into() },
    ];
    for verdict in &all {
        match verdict {
            Verdict::Applied
            | Verdict::Superseded { .. }
            | Verdict::OutOfScope { .. }
            | Verdict::Rejected { .. }
            | Verdict::Retry { .. } => {}
        }
    }
    all
}

/// One value of every `ProtoError`, split into the errors of a whole batch (a 400 answer) and
/// those of one change (a `rejected` verdict). The `match` makes a new variant fail to compile
/// here until it is sorted into one of the two.
fn every_proto_error() -> (Vec<ProtoError>, Vec<ProtoError>) {
    let all = vec![
        ProtoError::EmptyBatch,
        ProtoError::BatchTooLarge { max: MAX_BATCH_CHANGES },
        ProtoError::BadChangeId,
        ProtoError::BadDomain,
        ProtoError::FieldLength { field: "account", min: 1, max: MAX_ACCOUNT_BYTES },
        ProtoError::ControlCharacter { field: "account" },
        ProtoError::EmptyPassword,
        ProtoError::PasswordTooLong { max: MAX_PASSWORD_BYTES },
        ProtoError::PasswordHasNul,
        ProtoError::BadCaptureTime,
    ];
    let (mut batch, mut change) = (Vec::new(), Vec::new());
    for error in all {
        match error {
            ProtoError::EmptyBatch | ProtoError::BatchTooLarge { .. } => batch.push(error),
            ProtoError::BadChangeId
            | ProtoError::BadDomain
            | ProtoError::FieldLength { .. }
            | ProtoError::ControlCharacter { .. }
            | ProtoError::EmptyPassword
            | ProtoError::PasswordTooLong { .. }
            | ProtoError::PasswordHasNul
            | ProtoError::BadCaptureTime => change.push(error),
        }
    }
    (batch, change)
}

/// The longest value `set` can put into a change that still validates, found by trying
/// `unit(n)` for n = 1, 2, ... up to `ceiling` until one is refused.
fn longest_accepted(
    set: impl Fn(&mut WireChange, String),
    unit: impl Fn(usize) -> String,
    ceiling: usize,
) -> usize {
    let accepts = |length: usize| {
        let mut change = sample_change();
        set(&mut change, unit(length));
        change.validate().is_ok()
    };
    assert!(accepts(1), "a one-unit value is refused");
    let first_refused =
        (2..=ceiling).find(|&length| !accepts(length)).unwrap_or_else(|| panic!("no limit up to {ceiling}"));
    assert!(!accepts(first_refused + 1), "the limit is not a simple maximum");
    first_refused - 1
}

fn letters(length: usize) -> String {
    "a".repeat(length)
}

#[test]
fn the_document_is_openapi_3_1_with_both_paths() {
    assert!(SPEC.starts_with("openapi: 3.1.") || SPEC.contains("\nopenapi: 3.1."), "not OpenAPI 3.1");
    let paths = keys_under(&["paths"]);
    let expected: BTreeSet<String> =
        [CHANGES_PATH, NOTICES_PATH, HEALTH_PATH, pwsync_proto::CLIENT_STATUS_PATH]
            .iter()
            .map(|path| path.to_string())
            .collect();
    assert_eq!(paths, expected, "the document's paths differ from the API's");
    assert!(section(&["paths", CHANGES_PATH]).iter().any(|line| is_key(line, "post")));
    assert!(section(&["paths", HEALTH_PATH]).iter().any(|line| is_key(line, "get")));
    assert!(section(&["paths", NOTICES_PATH]).iter().any(|line| is_key(line, "post")));
}

#[test]
fn every_field_of_a_notice_is_documented() {
    let notice = Notice {
        id: "0123456789abcdef0123456789abcdef".into(),
        domain: "corp.example".into(),
        account: "WS01$".into(),
        captured_at_ns: 1,
        origin: "dc1".into(),
        kind: NoticeKind::NotCommitted,
        reason: "r".into(),
    };
    let json = serde_json::to_value(&notice).unwrap();
    assert_eq!(schema_properties("Notice"), json_keys(&json), "Notice properties");
    let batch = serde_json::to_value(NoticeBatch { notices: vec![notice] }).unwrap();
    assert_eq!(schema_properties("NoticeBatch"), json_keys(&batch), "NoticeBatch properties");
    let receipt = serde_json::to_value(NoticeReceipt { recorded: vec![] }).unwrap();
    assert_eq!(schema_properties("NoticeReceipt"), json_keys(&receipt), "NoticeReceipt properties");
    let kinds = property("Notice", "kind");
    for kind in [NoticeKind::OutOfScope, NoticeKind::NotCommitted] {
        assert!(kinds.contains(kind.event()), "kind {} is not documented", kind.event());
    }
}

#[test]
fn security_is_mutual_tls_bound_to_domains() {
    let scheme = section(&["components", "securitySchemes", "mutualTLS"]).join("\n");
    assert!(scheme.contains("type: mutualTLS"), "{scheme}");
    // The prefix of pwsync_tls::DOMAIN_URI_PREFIX (that crate is not a dependency of this one).
    assert!(scheme.contains("urn:pwsync:domain:<domain>"), "the domain binding is not described");
    assert!(SPEC.contains("\nsecurity:\n  - mutualTLS: []"), "mutualTLS is not required globally");
}

#[test]
fn every_field_of_a_change_and_its_identity_is_documented() {
    let change = serde_json::to_value(sample_change()).unwrap();
    assert_eq!(schema_properties("WireChange"), json_keys(&change), "WireChange properties");
    let batch = serde_json::to_value(ChangeBatch { changes: vec![sample_change()] }).unwrap();
    assert_eq!(schema_properties("ChangeBatch"), json_keys(&batch), "ChangeBatch properties");
    let identity = serde_json::to_value(full_identity()).unwrap();
    assert_eq!(schema_properties("Identity"), json_keys(&identity), "Identity properties");

    // Required keys: exactly those a change cannot be parsed without.
    let documented_required: BTreeSet<String> = section(&["components", "schemas", "WireChange"])
        .into_iter()
        .find(|line| indentation(line) == 6 && is_key(line, "required"))
        .and_then(|line| line.trim().strip_prefix("required: [")?.strip_suffix(']'))
        .expect("WireChange lists its required keys as `required: [a, b]`")
        .split(", ")
        .map(str::to_string)
        .collect();
    let parser_required: BTreeSet<String> = json_keys(&change)
        .into_iter()
        .filter(|key| {
            let mut without = change.clone();
            without.as_object_mut().unwrap().remove(key);
            serde_json::from_value::<WireChange>(without).is_err()
        })
        .collect();
    assert_eq!(documented_required, parser_required, "required keys of WireChange");
    for schema in ["ChangeBatch", "WireChange", "Identity", "BatchVerdicts"] {
        let lines = section(&["components", "schemas", schema]);
        assert!(
            lines.iter().any(|line| line.trim() == "additionalProperties: false"),
            "{schema} refuses unknown keys (deny_unknown_fields) but the document does not say so"
        );
    }
}

#[test]
fn every_verdict_is_in_the_tagged_union_with_its_fields() {
    let mapping = keys_under(&["components", "schemas", "VerdictEntry", "discriminator", "mapping"]);
    let names: BTreeSet<String> = every_verdict().iter().map(|verdict| verdict.name().to_string()).collect();
    assert_eq!(mapping, names, "the discriminator mapping differs from the verdicts");
    assert!(section(&["components", "schemas", "VerdictEntry", "discriminator"])
        .iter()
        .any(|line| line.trim() == "propertyName: verdict"));

    for verdict in every_verdict() {
        let name = verdict.name();
        let entry =
            serde_json::to_value(VerdictEntry { id: "0123456789abcdef0123456789abcdef".into(), verdict })
                .unwrap();
        assert_eq!(entry["verdict"], name, "the JSON tag of {name}");
        let target = section(&["components", "schemas", "VerdictEntry", "discriminator", "mapping"])
            .into_iter()
            .find(|line| is_key(line, name))
            .unwrap();
        let schema = target.rsplit('/').next().unwrap().trim_matches('\'').to_string();
        let declared = schema_properties(&schema);
        assert_eq!(declared, json_keys(&entry), "properties of {schema} ({name})");
        assert!(
            property(&schema, "verdict").contains(&format!("const: {name}")),
            "{schema} is tagged {name}"
        );
    }
}

#[test]
fn the_answer_and_error_bodies_are_documented() {
    let answer = serde_json::to_value(pwsync_proto::BatchVerdicts { verdicts: vec![] }).unwrap();
    assert_eq!(schema_properties("BatchVerdicts"), json_keys(&answer));
    let error = serde_json::to_value(ApiError::new("empty_batch", "the batch holds no change")).unwrap();
    assert_eq!(schema_properties("ApiError"), json_keys(&error));
    assert_eq!(schema_properties("ApiErrorBody"), json_keys(&error["error"]));
}

#[test]
fn every_batch_error_code_has_a_400_example_and_every_change_error_code_is_named() {
    let bad_request = section(&["paths", CHANGES_PATH, "post", "responses", "'400'"]).join("\n");
    let (batch_errors, change_errors) = every_proto_error();
    for error in &batch_errors {
        let code = error.code();
        assert!(bad_request.contains(&format!("code: {code}")), "no 400 example for `{code}`");
        assert!(
            bad_request.contains(&format!("message: {error}")),
            "the 400 example of `{code}` has another message"
        );
        assert!(
            property("ApiErrorBody", "code").contains(&format!("`{code}`")),
            "ApiErrorBody.code omits `{code}`"
        );
    }
    let too_deep = pwsync_proto::DecodeError::TooDeep { max: pwsync_proto::MAX_JSON_DEPTH };
    for code in [MALFORMED_BODY, too_deep.code()] {
        assert!(bad_request.contains(&format!("code: {code}")), "no 400 example for `{code}`");
        assert!(
            property("ApiErrorBody", "code").contains(&format!("`{code}`")),
            "ApiErrorBody.code omits `{code}`"
        );
    }
    assert!(
        bad_request.contains(&format!("message: {too_deep}")),
        "the 400 example of json_too_deep has another message"
    );

    let change_schema = section(&["components", "schemas", "WireChange"]).join("\n");
    for error in &change_errors {
        assert!(
            change_schema.contains(&format!("`{}`", error.code())),
            "WireChange omits `{}`",
            error.code()
        );
    }
}

#[test]
fn the_public_limits_appear_with_their_values() {
    for (name, value) in [
        ("MAX_BATCH_CHANGES", MAX_BATCH_CHANGES),
        ("MAX_BODY_BYTES", MAX_BODY_BYTES),
        ("MAX_ACCOUNT_BYTES", MAX_ACCOUNT_BYTES),
        ("MAX_PASSWORD_BYTES", MAX_PASSWORD_BYTES),
    ] {
        assert!(
            SPEC.contains(&format!("`{name} = {value}`")),
            "the document does not state `{name} = {value}`"
        );
    }
    let changes = section(&["components", "schemas", "ChangeBatch", "properties", "changes"]).join("\n");
    assert!(changes.contains(&format!("maxItems: {MAX_BATCH_CHANGES}")), "{changes}");
    assert!(changes.contains("minItems: 1"));
    let too_large = section(&["paths", CHANGES_PATH, "post", "responses", "'413'"]).join("\n");
    assert!(too_large.contains(&MAX_BODY_BYTES.to_string()), "the 413 answer does not name the limit");
}

#[test]
fn the_408_answer_is_a_json_api_error_with_its_code() {
    let timeout = section(&["paths", CHANGES_PATH, "post", "responses", "'408'"]).join("\n");
    assert!(timeout.contains("$ref: '#/components/schemas/ApiError'"), "{timeout}");
    assert!(timeout.contains(&format!("code: {BODY_TIMEOUT}")), "no 408 example for `{BODY_TIMEOUT}`");
    assert!(property("ApiErrorBody", "code").contains(&format!("`{BODY_TIMEOUT}`")));
}

#[test]
fn the_413_answer_is_a_json_api_error_with_its_code() {
    let too_large = section(&["paths", CHANGES_PATH, "post", "responses", "'413'"]);
    let content = keys_under(&["paths", CHANGES_PATH, "post", "responses", "'413'", "content"]);
    let expected: BTreeSet<String> = ["application/json".to_string()].into();
    assert_eq!(content, expected, "the 413 answer's media types");
    let text = too_large.join("\n");
    assert!(text.contains("$ref: '#/components/schemas/ApiError'"), "{text}");
    assert!(text.contains(&format!("code: {BODY_TOO_LARGE}")), "no 413 example for `{BODY_TOO_LARGE}`");
    assert!(
        property("ApiErrorBody", "code").contains(&format!("`{BODY_TOO_LARGE}`")),
        "ApiErrorBody.code omits `{BODY_TOO_LARGE}`"
    );
    let api_error = section(&["components", "schemas", "ApiError"]).join("\n");
    assert!(api_error.contains("413"), "the ApiError schema does not say it is the 413 body");
}

#[test]
fn documented_length_limits_are_the_ones_validation_enforces() {
    let checks: Vec<(&str, &str, usize)> = vec![
        ("WireChange", "account", longest_accepted(|c, v| c.account = v, letters, 10_000)),
        ("WireChange", "origin", longest_accepted(|c, v| c.origin = v, letters, 10_000)),
        ("WireChange", "source", longest_accepted(|c, v| c.source = v, letters, 10_000)),
        (
            "WireChange",
            "password",
            longest_accepted(|c, v| c.password = SecretString::new(v), letters, 10_000),
        ),
        // Domains of one-letter labels: n labels make "a.a.a" of 2n - 1 bytes.
        (
            "WireChange",
            "domain",
            longest_accepted(|c, v| c.domain = v, |n| vec!["a"; n].join("."), 5_000) * 2 - 1,
        ),
        (
            "Identity",
            "user_principal_name",
            longest_accepted(|c, v| c.identity.user_principal_name = Some(v), letters, 10_000),
        ),
        ("Identity", "mail", longest_accepted(|c, v| c.identity.mail = Some(v), letters, 10_000)),
        (
            "Identity",
            "object_guid",
            longest_accepted(|c, v| c.identity.object_guid = Some(v), letters, 10_000),
        ),
        (
            "Identity",
            "distinguished_name",
            longest_accepted(|c, v| c.identity.distinguished_name = Some(v), letters, 10_000),
        ),
    ];
    for (schema, name, longest) in checks {
        let documented = property(schema, name);
        assert!(
            documented.contains(&format!("maxLength: {longest}")),
            "{schema}.{name}: validation accepts at most {longest} bytes but the document says otherwise"
        );
        assert!(documented.contains("minLength: 1"), "{schema}.{name}: an empty value is refused");
    }
    assert_eq!(MAX_ACCOUNT_BYTES, longest_accepted(|c, v| c.account = v, letters, 10_000));
    assert_eq!(
        MAX_PASSWORD_BYTES,
        longest_accepted(|c, v| c.password = SecretString::new(v), letters, 10_000)
    );
}

#[test]
fn documented_value_rules_match_validation() {
    let id = property("WireChange", "id");
    assert!(id.contains("pattern: '^[0-9a-f]{32}$'"), "{id}");
    let mut change = sample_change();
    change.id = change.id.to_uppercase();
    assert_eq!(change.validate(), Err(ProtoError::BadChangeId));

    let captured = property("WireChange", "captured_at_ns");
    assert!(captured.contains("minimum: 1"), "{captured}");
    let mut change = sample_change();
    change.captured_at_ns = 1;
    assert!(change.validate().is_ok());
    change.captured_at_ns = 0;
    assert_eq!(change.validate(), Err(ProtoError::BadCaptureTime));

    assert!(property("WireChange", "operator_retry").contains("default: false"));
    let mut json = serde_json::to_value(sample_change()).unwrap();
    json.as_object_mut().unwrap().remove("operator_retry");
    assert!(!serde_json::from_value::<WireChange>(json).unwrap().operator_retry);
}

#[test]
fn the_client_status_report_and_answer_are_documented() {
    assert!(section(&["paths", pwsync_proto::CLIENT_STATUS_PATH]).iter().any(|line| is_key(line, "post")));
    let report = pwsync_proto::ClientStatusReport {
        version: "0.1.0".into(),
        spool_depth: 1,
        oldest_pending_captured_at_ns: Some(1),
        failed: 1,
        failed_ids: vec!["0".repeat(32)],
    };
    assert!(report.validate().is_ok());
    assert_eq!(schema_properties("ClientStatusReport"), json_keys(&serde_json::to_value(&report).unwrap()));
    let answer = pwsync_proto::ClientStatusAnswer { retry: vec![] };
    assert_eq!(schema_properties("ClientStatusAnswer"), json_keys(&serde_json::to_value(&answer).unwrap()));
    let limit = pwsync_proto::MAX_VERSION_BYTES;
    assert!(property("ClientStatusReport", "version").contains(&format!("maxLength: {limit}")));
    let too_long = pwsync_proto::ClientStatusReport { version: "v".repeat(limit + 1), ..report.clone() };
    assert!(too_long.validate().is_err());
    let bad_id = pwsync_proto::ClientStatusReport { failed_ids: vec!["xyz".into()], ..report };
    assert!(bad_id.validate().is_err());
}
