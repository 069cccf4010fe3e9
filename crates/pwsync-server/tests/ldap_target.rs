//! The `ldap` target against a real OpenLDAP (slapd with mdb and ppolicy) started on 127.0.0.1
//! by the test itself: passwords really change, policy refusals come back as rejections with
//! the server's reason, a stopped directory is transient, and filter metacharacters in an
//! account name cannot reach another entry.

use pwsync_testbed::{samba_ad, slapd};

use std::path::{Path, PathBuf};

use ldap3::{LdapConnAsync, LdapError};
use pwsync_proto::{Identity, SecretString};
use pwsync_server::targets::{ApplyRequest, LdapConfig, LdapMode, LdapTarget, Target, TargetOutcome};
use slapd::{Slapd, BIND_DN, BIND_PASSWORD, INITIAL_PASSWORD, PEOPLE_DN};

fn request(account: &str, password: &str) -> ApplyRequest {
    ApplyRequest {
        change_id: format!("change-{}", rand::random::<u32>()),
        domain: "Example".into(),
        account: account.into(),
        identity: Identity::default(),
        password: SecretString::new(password.into()),
        captured_at_ns: 1,
        origin: "dc1".into(),
    }
}

fn bind_password_file(dir: &Path, password: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(format!("bind-{}.secret", rand::random::<u32>()));
    std::fs::write(&path, format!("{password}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A target over ldaps://, verified against the test CA, finding users by `uid`.
fn config(slapd: &Slapd) -> LdapConfig {
    LdapConfig {
        name: "openldap".into(),
        mode: LdapMode::PasswordModify,
        url: slapd.ldaps_url(),
        starttls: false,
        ca_file: Some(slapd.ca_file()),
        allow_plaintext: false,
        bind_dn: BIND_DN.into(),
        bind_password_file: bind_password_file(&slapd.dir, BIND_PASSWORD),
        base_dn: PEOPLE_DN.into(),
        search_filter: "(&(objectClass=inetOrgPerson)(uid={account}))".into(),
        skip_if_current: false,
        concurrency: 4,
        timeout_ms: 3000,
    }
}

/// Whether a simple bind as `uid=<user>` with `password` succeeds (plain ldap:// on loopback:
/// this checks the directory's state, it is not the target's connection).
async fn can_bind(slapd: &Slapd, user: &str, password: &str) -> bool {
    let dn = format!("uid={},{PEOPLE_DN}", ldap3::dn_escape(user));
    can_bind_dn(&slapd.ldap_url(), &dn, password).await
}

async fn can_bind_dn(url: &str, dn: &str, password: &str) -> bool {
    let (connection, mut ldap) = LdapConnAsync::new(url).await.unwrap();
    tokio::spawn(connection.drive());
    match ldap.simple_bind(dn, password).await.and_then(|result| result.success()) {
        Ok(_) => true,
        Err(LdapError::LdapResult { result }) if result.rc == 49 => false,
        Err(error) => panic!("unexpected bind error: {error}"),
    }
}

#[tokio::test]
async fn a_password_set_over_ldaps_and_starttls_binds_and_the_old_one_fails() {
    let Some(slapd) = Slapd::start() else { return };
    let target = LdapTarget::new(&config(&slapd)).unwrap();
    assert_eq!(target.apply(&request("alice", "New-Secret-2026")).await, TargetOutcome::Applied);
    assert!(can_bind(&slapd, "alice", "New-Secret-2026").await);
    assert!(!can_bind(&slapd, "alice", INITIAL_PASSWORD).await);
    // The pooled connection serves the next change.
    assert_eq!(target.apply(&request("alice", "Newer-Secret-2027")).await, TargetOutcome::Applied);
    assert!(can_bind(&slapd, "alice", "Newer-Secret-2027").await);

    let starttls = LdapConfig { url: slapd.ldap_url(), starttls: true, ..config(&slapd) };
    let target = LdapTarget::new(&starttls).unwrap();
    assert_eq!(target.apply(&request("bob", "StartTls-Secret-1")).await, TargetOutcome::Applied);
    assert!(can_bind(&slapd, "bob", "StartTls-Secret-1").await);
    assert!(!can_bind(&slapd, "bob", INITIAL_PASSWORD).await);
}

#[tokio::test]
async fn probing_finds_the_entry_reports_what_is_wrong_and_changes_nothing() {
    let Some(slapd) = Slapd::start() else { return };
    let target = LdapTarget::new(&config(&slapd)).unwrap();
    let found = target.probe(&request("alice", "")).await.unwrap();
    assert!(found.contains(&format!("uid=alice,{PEOPLE_DN}")), "{found}");
    assert!(can_bind(&slapd, "alice", INITIAL_PASSWORD).await, "a probe must not change the password");

    let missing = target.probe(&request("nobody-here", "")).await.unwrap_err();
    assert!(missing.starts_with("not found: no entry under"), "{missing}");

    let mut wrong = config(&slapd);
    wrong.bind_password_file = bind_password_file(&slapd.dir, "not-the-bind-password");
    let refused = LdapTarget::new(&wrong).unwrap().probe(&request("alice", "")).await.unwrap_err();
    assert!(refused.contains("49") || refused.to_lowercase().contains("credentials"), "{refused}");
}

#[tokio::test]
async fn a_password_shorter_than_the_policy_is_rejected_with_the_servers_reason() {
    let Some(slapd) = Slapd::start() else { return };
    let target = LdapTarget::new(&config(&slapd)).unwrap();
    let TargetOutcome::Rejected { reason } = target.apply(&request("alice", "Sh0rt")).await else {
        panic!("a too short password must be rejected")
    };
    // slapd 2.5 says "Password fails quality checking policy", later versions "Password is too
    // short for policy": either way the server's own text.
    assert!(reason.starts_with("setting the password: constraintViolation (19): Password"), "{reason}");
    assert!(reason.contains("policy"), "{reason}");
    // The exact cause, from the password policy response control.
    assert!(reason.ends_with("(ppolicy: passwordTooShort)"), "{reason}");
    assert!(!reason.contains("Sh0rt"), "{reason}");
    assert!(can_bind(&slapd, "alice", INITIAL_PASSWORD).await, "the old password still works");
}

#[tokio::test]
async fn a_stopped_directory_is_transient_and_the_change_applies_after_a_restart() {
    let Some(mut slapd) = Slapd::start() else { return };
    let target = LdapTarget::new(&config(&slapd)).unwrap();
    // A first change leaves an idle connection in the pool, which the stop breaks.
    assert_eq!(target.apply(&request("alice", "Before-Stop-1")).await, TargetOutcome::Applied);
    slapd.stop();
    for attempt in 0..2 {
        let outcome = target.apply(&request("alice", "During-Stop-1")).await;
        assert!(matches!(outcome, TargetOutcome::Transient { .. }), "attempt {attempt}: {outcome:?}");
    }
    slapd.restart();
    assert_eq!(target.apply(&request("alice", "After-Restart-1")).await, TargetOutcome::Applied);
    assert!(can_bind(&slapd, "alice", "After-Restart-1").await);
    // And a connection broken by a restart, idle in the pool, is replaced without a failure.
    slapd.restart();
    assert_eq!(target.apply(&request("alice", "After-Restart-2")).await, TargetOutcome::Applied);
    assert!(can_bind(&slapd, "alice", "After-Restart-2").await);
}

#[tokio::test]
async fn filter_metacharacters_in_an_account_match_only_the_literal_entry() {
    let Some(slapd) = Slapd::start() else { return };
    let target = LdapTarget::new(&config(&slapd)).unwrap();
    // Unescaped, "a*" would match both "a*" and "ab" (and "alice").
    assert_eq!(target.apply(&request("a*", "Star-Secret-1")).await, TargetOutcome::Applied);
    assert!(can_bind(&slapd, "a*", "Star-Secret-1").await);
    assert!(can_bind(&slapd, "ab", INITIAL_PASSWORD).await, "ab must be untouched");
    assert!(can_bind(&slapd, "alice", INITIAL_PASSWORD).await, "alice must be untouched");
    for account in ["*", "a*)(uid=ab", "ab)(|(uid=*", "\\2a", "ab\0"] {
        let outcome = target.apply(&request(account, "Never-Set-1")).await;
        let TargetOutcome::Rejected { reason } = &outcome else { panic!("{account:?}: {outcome:?}") };
        assert!(reason.starts_with("not found"), "{account:?}: {reason}");
    }
    assert!(can_bind(&slapd, "ab", INITIAL_PASSWORD).await);
}

#[tokio::test]
async fn several_matches_are_rejected_naming_the_count() {
    let Some(slapd) = Slapd::start() else { return };
    // Every test user has the surname "Example", the domain of the test requests.
    let config = LdapConfig { search_filter: "(sn={domain})".into(), ..config(&slapd) };
    let target = LdapTarget::new(&config).unwrap();
    let TargetOutcome::Rejected { reason } = target.apply(&request("alice", "Ambiguous-1")).await else {
        panic!("several matches must be rejected")
    };
    assert!(reason.contains("4 entries") && reason.contains("exactly one"), "{reason}");
    assert!(can_bind(&slapd, "alice", INITIAL_PASSWORD).await);
}

#[tokio::test]
async fn a_wrong_bind_password_or_an_unknown_ca_is_a_transient_configuration_error() {
    let Some(slapd) = Slapd::start() else { return };
    let wrong =
        LdapConfig { bind_password_file: bind_password_file(&slapd.dir, "wrong-Secret"), ..config(&slapd) };
    let outcome = LdapTarget::new(&wrong).unwrap().apply(&request("alice", "Never-Set-2")).await;
    let TargetOutcome::Transient { reason, .. } = &outcome else { panic!("{outcome:?}") };
    assert!(reason.contains("invalidCredentials (49)"), "{reason}");

    // A CA that did not issue the directory's certificate: the handshake must fail.
    let other_ca = slapd.dir.join("other-ca");
    pwsync_tls::init_ca(&other_ca, "unrelated CA", pwsync_tls::Validity::days(1)).unwrap();
    let untrusted = LdapConfig { ca_file: Some(other_ca.join("ca.pem")), ..config(&slapd) };
    let outcome = LdapTarget::new(&untrusted).unwrap().apply(&request("alice", "Never-Set-3")).await;
    let TargetOutcome::Transient { reason, .. } = &outcome else { panic!("{outcome:?}") };
    assert!(reason.contains("TLS failed") && reason.contains("UnknownIssuer"), "{reason}");
    assert!(can_bind(&slapd, "alice", INITIAL_PASSWORD).await);
}

#[tokio::test]
async fn plain_ldap_works_only_when_allowed() {
    let Some(slapd) = Slapd::start() else { return };
    let plain = LdapConfig { url: slapd.ldap_url(), ca_file: None, ..config(&slapd) };
    assert!(LdapTarget::new(&plain).is_err(), "plain ldap:// must be refused by default");
    let target = LdapTarget::new(&LdapConfig { allow_plaintext: true, ..plain }).unwrap();
    assert_eq!(target.apply(&request("bob", "Plain-Secret-1")).await, TargetOutcome::Applied);
    assert!(can_bind(&slapd, "bob", "Plain-Secret-1").await);
}

#[tokio::test]
async fn a_directory_that_never_answers_is_transient_within_the_timeout() {
    // Accepts connections and says nothing: a hung server, or a firewall that black-holes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap();
    let dir = std::env::temp_dir().join(format!("pwsync-ldap-silent-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca");
    pwsync_tls::init_ca(&ca, "pwsync silent CA", pwsync_tls::Validity::days(1)).unwrap();
    for (url, starttls) in [(format!("ldaps://{address}"), false), (format!("ldap://{address}"), true)] {
        let config = LdapConfig {
            name: "silent".into(),
            mode: LdapMode::PasswordModify,
            url,
            starttls,
            ca_file: Some(ca.join("ca.pem")),
            allow_plaintext: false,
            bind_dn: BIND_DN.into(),
            bind_password_file: bind_password_file(&dir, BIND_PASSWORD),
            base_dn: PEOPLE_DN.into(),
            search_filter: "(uid={account})".into(),
            skip_if_current: false,
            concurrency: 1,
            timeout_ms: 300,
        };
        let started = std::time::Instant::now();
        let outcome = LdapTarget::new(&config).unwrap().apply(&request("alice", "Never-Set-5")).await;
        assert!(matches!(outcome, TargetOutcome::Transient { .. }), "starttls {starttls}: {outcome:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(3), "took {:?}", started.elapsed());
    }
    drop(silent);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The ppolicy overlay's record of the last password change of `uid=<user>` (none before
/// the first change through LDAP: slapadd bypasses overlays).
async fn password_changed_time(slapd: &Slapd, user: &str) -> Option<String> {
    let (connection, mut ldap) = LdapConnAsync::new(&slapd.ldap_url()).await.unwrap();
    tokio::spawn(connection.drive());
    ldap.simple_bind(&format!("cn=root,{}", slapd::BASE_DN), "root-Secret-1")
        .await
        .unwrap()
        .success()
        .unwrap();
    let dn = format!("uid={user},{PEOPLE_DN}");
    let (entries, _) = ldap
        .search(&dn, ldap3::Scope::Base, "(objectClass=*)", vec!["pwdChangedTime"])
        .await
        .unwrap()
        .success()
        .unwrap();
    let entry = ldap3::SearchEntry::construct(entries.into_iter().next().unwrap());
    entry.attrs.get("pwdChangedTime").and_then(|values| values.first().cloned())
}

#[tokio::test]
async fn skip_if_current_leaves_an_accepted_password_alone_and_sets_a_new_one() {
    let Some(slapd) = Slapd::start() else { return };
    let target = LdapTarget::new(&LdapConfig { skip_if_current: true, ..config(&slapd) }).unwrap();
    assert_eq!(target.apply(&request("alice", INITIAL_PASSWORD)).await, TargetOutcome::Applied);
    assert_eq!(password_changed_time(&slapd, "alice").await, None, "the password was set again");
    assert_eq!(target.apply(&request("alice", "Skip-Secret-2026")).await, TargetOutcome::Applied);
    assert!(password_changed_time(&slapd, "alice").await.is_some(), "the new password was not set");
    assert!(can_bind(&slapd, "alice", "Skip-Secret-2026").await);
    // Without the option, the current password is set again.
    let target = LdapTarget::new(&config(&slapd)).unwrap();
    assert_eq!(target.apply(&request("bob", INITIAL_PASSWORD)).await, TargetOutcome::Applied);
    assert!(password_changed_time(&slapd, "bob").await.is_some());
}

#[tokio::test]
async fn active_directory_mode_sets_unicode_pwd_on_samba_ad() {
    let Some(dc) = samba_ad::SambaDc::start() else { return };
    let config = LdapConfig {
        name: "samba-ad".into(),
        mode: LdapMode::ActiveDirectory,
        url: dc.ldaps_url(),
        starttls: false,
        ca_file: Some(dc.ca_file()),
        allow_plaintext: false,
        bind_dn: samba_ad::ADMIN_DN.into(),
        bind_password_file: bind_password_file(&dc.dir, samba_ad::ADMIN_PASSWORD),
        base_dn: samba_ad::USERS_DN.into(),
        search_filter: "(&(objectClass=user)(sAMAccountName={account}))".into(),
        skip_if_current: false,
        concurrency: 2,
        timeout_ms: 10_000,
    };
    let target = LdapTarget::new(&config).unwrap();
    let alice = format!("CN=alice,{}", samba_ad::USERS_DN);
    assert_eq!(target.apply(&request("alice", "AdNew-Secret-2026!")).await, TargetOutcome::Applied);
    assert!(can_bind_dn(&dc.ldap_url(), &alice, "AdNew-Secret-2026!").await);
    assert!(!can_bind_dn(&dc.ldap_url(), &alice, samba_ad::USER_INITIAL_PASSWORD).await);

    // AD's own policy (length, complexity) refuses with its text, a permanent rejection.
    let TargetOutcome::Rejected { reason } = target.apply(&request("alice", "Ab1!")).await else {
        panic!("a password against the domain policy must be rejected")
    };
    assert!(reason.contains("constraintViolation (19)"), "{reason}");
    assert!(!reason.contains("Ab1!"), "{reason}");
    assert!(can_bind_dn(&dc.ldap_url(), &alice, "AdNew-Secret-2026!").await);

    let outcome = target.apply(&request("a*", "Never-Set-4!")).await;
    assert!(
        matches!(&outcome, TargetOutcome::Rejected { reason } if reason.starts_with("not found")),
        "{outcome:?}"
    );
}

/// The benchmark: changes per second applied to slapd with 8 concurrent operations, and
/// the p50/p99 apply latency. Ignored by default (it measures, it does not check much); run
/// `cargo test -p pwsync-server --test ldap_target benchmark -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn benchmark_eight_concurrent_password_modifies() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    const CHANGES: usize = 2000;
    const CONCURRENT: usize = 8;
    let Some(slapd) = Slapd::start() else { return };
    let target =
        Arc::new(LdapTarget::new(&LdapConfig { concurrency: CONCURRENT, ..config(&slapd) }).unwrap());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENT)
        .map(|_| {
            let (target, next) = (target.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let change = next.fetch_add(1, Ordering::Relaxed);
                    if change >= CHANGES {
                        return latencies;
                    }
                    let user = slapd::USERS[change % slapd::USERS.len()];
                    let begun = Instant::now();
                    let outcome = target.apply(&request(user, &format!("Bench-Secret-{change}"))).await;
                    assert_eq!(outcome, TargetOutcome::Applied);
                    latencies.push(begun.elapsed());
                }
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "ldap target, password-modify over ldaps, {CONCURRENT} concurrent: {CHANGES} changes in {elapsed:.2?} = {:.0}/s; \
         latency p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        CHANGES as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
        latencies[latencies.len() - 1]
    );
    assert_eq!(latencies.len(), CHANGES);
}
