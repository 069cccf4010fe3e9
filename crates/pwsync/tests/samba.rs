//! pwsync on a real Samba AD domain controller, started by the test on a loopback address: the
//! check password script is `pwsync-capture --samba`, the client asks the DC over verified
//! LDAPS which accounts are in scope and whether a change committed, and the server's recorder
//! target shows which passwords arrived (as SHA-256, in order).
//!
//! The first test's DC serves many scenarios in turn: three change routes with a non-ASCII
//! password, nested-group scope, computer accounts, filter metacharacters in account names, a
//! change Samba refuses after the script accepted it, and the DC stopped while a change waits.
//! The others: a refused change with the user's next change right behind it (only a record's
//! own commit confirms it), back-to-back resets, "must change at next logon"; and two
//! replicating DCs with skewed clocks, ordered by the directory's password version.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{pending_records, sha256_hex, wait_for, Client, Deployment, Server, TestDir};
use pwsync_testbed::samba_ad::{self, SambaDc, SambaOptions, BASE_DN};

const SYNC_GROUP: &str = "CN=pwsync-sync,CN=Users,DC=example,DC=test";

fn suffix() -> String {
    format!("{:06}", rand::random_range(0..1_000_000))
}

/// The scope filter of the test: people who are members of pwsync-sync, also through nested
/// groups (LDAP_MATCHING_RULE_IN_CHAIN).
fn scope_filter() -> String {
    format!("(&(objectCategory=person)(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:={SYNC_GROUP}))")
}

/// A user's own password change over LDAP: delete the old unicodePwd, add the new one, bound
/// as the user. Returns the directory's refusal, if any.
fn self_change_over_ldap(dc: &SambaDc, account: &str, old: &str, new: &str) -> Result<(), String> {
    let quoted_utf16 = |password: &str| {
        format!("\"{password}\"").encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>()
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (connection, mut ldap) = ldap3::LdapConnAsync::new(&dc.ldap_url()).await.unwrap();
        tokio::spawn(connection.drive());
        ldap.simple_bind(&format!("{account}@example.test"), old)
            .await
            .and_then(|result| result.success())
            .map_err(|error| format!("bind: {error}"))?;
        let old_value = quoted_utf16(old);
        let new_value = quoted_utf16(new);
        let changes = vec![
            ldap3::Mod::Delete(&b"unicodePwd"[..], std::collections::HashSet::from([&old_value[..]])),
            ldap3::Mod::Add(&b"unicodePwd"[..], std::collections::HashSet::from([&new_value[..]])),
        ];
        let dn = format!("CN={account},CN=Users,{BASE_DN}");
        ldap.modify(&dn, changes)
            .await
            .and_then(|result| result.success())
            .map(drop)
            .map_err(|error| error.to_string())
    })
}

