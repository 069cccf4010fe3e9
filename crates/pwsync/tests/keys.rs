//! Key handling end to end: rotating the spool key pair with an overlap, rotating the server's
//! and a client's certificates, and revoking a client — each without losing a pending change.
//!
//! Real `pwsync` server and client processes, real TLS on 127.0.0.1, real `pwsync-capture`
//! hooks; rotation and revocation are done the way an operator does them (`pwsync keygen`,
//! `pwsync pki`, editing the configuration, SIGHUP for the server, a restart for a client).

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use pwsync_tls::Validity;

const SETTLE: Duration = Duration::from_secs(30);

/// A capture through the real hook, sealed to the public key in `public_key`.
fn capture_to_key(spool: &Path, public_key: &Path, account: &str, password: &str) -> String {
    capture_sealed_to(spool, public_key, account, None, password, "dc1")
}

/// Replaces the value of every line `key = ...` of a TOML file.
fn set_config_value(path: &Path, key: &str, value: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut found = false;
    let text: Vec<String> = text
        .lines()
        .map(|line| {
            if line.split('=').next().is_some_and(|name| name.trim() == key) {
                found = true;
                format!("{key} = {value}")
            } else {
                line.to_string()
            }
        })
        .collect();
    assert!(found, "{} has no {key}", path.display());
    std::fs::write(path, text.join("\n") + "\n").unwrap();
}

fn quoted(path: &Path) -> String {
    format!("{path:?}")
}

fn wait_for_audit(deployment: &Deployment, event: &str, count: usize) {
    wait_for(SETTLE, &format!("{count} audit events {event}"), || {
        deployment.audit_events().iter().filter(|(name, _)| name == event).count() >= count
    });
}

fn wait_applied(deployment: &Deployment, ids: &[String]) {
    wait_for(SETTLE, "the changes applied", || {
        let applied = deployment.applied_ids();
        ids.iter().all(|id| applied.contains(id))
    });
}

/// The serial of the certificate the server presents now, read from a fresh handshake.
fn served_certificate_serial(deployment: &Deployment, server: &Server, client: (&Path, &Path)) -> String {
    pwsync_tls::install_crypto_provider();
    let config = pwsync_tls::client_config(&deployment.pki.join("ca.pem"), client.0, client.1).unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut connection = rustls::ClientConnection::new(Arc::clone(&config), name).unwrap();
    let mut tcp = std::net::TcpStream::connect(&server.address).unwrap();
    while connection.is_handshaking() {
        connection.complete_io(&mut tcp).unwrap();
    }
    let certificate = connection.peer_certificates().unwrap()[0].clone();
    pwsync_tls::peer_identity(certificate.as_ref()).unwrap().serial
}

#[test]
fn a_spool_key_rotation_keeps_old_records_openable_and_a_stray_old_record_is_kept_not_lost() {
    let dir = TestDir::new("spool-key-rotation");
    let deployment = Deployment::new(&dir.path, false);
    let server = Server::start(&deployment);
    let setup = deployment.add_client("dc1", &server);
    let mut passwords = Vec::new();
    let mut ids = Vec::new();

    // Changes sealed to the old key wait in the spool while the operator rotates.
    for index in 0..3 {
        let password = password();
        ids.push(capture_to_key(&setup.spool, &deployment.public_key, &format!("old{index}"), &password));
        passwords.push(password);
    }
    let new_keys = dir.path.join("keys-new");
    let status = pwsync().args(["keygen", "--out"]).arg(&new_keys).stdout(Stdio::null()).status().unwrap();
    assert!(status.success());
    let new_public = new_keys.join("spool.pub");
    let new_secret = new_keys.join("spool.key");
    // The overlap: the client holds both secret keys; the hooks already seal to the new one.
    set_config_value(
        &setup.config,
        "spool_keys",
        &format!("[{}, {}]", quoted(&new_secret), quoted(&deployment.secret_key)),
    );
    for index in 0..3 {
        let password = password();
        ids.push(capture_to_key(&setup.spool, &new_public, &format!("new{index}"), &password));
        passwords.push(password);
    }
    let client = Client::start(&setup);
    wait_applied(&deployment, &ids);
    wait_for(SETTLE, "the spool emptied", || pending_records(&setup.spool) == 0);
    client.kill9();

    // The overlap ends; a hook that was missed still seals to the old key. Its record is
    // moved to failed/ with a named reason — kept, not lost — and delivered once the
    // operator puts the old key back and retries it.
    set_config_value(&setup.config, "spool_keys", &format!("[{}]", quoted(&new_secret)));
    let stray_password = password();
    let stray = capture_to_key(&setup.spool, &deployment.public_key, "stray", &stray_password);
    passwords.push(stray_password);
    let client = Client::start(&setup);
    wait_for(SETTLE, "the stray record in failed/", || {
        std::fs::read_dir(setup.spool.join("failed")).is_ok_and(|mut entries| {
            entries
                .any(|entry| entry.unwrap().file_name().to_string_lossy().ends_with(&format!("{stray}.pws")))
        })
    });
    let reasons = failed_reasons(&setup.spool);
    assert!(reasons.iter().any(|reason| reason.contains("unknown_key")), "{reasons:?}");
    client.kill9();
    set_config_value(
        &setup.config,
        "spool_keys",
        &format!("[{}, {}]", quoted(&new_secret), quoted(&deployment.secret_key)),
    );
    let retried = pwsync().args(["failed", "retry", &stray, "--config"]).arg(&setup.config).output().unwrap();
    assert!(retried.status.success(), "{}", String::from_utf8_lossy(&retried.stderr));
    let _client = Client::start(&setup);
    wait_applied(&deployment, &[stray]);
    assert!(failed_reasons(&setup.spool).is_empty());
    deployment.assert_no_password_anywhere(&passwords);
}

