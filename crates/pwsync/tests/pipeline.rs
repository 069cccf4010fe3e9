//! End-to-end tests of the backbone: capture → sealed spool → client → mTLS server → ledger →
//! targets, with real processes on 127.0.0.1, SIGKILL included. Every test ends by scanning all
//! of its files (logs, ledger, target output, spool) for the passwords it used.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn a_captured_change_is_applied_with_the_exact_password_and_its_record_deleted() {
    let dir = TestDir::new("basic");
    let deployment = Deployment::new(&dir.path, true);
    let server = Server::start(&deployment);
    let setup = deployment.add_client("dc1", &server);
    let client = Client::start(&setup);

    let password = "pwsync-canary-Pässwörd-密码-1!".to_string();
    let id = deployment.capture(&setup.spool, "alice", &password, "dc1");

    wait_for(Duration::from_secs(20), "the record to be deleted", || pending_records(&setup.spool) == 0);
    assert_eq!(deployment.ledger_state(&id).as_deref(), Some("applied"));
    assert!(deployment.applied_ids().contains(&id));
    let recorded = deployment.recorded();
    assert_eq!(recorded, vec![(id, "alice".to_string(), sha256_hex(&password))]);
    drop(client);
    drop(server);
    deployment.assert_no_password_anywhere(&[password]);
}

/// Captures `count` changes for distinct accounts; returns (ids, passwords).
fn capture_many(
    deployment: &Deployment,
    spool: &std::path::Path,
    count: usize,
) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::with_capacity(count);
    let mut passwords = Vec::with_capacity(count);
    for index in 0..count {
        let password = password();
        ids.push(deployment.capture(spool, &format!("user{index:04}"), &password, "dc1"));
        passwords.push(password);
    }
    (ids, passwords)
}

#[test]
fn sigkill_of_the_client_mid_batch_loses_nothing() {
    let dir = TestDir::new("kill-client");
    let deployment = Deployment::new(&dir.path, false);
    let server = Server::start(&deployment);
    let setup = deployment.add_client("dc1", &server);
    let (ids, passwords) = capture_many(&deployment, &setup.spool, 1000);

    let client = Client::start(&setup);
    wait_for(Duration::from_secs(30), "some changes applied", || !deployment.applied_ids().is_empty());
    client.kill9();
    let applied_at_kill = deployment.applied_ids().len();
    assert!(applied_at_kill < 1000, "the kill must land mid-run (applied {applied_at_kill})");

    let client = Client::start(&setup);
    wait_for(Duration::from_secs(60), "the spool to drain", || pending_records(&setup.spool) == 0);
    let applied = deployment.applied_ids();
    let captured: std::collections::BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(applied, captured, "every captured change applied, nothing else");
    assert!(ids.iter().all(|id| deployment.ledger_state(id).as_deref() == Some("applied")));
    drop(client);
    drop(server);
    deployment.assert_no_password_anywhere(&passwords);
}

#[test]
fn sigkill_of_the_server_mid_batch_loses_nothing() {
    let dir = TestDir::new("kill-server");
    let deployment = Deployment::new(&dir.path, false);
    let server = Server::start(&deployment);
    let address = server.address.clone();
    let setup = deployment.add_client("dc1", &server);
    let (ids, passwords) = capture_many(&deployment, &setup.spool, 1000);

    let client = Client::start(&setup);
    wait_for(Duration::from_secs(30), "some changes applied", || !deployment.applied_ids().is_empty());
    server.kill9();
    let applied_at_kill = deployment.applied_ids().len();
    assert!(applied_at_kill < 1000, "the kill must land mid-run (applied {applied_at_kill})");
    std::thread::sleep(Duration::from_millis(500)); // the client meets a dead server

    let server = Server::start_on(&deployment, Some(&address));
    wait_for(Duration::from_secs(60), "the spool to drain", || pending_records(&setup.spool) == 0);
    let captured: std::collections::BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(deployment.applied_ids(), captured);
    assert!(ids.iter().all(|id| deployment.ledger_state(id).as_deref() == Some("applied")));
    drop(client);
    drop(server);
    deployment.assert_no_password_anywhere(&passwords);
}

#[test]
fn an_older_change_arriving_last_is_superseded_and_the_newer_password_stays() {
    let dir = TestDir::new("newest-wins");
    let deployment = Deployment::new(&dir.path, true);
    let server = Server::start(&deployment);
    let dc1 = deployment.add_client("dc1", &server);
    let dc2 = deployment.add_client("dc2", &server);

    // dc1 captures first (older), but its client is not running yet.
    let older_password = password();
    let older = deployment.capture(&dc1.spool, "bob", &older_password, "dc1");
    std::thread::sleep(Duration::from_millis(5));
    let newer_password = password();
    let newer = deployment.capture(&dc2.spool, "Bob", &newer_password, "dc2");

    let client2 = Client::start(&dc2);
    wait_for(Duration::from_secs(20), "dc2 to deliver", || pending_records(&dc2.spool) == 0);
    let client1 = Client::start(&dc1);
    wait_for(Duration::from_secs(20), "dc1 to deliver", || pending_records(&dc1.spool) == 0);

    assert_eq!(deployment.ledger_state(&newer).as_deref(), Some("applied"));
    assert_eq!(deployment.ledger_state(&older).as_deref(), Some("superseded"));
    let recorded = deployment.recorded();
    assert_eq!(recorded.len(), 1, "the older password never reached the target: {recorded:?}");
    assert_eq!(recorded[0].2, sha256_hex(&newer_password));
    assert!(std::fs::read_to_string(&dc1.log).unwrap().contains("superseded"));
    assert!(common::failed_reasons(&dc1.spool).is_empty());
    drop((client1, client2, server));
    deployment.assert_no_password_anywhere(&[older_password, newer_password]);
}