/// `smbpasswd -r`: a user's own change over SAMR (SMB), the old and new password on stdin.
fn self_change_over_samr(dc: &SambaDc, account: &str, old: &str, new: &str) {
    let mut child = Command::new("smbpasswd")
        .args(["-r", &dc.ip, "-U", account, "-s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("smbpasswd (samba-common-bin) is installed with Samba");
    child.stdin.take().unwrap().write_all(format!("{old}\n{new}\n{new}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "smbpasswd -r: {}", String::from_utf8_lossy(&output.stderr));
}

fn wait_recorded(deployment: &Deployment, account: &str, password: &str) {
    let hash = sha256_hex(password);
    wait_for(Duration::from_secs(30), &format!("{account}'s new password at the target"), || {
        deployment.recorded().iter().any(|(_, recorded, sha)| recorded == account && *sha == hash)
    });
}

fn not_recorded(deployment: &Deployment, password: &str) -> bool {
    let hash = sha256_hex(password);
    !deployment.recorded().iter().any(|(_, _, sha)| *sha == hash)
}

fn audited_by_key(deployment: &Deployment, event: &str, account: &str) -> bool {
    let conn =
        rusqlite::Connection::open_with_flags(&deployment.ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let key = format!("{}\\{}", common::DOMAIN, account.to_lowercase());
    conn.query_row("SELECT count(*) FROM audit WHERE event = ?1 AND account_key = ?2", [event, &key], |row| {
        row.get::<_, i64>(0)
    })
    .unwrap()
        > 0
}

/// `pwsync-capture --samba` into `spool` as a check password script line, on a clock shifted by
/// `clock_offset_s` when given (libfaketime, as the DC itself runs then; through a wrapper
/// script, since smb.conf options given to samba-tool cannot hold a second `=`).
fn hook_command(
    deployment: &Deployment,
    spool: &std::path::Path,
    origin: &str,
    clock_offset_s: Option<i64>,
) -> String {
    let hook = format!(
        "{} --samba --spool {} --key {} --origin {origin}",
        env!("CARGO_BIN_EXE_pwsync-capture"),
        spool.display(),
        deployment.public_key.display()
    );
    let Some(offset) = clock_offset_s else { return hook };
    let wrapper = deployment.dir.join(format!("hook-{origin}.sh"));
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexport LD_PRELOAD={} FAKETIME={offset:+} \
             FAKETIME_NO_CACHE=1\nexec {hook}\n",
            samba_ad::LIBFAKETIME
        ),
    )
    .unwrap();
    let executable = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
    std::fs::set_permissions(&wrapper, executable).unwrap();
    wrapper.display().to_string()
}

/// Scopes the client of `setup` by `dc` over LDAPS: members of pwsync-sync, bound as Administrator.
fn scope_client_to(setup: &common::ClientSetup, dc: &SambaDc, dir: &std::path::Path) {
    let bind_password_file = dir.join(format!("scope-bind-{}.secret", setup.name));
    std::fs::write(&bind_password_file, format!("{}\n", samba_ad::ADMIN_PASSWORD)).unwrap();
    let private = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600);
    std::fs::set_permissions(&bind_password_file, private).unwrap();
    common::append_to_client_config(
        setup,
        &format!(
            "\n[scope]\nkind = \"ldap\"\nurl = {:?}\nca_file = {:?}\nbind_dn = {:?}\nbind_password_file = {:?}\n\
             base_dn = {BASE_DN:?}\nfilter = {:?}\nconfirm_window_s = 3\n",
            dc.ldaps_url(),
            dc.ca_file(),
            samba_ad::ADMIN_DN,
            bind_password_file,
            scope_filter(),
        ),
    );
}

/// A DC with `pwsync-capture --samba` as its check password script, a server with the
/// recorder target, and a client configuration scoped by the DC over LDAPS (not started).
struct SambaPipeline {
    deployment: Deployment,
    dc: SambaDc,
    server: Server,
    setup: common::ClientSetup,
    spool: std::path::PathBuf,
}

impl SambaPipeline {
    /// `None` (having said why) when Samba is not installed outside CI.
    fn start(test_dir: &TestDir, options: SambaOptions) -> Option<SambaPipeline> {
        let deployment = Deployment::new(&test_dir.path, true);
        let spool = test_dir.path.join("spool-dc1");
        let hook = hook_command(&deployment, &spool, "dc1", None);
        let dc = SambaDc::start_with(SambaOptions { check_password_script: Some(hook), ..options })?;
        dc.samba_tool(&["group", "add", "pwsync-sync"]);
        let server = Server::start(&deployment);
        let setup = deployment.add_client("dc1", &server);
        assert_eq!(setup.spool, spool);
        scope_client_to(&setup, &dc, &test_dir.path);
        Some(SambaPipeline { deployment, dc, server, setup, spool })
    }

    /// Creates a user in the sync group with `password`.
    fn add_synced_user(&self, account: &str, password: &str) {
        self.dc.samba_tool(&["user", "create", account, password]);
        self.dc.samba_tool(&["group", "addmembers", "pwsync-sync", account]);
    }

    /// The SHA-256 of each password recorded at the target for `account`, in order.
    fn recorded_for(&self, account: &str) -> Vec<String> {
        self.deployment
            .recorded()
            .into_iter()
            .filter(|(_, recorded, _)| recorded == account)
            .map(|(_, _, sha)| sha)
            .collect()
    }
}

#[test]
fn samba_dc_changes_reach_the_target_in_scope_committed_and_exact() {
    let test_dir = TestDir::new("samba");
    let Some(pipeline) =
        SambaPipeline::start(&test_dir, SambaOptions { smb: true, ..SambaOptions::default() })
    else {
        return;
    };
    let SambaPipeline { deployment, mut dc, server, setup, spool } = pipeline;
    dc.samba_tool(&[
        "domain",
        "passwordsettings",
        "set",
        "--min-pwd-age=0",
        "--max-pwd-age=0",
        "--history-length=0",
    ]);
    dc.samba_tool(&["group", "add", "helpdesk"]);
    dc.samba_tool(&["group", "addmembers", "pwsync-sync", "helpdesk"]);
    dc.samba_tool(&["group", "addmembers", "helpdesk", "alice"]);
    dc.samba_tool(&["user", "create", "jörg", "JörgInitial1!"]);
    dc.samba_tool(&["group", "addmembers", "pwsync-sync", "jörg"]);
    dc.samba_tool(&["user", "create", "bob", "BobInitial1!"]);
    dc.samba_tool(&["computer", "create", "WS01"]);

    let client = Client::start(&setup);
    let mut passwords = Vec::new();

    // test-scope shows the query that decides, and tells a filtered-out account from a typo.
    let test_scope = |account: &str| {
        common::pwsync()
            .args(["client", "test-scope", account, "--config"])
            .arg(&setup.config)
            .output()
            .unwrap()
    };
    let alice = test_scope("alice");
    let text = String::from_utf8_lossy(&alice.stdout);
    assert!(alice.status.success() && text.contains("IN SCOPE"), "{text}");
    assert!(
        text.contains("(&(sAMAccountName=alice)(&(objectCategory=person)")
            && text.contains("CN=alice,CN=Users")
    );
    let bob = test_scope("bob");
    let text = String::from_utf8_lossy(&bob.stdout);
    assert_eq!(bob.status.code(), Some(1));
    assert!(text.contains("OUT OF SCOPE") && text.contains("exists (CN=bob,CN=Users"), "{text}");
    let star = test_scope("al*");
    assert!(
        String::from_utf8_lossy(&star.stdout).contains("(sAMAccountName=al\\2a)"),
        "escaped in the query"
    );

    // Three routes, each with a non-ASCII password that must arrive byte for byte.
    let first = format!("Pässwörd-密码-1!{}", suffix());
    self_change_over_ldap(&dc, "alice", samba_ad::USER_INITIAL_PASSWORD, &first).unwrap();
    wait_recorded(&deployment, "alice", &first);
    let second = format!("Zwëites-密码-2!{}", suffix());
    dc.samba_tool(&["user", "setpassword", "alice", &format!("--newpassword={second}")]);
    wait_recorded(&deployment, "alice", &second);
    let third = format!("Drïttes-密码-3!{}", suffix());
    self_change_over_samr(&dc, "alice", &second, &third);
    wait_recorded(&deployment, "alice", &third);
    // Direct and nested membership both count; the Unicode account name is found.
    let jorg = format!("Jörgs-Neues-4!{}", suffix());
    dc.samba_tool(&["user", "setpassword", "jörg", &format!("--newpassword={jorg}")]);
    wait_recorded(&deployment, "jörg", &jorg);
    passwords.extend([first, second, third.clone(), jorg]);

    // Outside the filter: captured, reported, never forwarded.
    let bob = format!("BobsNewPass-5!{}", suffix());
    dc.samba_tool(&["user", "setpassword", "bob", &format!("--newpassword={bob}")]);
    wait_for(Duration::from_secs(30), "bob's change put on record as out of scope", || {
        audited_by_key(&deployment, "out_of_scope", "bob")
    });
    assert!(not_recorded(&deployment, &bob), "bob is outside the filter");
    passwords.push(bob);

    // A computer account: Samba does not call the script for it, and a capture of it from
    // elsewhere is out of scope all the same.
    let machine = format!("Machine-Pw-6!{}", suffix());
    let machine_capture = deployment.capture(&spool, "WS01$", &machine, "dc1");
    // Filter metacharacters in account names only ever match themselves.
    let injections = ["*", "al*", "alice)(sAMAccountName=*", "*)(|(objectClass=*", "\\61lice", "alice\\"];
    let mut captures = vec![("WS01$", machine_capture, machine)];
    for account in injections {
        let password = format!("Injected-7!{}", suffix());
        captures.push((account, deployment.capture(&spool, account, &password, "dc1"), password));
    }
    wait_for(Duration::from_secs(30), "the synthetic captures settled", || pending_records(&spool) == 0);
    for (account, id, password) in captures {
        assert!(audited_by_key(&deployment, "out_of_scope", account), "{account:?} not put on record");
        assert!(deployment.ledger_state(&id).is_none(), "the change of {account:?} was forwarded");
        assert!(not_recorded(&deployment, &password), "{account:?} widened the scope");
        passwords.push(password);
    }

    // A change Samba refuses after the script accepted it (password history) never arrives.
    dc.samba_tool(&["domain", "passwordsettings", "set", "--history-length=5"]);
    let refused = passwords[1].clone();
    let error = self_change_over_ldap(&dc, "alice", &third, &refused).unwrap_err();
    assert!(error.contains("Constraint") || error.contains("19"), "Samba should refuse it: {error}");
    wait_for(Duration::from_secs(30), "the refused change put on record as not committed", || {
        audited_by_key(&deployment, "not_committed", "alice")
    });
    let latest_alice = deployment.recorded().into_iter().rfind(|(_, account, _)| account == "alice");
    assert_eq!(latest_alice.unwrap().2, sha256_hex(&third), "the target keeps alice's real password");
    dc.samba_tool(&["domain", "passwordsettings", "set", "--history-length=0"]);

    // The DC stops while a change waits: it is kept, then delivered when the DC is back.
    client.kill9();
    let waiting = format!("WhileDcDown-8!{}", suffix());
    dc.samba_tool(&["user", "setpassword", "alice", &format!("--newpassword={waiting}")]);
    assert_eq!(pending_records(&spool), 1);
    dc.stop();
    let client = Client::start(&setup);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(pending_records(&spool), 1, "kept while the directory cannot be asked");
    assert!(not_recorded(&deployment, &waiting));
    dc.run();
    wait_recorded(&deployment, "alice", &waiting);
    wait_for(Duration::from_secs(30), "the spool emptied", || pending_records(&spool) == 0);
    passwords.push(waiting);

    drop(client);
    drop(server);
    deployment.assert_no_password_anywhere(&passwords);
    assert!(std::fs::read_dir(spool.join("failed")).unwrap().next().is_none(), "nothing failed");
}

/// A change Samba refuses after the script (password history), with the user's next change
/// right behind it: only the commits reach the target, in order, whatever the gap; back-to-back
/// resets keep their order; a reset with "must change at next logon" (pwdLastSet 0) arrives.
#[test]
fn a_refused_change_never_reaches_the_target_when_the_next_one_follows_at_once() {
    let test_dir = TestDir::new("samba-refused");
    let Some(pipeline) = SambaPipeline::start(&test_dir, SambaOptions::default()) else { return };
    pipeline.dc.samba_tool(&[
        "domain",
        "passwordsettings",
        "set",
        "--min-pwd-age=0",
        "--max-pwd-age=0",
        "--history-length=3",
    ]);
    let gaps = [0u64, 50, 500, 2000];
    for index in 0..gaps.len() {
        pipeline.add_synced_user(&format!("gap{index}"), &format!("Initial-{index}!{}", suffix()));
    }
    pipeline.add_synced_user("resets", &format!("Initial-r!{}", suffix()));
    let client = Client::start(&pipeline.setup);
    wait_for(Duration::from_secs(30), "the captures of the set-up settled", || {
        pending_records(&pipeline.spool) == 0
    });
    let mut passwords = Vec::new();

    for (index, gap) in gaps.iter().enumerate() {
        let account = format!("gap{index}");
        let initial = format!("Gap-Start-{index}!{}", suffix());
        pipeline.dc.samba_tool(&["user", "setpassword", &account, &format!("--newpassword={initial}")]);
        wait_recorded(&pipeline.deployment, &account, &initial);
        let before = pipeline.recorded_for(&account).len();
        let accepted = format!("Gap-A-{index}!{}", suffix());
        self_change_over_ldap(&pipeline.dc, &account, &initial, &accepted).unwrap();
        // A reuse of the password before: the script captures it, then Samba refuses it.
        let refused = self_change_over_ldap(&pipeline.dc, &account, &accepted, &initial).unwrap_err();
        assert!(refused.contains("Constraint") || refused.contains("19"), "refused for history: {refused}");
        std::thread::sleep(Duration::from_millis(*gap));
        let next = format!("Gap-C-{index}!{}", suffix());
        self_change_over_ldap(&pipeline.dc, &account, &accepted, &next).unwrap();
        wait_recorded(&pipeline.deployment, &account, &next);
        wait_for(Duration::from_secs(30), "the spool emptied", || pending_records(&pipeline.spool) == 0);
        assert_eq!(
            pipeline.recorded_for(&account)[before..],
            [sha256_hex(&accepted), sha256_hex(&next)],
            "gap {gap} ms: exactly the two committed passwords, in order (the refused one is the \
             earlier password, whose hash would stand between them)"
        );
        passwords.extend([initial, accepted, next]);
    }

    // Twenty administrator resets back to back: nothing older is applied after a newer one.
    let resets: Vec<String> = (0..20).map(|run| format!("Reset-{run:02}!{}", suffix())).collect();
    for password in &resets {
        admin_reset_over_ldap(&pipeline.dc, "resets", password);
    }
    wait_recorded(&pipeline.deployment, "resets", resets.last().unwrap());
    wait_for(Duration::from_secs(30), "the spool emptied", || pending_records(&pipeline.spool) == 0);
    let order: Vec<usize> = pipeline
        .recorded_for("resets")
        .iter()
        .filter_map(|sha| resets.iter().position(|password| sha256_hex(password) == *sha))
        .collect();
    assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "applied out of order: {order:?}");
    assert_eq!(order.last(), Some(&19), "the last reset wins");
    passwords.extend(resets);

    // "Must change at next logon": pwdLastSet is 0, whenChanged stands in.
    let must_change = format!("Must-Change-1!{}", suffix());
    pipeline.dc.samba_tool(&[
        "user",
        "setpassword",
        "resets",
        &format!("--newpassword={must_change}"),
        "--must-change-at-next-login",
    ]);
    wait_recorded(&pipeline.deployment, "resets", &must_change);
    passwords.push(must_change);

    drop(client);
    let SambaPipeline { deployment, server, spool, .. } = pipeline;
    drop(server);
    deployment.assert_no_password_anywhere(&passwords);
    assert!(std::fs::read_dir(spool.join("failed")).unwrap().next().is_none(), "nothing failed");
}

/// Two replicating DCs of one domain, the second's clock three minutes behind, each with the
/// hook and its own client. A change on DC1, then after replication a reset on DC2: the reset
/// is captured "earlier" by the clocks, but the directory keeps it (its password version is
/// higher), and so must the targets. Then the reverse order.
#[test]
fn the_directory_version_decides_between_two_dcs_whatever_their_clocks() {
    const SKEW_S: i64 = -180;
    let test_dir = TestDir::new("samba-two-dcs");
    let Some(pipeline) = SambaPipeline::start(&test_dir, SambaOptions::default()) else { return };
    let SambaPipeline { deployment, dc: dc1, server, setup: dc1_setup, spool: dc1_spool } = pipeline;
    dc1.samba_tool(&["domain", "passwordsettings", "set", "--min-pwd-age=0", "--history-length=0"]);
    dc1.samba_tool(&["user", "create", "carol", &format!("Carol-Initial-1!{}", suffix())]);
    dc1.samba_tool(&["group", "addmembers", "pwsync-sync", "carol"]);
    let dc2_setup = deployment.add_client("dc2", &server);
    let dc2_hook = hook_command(&deployment, &dc2_setup.spool, "dc2", Some(SKEW_S));
    let dc2 = dc1.join(
        "dc2",
        SambaOptions {
            check_password_script: Some(dc2_hook),
            clock_offset_s: Some(SKEW_S),
            ..SambaOptions::default()
        },
    );
    scope_client_to(&dc2_setup, &dc2, &test_dir.path);
    let clients = [Client::start(&dc1_setup), Client::start(&dc2_setup)];
    let spools = [&dc1_spool, &dc2_setup.spool];
    let settled = || {
        wait_for(Duration::from_secs(30), "both spools emptied", || {
            spools.iter().all(|spool| pending_records(spool) == 0)
        })
    };
    settled();
    let mut passwords = Vec::new();

    // DC1 first, DC2 after replication (its clock behind): DC2's password is the directory's.
    let on_dc1 = format!("Carol-DC1-2!{}", suffix());
    dc1.samba_tool(&["user", "setpassword", "carol", &format!("--newpassword={on_dc1}")]);
    wait_recorded(&deployment, "carol", &on_dc1);
    dc2.replicate_from(&dc1);
    let on_dc2 = format!("Carol-DC2-3!{}", suffix());
    dc2.samba_tool(&["user", "setpassword", "carol", &format!("--newpassword={on_dc2}")]);
    dc1.replicate_from(&dc2);
    wait_recorded(&deployment, "carol", &on_dc2);
    settled();
    assert_directory_password(&dc1, "carol", &on_dc2, &on_dc1);
    let rows = carol_rows(&deployment);
    let (first, second) = (&rows[rows.len() - 2], &rows[rows.len() - 1]);
    assert!(second.0 < first.0, "the skew makes DC2's reset look older: {rows:?}");
    assert_eq!(second.1, first.1.map(|version| version + 1), "the ledger keeps the versions: {rows:?}");
    assert_eq!(deployment.recorded().last().unwrap().2, sha256_hex(&on_dc2), "the targets hold DC2's reset");
    let shown = common::pwsync()
        .args(["changes", "carol", "--config"])
        .arg(&deployment.server_config)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    let version = second.1.unwrap();
    assert!(
        shown.contains(&format!("directory version {version}")),
        "pwsync changes shows the version: {shown}"
    );

    // The reverse: DC2 first, then DC1 after replication.
    let on_dc2_again = format!("Carol-DC2-4!{}", suffix());
    dc2.samba_tool(&["user", "setpassword", "carol", &format!("--newpassword={on_dc2_again}")]);
    wait_recorded(&deployment, "carol", &on_dc2_again);
    dc1.replicate_from(&dc2);
    let on_dc1_again = format!("Carol-DC1-5!{}", suffix());
    dc1.samba_tool(&["user", "setpassword", "carol", &format!("--newpassword={on_dc1_again}")]);
    dc2.replicate_from(&dc1);
    wait_recorded(&deployment, "carol", &on_dc1_again);
    settled();
    assert_directory_password(&dc2, "carol", &on_dc1_again, &on_dc2_again);
    assert_eq!(deployment.recorded().last().unwrap().2, sha256_hex(&on_dc1_again));
    let rows = carol_rows(&deployment);
    assert!(
        rows.iter().rev().take(4).all(|row| row.1.is_some()),
        "every DC change carries a version: {rows:?}"
    );
    passwords.extend([on_dc1, on_dc2, on_dc2_again, on_dc1_again]);

    drop(clients);
    drop(server);
    deployment.assert_no_password_anywhere(&passwords);
}

/// The directory accepts `current` for `account` and no longer `previous`.
fn assert_directory_password(dc: &SambaDc, account: &str, current: &str, previous: &str) {
    let binds = |password: &str| {
        Command::new("ldapsearch")
            .args(["-x", "-H", &dc.ldap_url(), "-D", &format!("{account}@example.test"), "-y", "/dev/stdin"])
            .args(["-s", "base", "-b", "", "1.1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(password.as_bytes())?;
                child.wait()
            })
            .is_ok_and(|status| status.success())
    };
    assert!(binds(current), "{} does not accept {account}'s newest password", dc.host_name);
    assert!(!binds(previous), "{} still accepts {account}'s replaced password", dc.host_name);
}

/// (captured_at_ns, directory_version) of carol's changes in the ledger, in the order received.
fn carol_rows(deployment: &Deployment) -> Vec<(i64, Option<u32>)> {
    let conn =
        rusqlite::Connection::open_with_flags(&deployment.ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut statement = conn
        .prepare("SELECT captured_at_ns, directory_version FROM changes WHERE account = 'carol' ORDER BY received_at_ns")
        .unwrap();
    statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

/// The hook's cost inside the DC's own password path: admin resets timed with no check password
/// script and with `pwsync-capture --samba`, on the same DC, both as an LDAP unicodePwd replace
/// (the operation alone) and as a whole `samba-tool user setpassword` run. Prints text and JSON.
///
/// `cargo test --release -p pwsync --test samba -- --ignored --nocapture hook_latency`
#[test]
#[ignore = "benchmark: run by hand, see docs/benchmarks.md"]
fn hook_latency_in_the_dc_path() {
    const RUNS: usize = 40;
    let test_dir = TestDir::new("samba-bench");
    let deployment = Deployment::new(&test_dir.path, false);
    let spool = test_dir.path.join("spool");
    let hook = format!(
        "{} --samba --spool {} --key {} --origin dc1",
        env!("CARGO_BIN_EXE_pwsync-capture"),
        spool.display(),
        deployment.public_key.display()
    );
    let Some(mut dc) = SambaDc::start_with(SambaOptions::default()) else { return };
    dc.samba_tool(&["domain", "passwordsettings", "set", "--min-pwd-age=0", "--history-length=0"]);
    let mut results = Vec::new();
    for (label, script) in [("no hook", None), ("pwsync-capture --samba", Some(hook.as_str()))] {
        dc.stop();
        dc.set_check_password_script(script);
        dc.run();
        let mut ldap_ms = Vec::new();
        let mut tool_ms = Vec::new();
        for run in 0..RUNS {
            let password = format!("Bench-Pässwort-{run}!{}", suffix());
            let started = std::time::Instant::now();
            admin_reset_over_ldap(&dc, "alice", &password);
            ldap_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            let password = format!("Bench-Tool-{run}!{}", suffix());
            let started = std::time::Instant::now();
            dc.samba_tool(&["user", "setpassword", "alice", &format!("--newpassword={password}")]);
            tool_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        results.push((label, percentiles(&mut ldap_ms), percentiles(&mut tool_ms)));
    }
    println!("admin reset of one account on a Samba AD DC, {RUNS} runs each (ms)");
    println!(
        "{:<26} {:>10} {:>10} {:>14} {:>14}",
        "check password script", "ldap p50", "ldap p90", "samba-tool p50", "samba-tool p90"
    );
    for (label, ldap, tool) in &results {
        println!("{label:<26} {:>10.1} {:>10.1} {:>14.1} {:>14.1}", ldap.0, ldap.1, tool.0, tool.1);
    }
    let json: Vec<serde_json::Value> = results
        .iter()
        .map(|(label, ldap, tool)| {
            serde_json::json!({"hook": label, "runs": RUNS, "ldap_replace_ms": {"p50": ldap.0, "p90": ldap.1},
                "samba_tool_setpassword_ms": {"p50": tool.0, "p90": tool.1}})
        })
        .collect();
    println!("{}", serde_json::json!({"benchmark": "samba_hook_latency", "results": json}));
    assert_eq!(pending_records(&spool), 2 * RUNS, "every change with the hook was captured");
}

/// An administrator's reset over LDAP: replace unicodePwd, bound as Administrator.
fn admin_reset_over_ldap(dc: &SambaDc, account: &str, new: &str) {
    let value = format!("\"{new}\"").encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (connection, mut ldap) = ldap3::LdapConnAsync::new(&dc.ldap_url()).await.unwrap();
        tokio::spawn(connection.drive());
        ldap.simple_bind(samba_ad::ADMIN_DN, samba_ad::ADMIN_PASSWORD).await.unwrap().success().unwrap();
        let replace = ldap3::Mod::Replace(&b"unicodePwd"[..], std::collections::HashSet::from([&value[..]]));
        let dn = format!("CN={account},CN=Users,{BASE_DN}");
        ldap.modify(&dn, vec![replace]).await.unwrap().success().unwrap();
    });
}

/// (p50, p90) of `values`, sorted in place.
fn percentiles(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9))
}