#[test]
fn rotating_the_server_and_a_client_certificate_loses_no_pending_change() {
    let dir = TestDir::new("certificate-rotation");
    let deployment = Deployment::new(&dir.path, false);
    let server = Server::start(&deployment);
    let setup = deployment.add_client("dc1", &server);
    let old_client_certificate = deployment.pki.join("dc1.pem");
    let old_client_key = deployment.pki.join("dc1.key");
    let mut passwords = Vec::new();
    let mut capture = |account: &str| {
        let password = password();
        let id = deployment.capture(&setup.spool, account, &password, "dc1");
        passwords.push(password);
        id
    };

    let client = Client::start(&setup);
    let first = capture("alice");
    wait_applied(&deployment, std::slice::from_ref(&first));
    let old_server_serial =
        served_certificate_serial(&deployment, &server, (&old_client_certificate, &old_client_key));

    // Server certificate: a new one from the same CA, the configuration pointed at it, SIGHUP.
    // The client keeps running and keeps delivering; changes captured meanwhile arrive.
    let rotated = dir.path.join("pki-rotated");
    let new_server = pwsync_tls::issue_server(
        &deployment.pki,
        "server",
        &["127.0.0.1".into()],
        &rotated,
        Validity::days(1),
    )
    .unwrap();
    set_config_value(&deployment.server_config, "certificate", &quoted(&new_server.certificate));
    set_config_value(&deployment.server_config, "key", &quoted(&new_server.private_key));
    let during = capture("bob");
    server.hangup();
    wait_for_audit(&deployment, "tls_reloaded", 1);
    let after = capture("carol");
    wait_applied(&deployment, &[during, after]);
    let new_server_serial =
        served_certificate_serial(&deployment, &server, (&old_client_certificate, &old_client_key));
    assert_ne!(old_server_serial, new_server_serial);
    assert_eq!(new_server_serial, new_server.serial);

    // Client certificate: changes pile up while the client is down, the configuration is
    // pointed at a new certificate, the client restarts and delivers them all.
    client.kill9();
    let pending: Vec<String> = (0..5).map(|index| capture(&format!("user{index}"))).collect();
    let new_client =
        pwsync_tls::issue_client(&deployment.pki, "dc1", &[DOMAIN.into()], &rotated, Validity::days(1))
            .unwrap();
    set_config_value(&setup.config, "certificate", &quoted(&new_client.certificate));
    set_config_value(&setup.config, "key", &quoted(&new_client.private_key));
    let _client = Client::start(&setup);
    wait_applied(&deployment, &pending);
    wait_for(SETTLE, "the spool emptied", || pending_records(&setup.spool) == 0);
    let submitters = submitters(&deployment);
    assert!(submitters.iter().all(|name| name == "dc1"), "{submitters:?}");
    deployment.assert_no_password_anywhere(&passwords);
}

