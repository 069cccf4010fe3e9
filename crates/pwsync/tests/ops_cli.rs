//! End-to-end tests of the operator commands against a real server and client: `pwsync failed
//! list|show|retry|purge` on a client's rejected records, `pwsync changes ACCOUNT` and `pwsync
//! status` on both sides, with `--json` parsed. A target that refuses while a gate file exists
//! makes real rejections; opening the gate lets a retried record settle. Every output and file
//! is scanned for the passwords used.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;

fn run(args: &[&str], config: &Path) -> Output {
    pwsync().args(args).arg("--config").arg(config).output().unwrap()
}

fn ok_json(args: &[&str], config: &Path, outputs: &mut Vec<Vec<u8>>) -> serde_json::Value {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    let output = run(&all, config);
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    outputs.push(output.stdout.clone());
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{args:?}: not JSON ({error})"))
}

fn ok_text(args: &[&str], config: &Path, outputs: &mut Vec<Vec<u8>>) -> String {
    let output = run(args, config);
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    outputs.push(output.stdout.clone());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn operators_list_retry_and_purge_failures_and_see_changes_and_status_on_both_sides() {
    let dir = TestDir::new("ops-cli");
    let deployment = Deployment::new(&dir.path, false);
    let gate = deployment.add_gate_target();
    let server = Server::start(&deployment);
    let setup = deployment.add_client("dc1", &server);
    let client = Client::start(&setup);
    let passwords: Vec<String> = (0..3).map(|_| password()).collect();
    let alice = deployment.capture(&setup.spool, "alice", &passwords[0], "dc1");
    let bob = deployment.capture(&setup.spool, "bob", &passwords[1], "dc1");
    let carol = deployment.capture(&setup.spool, "Carol", &passwords[2], "dc1");
    wait_for(Duration::from_secs(30), "three rejected records in failed/", || {
        failed_reasons(&setup.spool).len() == 3
    });
    let mut outputs = Vec::new();

    // list: every rejected record with its reason.
    let listed = ok_json(&["failed", "list"], &setup.config, &mut outputs);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    let ids: Vec<&str> = listed.iter().map(|entry| entry["change_id"].as_str().unwrap()).collect();
    for id in [&alice, &bob, &carol] {
        assert!(ids.contains(&id.as_str()), "{id} listed");
    }
    assert!(listed.iter().all(
        |entry| entry["code"] == "rejected" && entry["detail"].as_str().unwrap().contains("gate closed")
    ));
    let text = ok_text(&["failed", "list"], &setup.config, &mut outputs);
    assert!(text.contains(&alice) && text.contains("3 failed record(s)"), "{text}");
    let shown = ok_text(&["failed", "show", &alice.to_uppercase()], &setup.config, &mut outputs);
    assert!(shown.contains(&alice) && shown.contains("gate closed") && shown.contains("rejected"), "{shown}");

    // A name that is not there is a named error and moves nothing, even beside a valid one.
    let refused = run(&["failed", "retry", &alice, "no-such-record"], &setup.config);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no failed record named \"no-such-record\""));
    assert_eq!(failed_reasons(&setup.spool).len(), 3);

    // retry: with the gate open, alice's record goes back and settles applied.
    std::fs::remove_file(&gate).unwrap();
    let retried = ok_json(&["failed", "retry", &alice], &setup.config, &mut outputs);
    assert_eq!(retried["retried"], serde_json::json!([alice]));
    wait_for(Duration::from_secs(30), "the retried change to be applied", || {
        deployment.ledger_state(&alice).as_deref() == Some("applied")
    });
    wait_for(Duration::from_secs(10), "the retried record to leave the spool", || {
        pending_records(&setup.spool) == 0
    });
    // purge: bob's record is gone for good.
    let purged = ok_text(&["failed", "purge", &bob], &setup.config, &mut outputs);
    assert!(purged.contains("1 record(s) purged"), "{purged}");
    let left = ok_json(&["failed", "list"], &setup.config, &mut outputs);
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["change_id"], carol.as_str());

    // changes: per-target outcomes from the ledger.
    let changes = ok_json(&["changes", "alice"], &deployment.server_config, &mut outputs);
    let changes = changes.as_array().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["id"], alice.as_str());
    assert_eq!(changes[0]["state"], "applied");
    assert_eq!(changes[0]["client"], "dc1");
    let targets = changes[0]["targets"].as_array().unwrap();
    let gate_outcome = targets.iter().find(|target| target["target"] == "gate").unwrap();
    assert_eq!(gate_outcome["state"], "applied");
    assert_eq!(gate_outcome["attempts"], 2, "rejected once, applied after the retry");
    let text = ok_text(&["changes", "CORP.EXAMPLE\\carol"], &deployment.server_config, &mut outputs);
    assert!(text.contains(&carol) && text.contains("REJECTED") && text.contains("gate closed"), "{text}");
    let none = ok_text(&["changes", "nobody"], &deployment.server_config, &mut outputs);
    assert!(none.contains("no change of \"nobody\""), "{none}");
    let partial = ok_json(&["changes", "o", "--contains"], &deployment.server_config, &mut outputs);
    assert_eq!(partial.as_array().unwrap().len(), 2, "bob and carol contain an o");

    // status, client side: nothing pending, one failed record, a recent contact.
    let status = ok_json(&["status"], &setup.config, &mut outputs);
    assert_eq!(status["role"], "client");
    assert_eq!(status["pending"], 0);
    assert_eq!(status["failed"], 1);
    let contact = status["last_contact_ns"].as_i64().expect("a contact was recorded");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    assert!(now - contact < 60_000_000_000, "contact within the last minute");
    let text = ok_text(&["status"], &setup.config, &mut outputs);
    assert!(text.contains("failed records:    1"), "{text}");

    // status, server side: the ledger's counts, the client, the targets.
    let status = ok_json(&["status"], &deployment.server_config, &mut outputs);
    assert_eq!(status["role"], "server");
    assert_eq!((status["applied"].as_u64(), status["rejected"].as_u64()), (Some(1), Some(2)));
    assert_eq!(status["clients"][0]["name"], "dc1");
    assert_eq!(status["clients"][0]["changes"], 3);
    let gate_health =
        status["targets"].as_array().unwrap().iter().find(|t| t["target"] == "gate").unwrap().clone();
    assert_eq!((gate_health["applied"].as_u64(), gate_health["rejected"].as_u64()), (Some(1), Some(2)));
    assert!(status["latency_p50_ms"].as_f64().unwrap() > 0.0);
    let text = ok_text(&["status"], &deployment.server_config, &mut outputs);
    assert!(
        text.contains("1 applied, 2 rejected") && text.contains("dc1") && text.contains("gate"),
        "{text}"
    );

    drop(client);
    drop(server);
    for output in &outputs {
        for password in &passwords {
            assert!(!output.windows(password.len()).any(|window| window == password.as_bytes()));
        }
    }
    deployment.assert_no_password_anywhere(&passwords);
}

