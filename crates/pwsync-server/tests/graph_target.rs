//! The `graph` target against the Graph emulator over real TLS on 127.0.0.1: both credentials
//! obtain tokens, every row of the documented error table produces its outcome, tokens are
//! renewed before expiry and refreshed once on a 401, a 429 pauses the whole target for exactly
//! Retry-After, identity mapping works by UPN (with a suffix rewrite), mail and source anchor,
//! `target test` explains setup mistakes — and no password reaches a reason or a log, even when
//! the service echoes it. The emulator's own checks (forged, expired, future and wrong-audience
//! assertions; bearer token, content type and body shape; throttle headers) are tested here too.

#[path = "support/graph_emulator.rs"]
mod graph_emulator;

use std::time::{Duration, Instant};

use graph_emulator::{
    capture_logs, logs, request, upn, GraphFixture, APP, APP_WITHOUT_PERMISSION, APP_WITHOUT_ROLE,
    CLIENT_SECRET, DAVE_GUID, TENANT,
};
use pwsync_graph_emulator::{password_digest, DirectoryUser, InjectedFailure, WriteBudget};
use pwsync_proto::Identity;
use pwsync_server::targets::{
    AssertionAlgorithm, GraphConfig, GraphTarget, MatchBy, SuffixRewrite, Target, TargetOutcome,
};

const GOOD_PASSWORD: &str = "Winter-2026-Grün!";

fn target(config: &GraphConfig) -> GraphTarget {
    GraphTarget::new(config).unwrap()
}

/// The password was set at the emulator (by digest) and appears in no log.
fn assert_set(fixture: &GraphFixture, user: &str, password: &str) {
    let record = fixture.emulator.password_record(user).unwrap();
    assert_eq!(record.sha256.as_deref(), Some(password_digest(password).as_str()), "{user}");
    assert_eq!(record.force_change_next_sign_in, Some(false), "a sync never forces a change");
    assert_no_leak(password);
}

fn assert_no_leak(password: &str) {
    let logs = logs();
    assert!(!logs.contains(password), "the password is in the logs");
    let escaped = serde_json::to_string(password).unwrap();
    assert!(!logs.contains(&escaped[1..escaped.len() - 1]), "the JSON-escaped password is in the logs");
}