/// Who submitted each change, as the ledger recorded it.
fn submitters(deployment: &Deployment) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(&deployment.ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut statement = conn.prepare("SELECT DISTINCT client FROM changes").unwrap();
    statement.query_map([], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn a_revoked_client_is_refused_on_new_and_open_connections_and_keeps_its_changes() {
    let dir = TestDir::new("revocation");
    let deployment = Deployment::new(&dir.path, false);
    let server = Server::start(&deployment);
    let revoked_setup = deployment.add_client("dc1", &server);
    let other_setup = deployment.add_client("dc2", &server);
    let mut passwords = Vec::new();
    let mut capture = |spool: &Path, account: &str, origin: &str| {
        let password = password();
        let id = deployment.capture(spool, account, &password, origin);
        passwords.push(password);
        id
    };

    // Both clients deliver, so both hold an open (kept-alive) connection.
    let revoked_client = Client::start(&revoked_setup);
    let _other_client = Client::start(&other_setup);
    let warm = [capture(&revoked_setup.spool, "alice", "dc1"), capture(&other_setup.spool, "bob", "dc2")];
    wait_applied(&deployment, &warm);

    // The operator revokes dc1, names the list in the server's [tls] table and reloads.
    let output = pwsync()
        .args(["pki", "revoke", "--ca-dir"])
        .arg(&deployment.pki)
        .arg("--certificate")
        .arg(deployment.pki.join("dc1.pem"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("\"dc1\"") && printed.contains("revoked.crl.pem"), "{printed}");
    let list: PathBuf = deployment.pki.join(pwsync_tls::REVOCATION_LIST_FILE);
    add_revocation_list(&deployment.server_config, &list);
    let check = pwsync().arg("check-config").arg(&deployment.server_config).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    server.hangup();
    wait_for_audit(&deployment, "tls_reloaded", 1);

    // On its open connection: every request refused with 403, audited, the change kept.
    let held = capture(&revoked_setup.spool, "carol", "dc1");
    wait_for_audit(&deployment, "revoked_client_refused", 1);
    assert_eq!(pending_records(&revoked_setup.spool), 1);
    // On a new connection: refused in the handshake.
    revoked_client.kill9();
    let revoked_client = Client::start(&revoked_setup);
    wait_for(SETTLE, "a handshake refused as revoked", || {
        deployment
            .audit_events()
            .iter()
            .any(|(event, detail)| event == "tls_refused" && detail.contains("revoked"))
    });
    assert_eq!(pending_records(&revoked_setup.spool), 1);
    assert!(!deployment.applied_ids().contains(&held));
    assert!(failed_reasons(&revoked_setup.spool).is_empty(), "a refusal must not fail the change");

    // The other client is served all along.
    let other = capture(&other_setup.spool, "dave", "dc2");
    wait_applied(&deployment, std::slice::from_ref(&other));

    // A broken list on reload: refused by name, the server keeps the list it had.
    std::fs::copy(&list, dir.path.join("good.crl.pem")).unwrap();
    std::fs::write(&list, "not a revocation list\n").unwrap();
    server.hangup();
    wait_for_audit(&deployment, "tls_reload_failed", 1);
    let failure =
        deployment.audit_events().into_iter().find(|(event, _)| event == "tls_reload_failed").unwrap();
    assert!(failure.1.contains("revocation list"), "{failure:?}");
    let still = capture(&other_setup.spool, "erin", "dc2");
    wait_applied(&deployment, std::slice::from_ref(&still));
    std::fs::copy(dir.path.join("good.crl.pem"), &list).unwrap();

    // dc1 gets a new certificate; its held change is delivered.
    revoked_client.kill9();
    let reissued = dir.path.join("reissued");
    let new_client =
        pwsync_tls::issue_client(&deployment.pki, "dc1", &[DOMAIN.into()], &reissued, Validity::days(1))
            .unwrap();
    set_config_value(&revoked_setup.config, "certificate", &quoted(&new_client.certificate));
    set_config_value(&revoked_setup.config, "key", &quoted(&new_client.private_key));
    let _revoked_client = Client::start(&revoked_setup);
    wait_applied(&deployment, &[held]);
    wait_for(SETTLE, "the spool emptied", || pending_records(&revoked_setup.spool) == 0);
    deployment.assert_no_password_anywhere(&passwords);
}

#[test]
fn a_revocation_list_from_another_ca_is_refused_by_name() {
    let dir = TestDir::new("foreign-revocation-list");
    let deployment = Deployment::new(&dir.path, false);
    let other = dir.path.join("other-ca");
    pwsync_tls::init_ca(&other, "other CA", Validity::days(1)).unwrap();
    let foreign =
        pwsync_tls::issue_client(&other, "dc9", &[DOMAIN.into()], &other, Validity::days(1)).unwrap();
    let list = pwsync_tls::revoke_client(&other, &foreign.certificate).unwrap().list;
    add_revocation_list(&deployment.server_config, &list);
    let check = pwsync().arg("check-config").arg(&deployment.server_config).output().unwrap();
    assert!(!check.status.success());
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(stderr.contains("is not signed by the deployment CA"), "{stderr}");
}

fn add_revocation_list(server_config: &Path, list: &Path) {
    let text = std::fs::read_to_string(server_config).unwrap();
    let text = text.replacen("[tls]\n", &format!("[tls]\nrevocation_list = {}\n", quoted(list)), 1);
    std::fs::write(server_config, text).unwrap();
}