#[test]
fn operator_commands_name_what_is_wrong() {
    let dir = TestDir::new("ops-cli-errors");
    let deployment = Deployment::new(&dir.path, false);
    // The server never ran: there is no ledger to read, and none may be created.
    let output = run(&["changes", "alice"], &deployment.server_config);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no ledger at"), "{output:?}");
    assert!(!deployment.ledger.exists());
    let output = run(&["status"], &deployment.server_config);
    assert_eq!(output.status.code(), Some(1));
    // failed needs the client's configuration.
    let output = pwsync().args(["failed", "list"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--config FILE is required"));
    let other = dir.path.join("other.toml");
    std::fs::write(&other, "[something]\n").unwrap();
    let output = run(&["status"], &other);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("neither a client"));
}

#[test]
fn check_config_checks_the_operator_token_file_without_showing_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TestDir::new("ops-check-config");
    let deployment = Deployment::new(&dir.path, false);
    let token = deployment.enable_operator();
    let check = || pwsync().arg("check-config").arg(&deployment.server_config).output().unwrap();
    let output = check();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let token_file = deployment.dir.join("operator.token");
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = check();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("operator token file") && stderr.contains("chmod 600"), "{stderr}");
    assert!(!stderr.contains(&token));

    std::fs::write(&token_file, "short\n").unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let output = check();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("at least 32 characters") && !stderr.contains("short"), "{stderr}");
}