fn rejected(outcome: &TargetOutcome) -> &str {
    match outcome {
        TargetOutcome::Rejected { reason } => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn transient(outcome: &TargetOutcome) -> (&str, Option<Duration>) {
    match outcome {
        TargetOutcome::Transient { reason, retry_after } => (reason, *retry_after),
        other => panic!("expected a transient outcome, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_secret_sets_the_password_with_force_change_off() {
    capture_logs();
    let fixture = GraphFixture::start().await;
    let graph = target(&fixture.secret_config());
    let outcome = graph.apply(&request(upn("alice@corp.com"), GOOD_PASSWORD)).await;
    assert_eq!(outcome, TargetOutcome::Applied);
    assert_set(&fixture, "alice@corp.com", GOOD_PASSWORD);
    let stats = fixture.emulator.stats();
    assert_eq!((stats.tokens_issued, stats.passwords_set), (1, 1));
    assert!(!logs().contains(CLIENT_SECRET), "the client secret is in the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_assertion_works_with_ps256_and_rs256() {
    capture_logs();
    let fixture = GraphFixture::start().await;
    for (algorithm, user, password) in [
        (AssertionAlgorithm::Ps256, "alice@corp.com", "Cert-PS256-pass"),
        (AssertionAlgorithm::Rs256, "erin@corp.com", "Cert-RS256-pass"),
    ] {
        let graph = target(&fixture.certificate_config(algorithm));
        assert_eq!(graph.apply(&request(upn(user), password)).await, TargetOutcome::Applied, "{algorithm:?}");
        assert_set(&fixture, user, password);
    }
    assert_eq!(fixture.emulator.stats().tokens_issued, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_row_has_its_documented_outcome() {
    capture_logs();
    let fixture = GraphFixture::start().await;
    let graph = target(&fixture.secret_config());

    // 400 complexity: permanent, readable.
    let weak = "weakpassword";
    let outcome = graph.apply(&request(upn("alice@corp.com"), weak)).await;
    assert!(rejected(&outcome).contains("password complexity requirements"), "{outcome:?}");

    // 400 synced object: permanent, explained.
    let outcome = graph.apply(&request(upn("bob@corp.com"), "Synced-Bob-2026")).await;
    assert!(rejected(&outcome).contains("synchronized from on-premises Active Directory"), "{outcome:?}");

    // 403: permanent configuration error, logged loudly — for a missing permission, a
    // missing role, and an administrator's password with only User Administrator.
    for (client_id, user) in [
        (APP_WITHOUT_PERMISSION, "alice@corp.com"),
        (APP_WITHOUT_ROLE, "alice@corp.com"),
        (APP, "root@corp.com"),
    ] {
        let config = GraphConfig { client_id: client_id.into(), ..fixture.secret_config() };
        let outcome = target(&config).apply(&request(upn(user), "Forbidden-2026")).await;
        assert!(
            rejected(&outcome).contains("User-PasswordProfile.ReadWrite.All"),
            "{client_id}: {outcome:?}"
        );
    }
    assert!(logs().contains("configuration error of the Graph target"));

    // 404: retried within the window (directory sync lag), then rejected.
    let config = GraphConfig { not_found_retry_s: 3600, ..fixture.secret_config() };
    let lagging = target(&config);
    let mut young = request(upn("new.hire@corp.com"), "New-Hire-2026");
    let outcome = lagging.apply(&young).await;
    let (reason, wait) = transient(&outcome);
    assert!(reason.contains("does not exist") && wait.is_some(), "{reason}");
    young.captured_at_ns -= 3601 * 1_000_000_000;
    let outcome = lagging.apply(&young).await;
    assert!(rejected(&outcome).contains("still not found 3600 s after the capture"), "{outcome:?}");
    // Once sync has brought the user in, the same change applies.
    fixture.emulator.put_user(DirectoryUser {
        id: None,
        user_principal_name: "new.hire@corp.com".into(),
        mail: None,
        on_premises_immutable_id: None,
        on_premises_sync_enabled: false,
        privileged: false,
    });
    young.captured_at_ns = graph_emulator::now_ns();
    assert_eq!(lagging.apply(&young).await, TargetOutcome::Applied);

    // 409, 412, 500, 503, 504: transient; a Retry-After on them is honoured.
    for status in [409, 412, 500, 503, 504] {
        fixture.emulator.faults().fail_next_writes([InjectedFailure { status, retry_after_s: None }]);
        let outcome = graph.apply(&request(upn("alice@corp.com"), "Busy-Graph-2026")).await;
        let (reason, wait) = transient(&outcome);
        assert_eq!(wait, Some(Duration::from_secs(5)), "{status}: {reason}");
    }
    fixture.emulator.faults().fail_next_writes([InjectedFailure { status: 503, retry_after_s: Some(3) }]);
    let outcome = graph.apply(&request(upn("alice@corp.com"), "Busy-Graph-2026")).await;
    assert_eq!(transient(&outcome).1, Some(Duration::from_secs(3)));

    // The network: a dropped request and latency beyond the timeout are transient.
    fixture.emulator.faults().drop_next_requests(1);
    let outcome = graph.apply(&request(upn("alice@corp.com"), "Dropped-2026")).await;
    assert!(transient(&outcome).0.contains("no answer from Graph"), "{outcome:?}");
    let config = GraphConfig { timeout_ms: 300, ..fixture.secret_config() };
    let impatient = target(&config);
    assert_eq!(
        impatient.apply(&request(upn("alice@corp.com"), "Warm-Token-2026")).await,
        TargetOutcome::Applied
    );
    fixture.emulator.faults().set_latency(Duration::from_millis(800));
    let outcome = impatient.apply(&request(upn("alice@corp.com"), "Slow-Graph-2026")).await;
    fixture.emulator.faults().set_latency(Duration::ZERO);
    assert!(transient(&outcome).0.contains("no answer from Graph"), "{outcome:?}");

    // After all of that the target still works.
    assert_eq!(graph.apply(&request(upn("alice@corp.com"), GOOD_PASSWORD)).await, TargetOutcome::Applied);
    assert_set(&fixture, "alice@corp.com", GOOD_PASSWORD);
    for password in [
        weak,
        "Synced-Bob-2026",
        "Forbidden-2026",
        "New-Hire-2026",
        "Busy-Graph-2026",
        "Dropped-2026",
        "Slow-Graph-2026",
    ] {
        assert_no_leak(password);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_waits_exactly_retry_after_and_pauses_the_whole_target() {
    capture_logs();
    let fixture = GraphFixture::start().await;
    let graph = target(&fixture.secret_config());
    fixture.emulator.faults().fail_next_writes([InjectedFailure { status: 429, retry_after_s: Some(2) }]);
    let started = Instant::now();
    let outcome = graph.apply(&request(upn("alice@corp.com"), "Throttled-2026")).await;
    assert_eq!(transient(&outcome).1, Some(Duration::from_secs(2)));
    // Another user's change waits out the pause too: the whole target is paused.
    let outcome = graph.apply(&request(upn("erin@corp.com"), "After-Pause-2026")).await;
    assert_eq!(outcome, TargetOutcome::Applied);
    assert!(started.elapsed() >= Duration::from_millis(1950), "{:?}", started.elapsed());

    // The emulator's own budget: a third write in the window is throttled with the
    // seconds until room frees up.
    fixture.emulator.set_budget(WriteBudget { writes: 1, window_s: 30 });
    let outcome = graph.apply(&request(upn("frank@corp.com"), "Over-Budget-2026")).await;
    let (reason, wait) = transient(&outcome);
    assert!(reason.contains("429"), "{reason}");
    let wait = wait.unwrap();
    assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30), "{wait:?}");
    assert_eq!(fixture.emulator.stats().throttled, 1);
    assert_no_leak("Over-Budget-2026");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_renewed_before_expiry_and_a_401_refreshes_once() {
    capture_logs();
    let fixture = GraphFixture::start().await;
    fixture.emulator.set_token_lifetime(Duration::from_secs(2));
    let graph = target(&fixture.secret_config());
    assert_eq!(graph.apply(&request(upn("alice@corp.com"), "Token-One-2026")).await, TargetOutcome::Applied);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // The token expired meanwhile: a new one is obtained before the call, no 401 is met.
    assert_eq!(graph.apply(&request(upn("alice@corp.com"), "Token-Two-2026")).await, TargetOutcome::Applied);
    let stats = fixture.emulator.stats();
    assert_eq!((stats.tokens_issued, stats.unauthorized), (2, 0));

    // A token revoked mid-run: Graph answers 401, the target obtains a new one and retries once.
    fixture.emulator.set_token_lifetime(Duration::from_secs(3599));
    fixture.emulator.revoke_tokens();
    assert_eq!(
        graph.apply(&request(upn("alice@corp.com"), "Token-Three-2026")).await,
        TargetOutcome::Applied
    );
    let stats = fixture.emulator.stats();
    assert_eq!((stats.tokens_issued, stats.unauthorized, stats.passwords_set), (3, 1, 3));
    assert_set(&fixture, "alice@corp.com", "Token-Three-2026");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_map_by_upn_rewrite_mail_and_cached_source_anchor() {
    capture_logs();
    let fixture = GraphFixture::start().await;
    let rewrite = GraphConfig {
        upn_suffix_rewrite: Some(SuffixRewrite { from: "@corp.local".into(), to: "@corp.com".into() }),
        ..fixture.secret_config()
    };
    assert_eq!(
        target(&rewrite).apply(&request(upn("alice@corp.local"), "Rewritten-2026")).await,
        TargetOutcome::Applied
    );
    assert_set(&fixture, "alice@corp.com", "Rewritten-2026");

    let by_mail = GraphConfig { match_by: MatchBy::Mail, ..fixture.secret_config() };
    let identity = Identity { mail: Some("Carol.Mail@corp.com".into()), ..Identity::default() };
    assert_eq!(target(&by_mail).apply(&request(identity, "By-Mail-2026")).await, TargetOutcome::Applied);
    assert_set(&fixture, "carol@corp.com", "By-Mail-2026");

    let by_anchor = target(&GraphConfig { match_by: MatchBy::SourceAnchor, ..fixture.secret_config() });
    let identity = Identity { object_guid: Some(DAVE_GUID.into()), ..Identity::default() };
    let lookups = fixture.emulator.stats().lookups;
    assert_eq!(by_anchor.apply(&request(identity.clone(), "Anchor-One-2026")).await, TargetOutcome::Applied);
    assert_eq!(by_anchor.apply(&request(identity, "Anchor-Two-2026")).await, TargetOutcome::Applied);
    assert_eq!(fixture.emulator.stats().lookups, lookups + 1, "the anchor's object id is cached");
    assert_set(&fixture, "dave@corp.com", "Anchor-Two-2026");

    let unknown =
        Identity { object_guid: Some("ffffffff-0000-4000-8000-000000000000".into()), ..Identity::default() };
    assert!(matches!(
        by_anchor.apply(&request(unknown, "Nobody-2026")).await,
        TargetOutcome::Transient { .. }
    ));
    let outcome = by_anchor.apply(&request(upn("alice@corp.com"), "No-Guid-2026")).await;
    assert!(rejected(&outcome).contains("carries no objectGUID"), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_never_reaches_a_reason_or_a_log_when_graph_echoes_it() {
    capture_logs();
    let fixture = GraphFixture::start().await;
    fixture.emulator.faults().set_echo_password(true);
    let graph = target(&fixture.secret_config());
    // Weak (two classes), with characters JSON escapes: the echo holds `\"` and `\\`.
    let weak = "echo\"me\\please";
    let outcome = graph.apply(&request(upn("alice@corp.com"), weak)).await;
    let reason = rejected(&outcome);
    assert!(
        reason.contains("Request payload") && reason.contains("<redacted>"),
        "the echo came back: {reason}"
    );
    assert!(!reason.contains("echo\\\"me") && !reason.contains(weak), "{reason}");
    for (user, password) in [("bob@corp.com", "Echo-Synced-2026"), ("nobody@corp.com", "Echo-Missing-2026")] {
        let outcome = graph.apply(&request(upn(user), password)).await;
        let text = format!("{outcome:?}");
        assert!(text.contains("<redacted>") && !text.contains(password), "{text}");
        assert_no_leak(password);
    }
    assert_no_leak(weak);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_test_explains_the_common_setup_mistakes() {
    capture_logs();
    let fixture = GraphFixture::start().await;
    let probe = |config: GraphConfig, identity: Identity| async move {
        target(&config).probe(&request(identity, "")).await
    };
    let good = fixture.secret_config();
    let found = probe(good.clone(), upn("alice@corp.com")).await.unwrap();
    assert!(found.contains("alice@corp.com") && found.contains("User Administrator"), "{found}");
    let cases = [
        (
            GraphConfig { tenant_id: "00000000-0000-0000-0000-000000000000".into(), ..good.clone() },
            "check tenant_id",
        ),
        (
            GraphConfig { client_id: "00000000-0000-0000-0000-000000000009".into(), ..good.clone() },
            "check client_id",
        ),
        (
            GraphConfig { client_id: APP_WITHOUT_PERMISSION.into(), ..good.clone() },
            "add the application permission",
        ),
        (
            GraphConfig { client_id: APP_WITHOUT_ROLE.into(), ..good.clone() },
            "assign it the User Administrator role",
        ),
    ];
    for (config, expected) in cases {
        let error = probe(config, upn("alice@corp.com")).await.unwrap_err();
        assert!(error.contains(expected), "{expected}: {error}");
    }
    let wrong_secret = fixture.dir.join("wrong.secret");
    std::fs::write(&wrong_secret, "not-the-secret\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrong_secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let error =
        probe(GraphConfig { client_secret_file: Some(wrong_secret), ..good.clone() }, upn("alice@corp.com"))
            .await
            .unwrap_err();
    assert!(error.contains("AADSTS7000215") && error.contains("Value"), "{error}");
    let error = probe(good.clone(), upn("bob@corp.com")).await.unwrap_err();
    assert!(error.contains("synchronized from on-premises"), "{error}");
    let error = probe(good, upn("ghost@corp.com")).await.unwrap_err();
    assert!(error.contains("does not exist"), "{error}");
    assert_eq!(fixture.emulator.stats().passwords_set, 0, "a probe changes nothing");
}

/// A client assertion signed by `key_pem`, naming `thumbprint`, with the given claims.
fn assertion(key_pem: &str, thumbprint: &str, aud: &str, nbf: i64, exp: i64) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
    header.x5t_s256 = Some(thumbprint.into());
    let claims = serde_json::json!({
        "aud": aud, "iss": APP, "sub": APP, "jti": format!("{}", rand::random::<u64>()),
        "nbf": nbf, "iat": nbf, "exp": exp,
    });
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_refuses_forged_expired_future_and_wrong_audience_assertions() {
    let fixture = GraphFixture::start().await;
    let http = fixture.http();
    let token_url = format!("{}/{TENANT}/oauth2/v2.0/token", fixture.emulator.url());
    let key = std::fs::read_to_string(&fixture.key_file).unwrap();
    let der = {
        use rustls_pki_types::pem::PemObject;
        rustls_pki_types::CertificateDer::from_pem_file(&fixture.certificate_file).unwrap()
    };
    let thumbprint = pwsync_graph_emulator::thumbprint_s256(&der);
    let other_key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .unwrap()
        .serialize_pem();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let post = |jwt: String| {
        let http = http.clone();
        let token_url = token_url.clone();
        async move {
            let form = [
                ("grant_type", "client_credentials".to_string()),
                ("client_id", APP.to_string()),
                ("scope", "https://graph.microsoft.com/.default".to_string()),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
                ),
                ("client_assertion", jwt),
            ];
            let body = form
                .iter()
                .map(|(name, value)| {
                    format!("{name}={}", value.replace('+', "%2B").replace('/', "%2F").replace(':', "%3A"))
                })
                .collect::<Vec<_>>()
                .join("&");
            let response = http
                .post(&token_url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, body) = post(assertion(&key, &thumbprint, &token_url, now, now + 600)).await;
    assert_eq!(status, 200, "a good assertion is accepted: {body}");
    let refused = [
        (assertion(&other_key, &thumbprint, &token_url, now, now + 600), "AADSTS7000274"),
        (assertion(&key, "bm90LXJlZ2lzdGVyZWQ", &token_url, now, now + 600), "AADSTS700027"),
        (assertion(&key, &thumbprint, &token_url, now - 4000, now - 3400), "AADSTS700024"),
        (assertion(&key, &thumbprint, &token_url, now + 3600, now + 4200), "AADSTS700024"),
        (
            assertion(
                &key,
                &thumbprint,
                "https://login.microsoftonline.com/other/oauth2/v2.0/token",
                now,
                now + 600,
            ),
            "AADSTS700023",
        ),
    ];
    for (jwt, code) in refused {
        let (status, body) = post(jwt).await;
        assert_eq!(status, 401, "{code}: {body}");
        assert!(body.contains(code) && body.contains("invalid_client"), "{code}: {body}");
    }
    assert_eq!(fixture.emulator.stats().tokens_issued, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_checks_token_content_type_body_and_budget_like_graph() {
    let fixture =
        GraphFixture::start_with(graph_emulator::users(), WriteBudget { writes: 1, window_s: 60 }).await;
    let http = fixture.http();
    let url = fixture.emulator.url();
    let token: serde_json::Value = http
        .post(format!("{url}/{TENANT}/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&client_id={APP}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&client_secret={}", CLIENT_SECRET.replace('~', "%7E")))
        .send().await.unwrap().json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert!(token["expires_in"].as_u64().unwrap() > 3000);
    let bearer = token["access_token"].as_str().unwrap().to_string();
    let user_url = format!("{url}/v1.0/users/alice@corp.com");
    let patch = |body: &'static str, content_type: &'static str, bearer: Option<String>| {
        let mut builder = http.patch(&user_url).header("content-type", content_type).body(body);
        if let Some(bearer) = bearer {
            builder = builder.bearer_auth(bearer);
        }
        async move {
            let response = builder.send().await.unwrap();
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            (status, headers, response.text().await.unwrap())
        }
    };
    let good = r#"{"passwordProfile":{"password":"Direct-2026-x","forceChangePasswordNextSignIn":false}}"#;
    let (status, _, body) = patch(good, "application/json", None).await;
    assert_eq!(status, 401);
    assert!(body.contains("InvalidAuthenticationToken"), "{body}");
    assert_eq!(patch(good, "application/json", Some("forged".into())).await.0, 401);
    assert_eq!(patch(good, "text/plain", Some(bearer.clone())).await.0, 415);
    for bad in [
        r#"{"passwordProfile":{"password":"Direct-2026-x"},"accountEnabled":true}"#,
        r#"{"passwordProfile":{"password":"Direct-2026-x","unknown":1}}"#,
        r#"{"passwordProfile":{}}"#,
        r#"{"passwordProfile":"Direct-2026-x"}"#,
    ] {
        let (status, _, body) = patch(bad, "application/json", Some(bearer.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, headers, _) = patch(good, "application/json; charset=utf-8", Some(bearer.clone())).await;
    assert_eq!(status, 204);
    assert_eq!(headers["x-ms-resource-unit"], "1");
    assert_eq!(headers["x-ms-throttle-limit-percentage"], "1.00");
    let (status, headers, body) = patch(good, "application/json", Some(bearer.clone())).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("TooManyRequests"));
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((59..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        headers["x-ms-throttle-scope"].to_str().unwrap(),
        format!("Tenant_Application/ReadWrite/{TENANT}/{APP}")
    );
    assert_eq!(headers["x-ms-throttle-information"], "WriteLimitExceeded");
    // Lookups by filter, with $select.
    let found: serde_json::Value = http
        .get(format!("{url}/v1.0/users?%24filter=mail%20eq%20%27carol.mail%40corp.com%27&%24select=id,userPrincipalName"))
        .bearer_auth(&bearer).send().await.unwrap().json().await.unwrap();
    assert_eq!(found["value"].as_array().unwrap().len(), 1);
    assert_eq!(found["value"][0]["userPrincipalName"], "carol@corp.com");
    assert!(found["value"][0].get("mail").is_none(), "only the selected properties come back");
    // A wrong tenant, a wrong secret.
    let response = http
        .post(format!("{url}/contoso.example/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&client_id={APP}&scope=x%2F.default&client_secret=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.text().await.unwrap().contains("AADSTS90002"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulators_control_api_injects_faults_over_http() {
    let fixture = GraphFixture::start().await;
    let http = fixture.http();
    let url = fixture.emulator.url();
    let control = |path: &str| format!("{url}/_emulator/{path}");
    let status = http
        .post(control("faults"))
        .json(&serde_json::json!({"fail_writes": [{"status": 503, "retry_after_s": 2}], "drop_requests": 1}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 204);
    let graph = target(&fixture.secret_config());
    // The token request is the first to be dropped; the target reports no answer.
    let outcome = graph.apply(&request(upn("alice@corp.com"), "Control-One-2026")).await;
    assert!(transient(&outcome).0.contains("token endpoint"), "{outcome:?}");
    let outcome = graph.apply(&request(upn("alice@corp.com"), "Control-Two-2026")).await;
    assert_eq!(transient(&outcome).1, Some(Duration::from_secs(2)), "the injected 503 with its Retry-After");
    let user = serde_json::json!({"user_principal_name": "late@corp.com"});
    assert_eq!(http.put(control("users")).json(&user).send().await.unwrap().status().as_u16(), 204);
    assert_eq!(
        graph.apply(&request(upn("late@corp.com"), "Control-Late-2026")).await,
        TargetOutcome::Applied
    );
    let record: serde_json::Value =
        http.get(control("users/late@corp.com/password")).send().await.unwrap().json().await.unwrap();
    assert_eq!(record["sha256"], password_digest("Control-Late-2026"));
    assert_eq!(record["times_set"], 1);
    let budget = serde_json::json!({"writes": 0, "window_s": 10});
    assert_eq!(http.put(control("budget")).json(&budget).send().await.unwrap().status().as_u16(), 400);
    let stats: serde_json::Value = http.get(control("stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!((stats["dropped"].as_u64(), stats["passwords_set"].as_u64()), (Some(1), Some(1)));
    let unknown = http.post(control("faults")).json(&serde_json::json!({"latency": 5})).send().await.unwrap();
    assert!(unknown.status().is_client_error(), "an unknown fault is refused by name");
}
