//! The logs as an operator follows one change: with `--log-format json` (here through
//! `PWSYNC_LOG_FORMAT`) every line of server and client is one JSON object, and every line that
//! mentions a change carries its id in the field `change_id` — from the client opening the
//! record, through each target's outcome, to the verdict the client acts on.

mod common;

use std::time::Duration;

use common::*;

fn json_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"))
        })
        .collect()
}

/// The id of the change a line is about, wherever the subscriber put it (the event's own field,
/// or the span `change` a target's own lines run in).
fn change_id_of(line: &serde_json::Value) -> Option<&str> {
    line["change_id"].as_str().or_else(|| line["span"]["change_id"].as_str())
}

#[test]
fn every_line_about_a_change_carries_its_id_from_the_spool_to_the_targets() {
    let dir = TestDir::new("logs");
    let deployment = Deployment::new(&dir.path, false);
    let gate = deployment.add_gate_target();
    let json = std::path::Path::new("json");
    let server = Server::start_with(&deployment, None, &[("PWSYNC_LOG_FORMAT", json)]);
    let setup = deployment.add_client("dc1", &server);
    let client = Client::start_with(&setup, &[("PWSYNC_LOG_FORMAT", json)]);
    let passwords = [password(), password()];
    let rejected = deployment.capture(&setup.spool, "alice", &passwords[0], "dc1");
    wait_for(Duration::from_secs(30), "the rejection", || failed_reasons(&setup.spool).len() == 1);
    std::fs::remove_file(&gate).unwrap();
    let applied = deployment.capture(&setup.spool, "bob", &passwords[1], "dc1");
    wait_for(Duration::from_secs(30), "the record to be deleted", || pending_records(&setup.spool) == 0);
    drop(client);
    drop(server);

    let server_lines = json_lines(&deployment.dir.join("server.log"));
    let client_lines = json_lines(&setup.log);
    for id in [&rejected, &applied] {
        for line in server_lines.iter().chain(&client_lines) {
            if line.to_string().contains(id.as_str()) {
                assert_eq!(
                    change_id_of(line),
                    Some(id.as_str()),
                    "a line names {id} outside change_id: {line}"
                );
            }
        }
    }
    let messages = |lines: &[serde_json::Value], id: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|line| change_id_of(line) == Some(id))
            .map(|line| {
                format!(
                    "{} {}",
                    line["message"].as_str().unwrap_or(""),
                    line["target_name"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    let client_bob = messages(&client_lines, &applied);
    let server_bob = messages(&server_lines, &applied);
    assert!(client_bob.iter().any(|m| m.starts_with("change opened from the spool")), "{client_bob:?}");
    assert!(server_bob.iter().any(|m| m == "target outcome dry-run"), "{server_bob:?}");
    assert!(server_bob.iter().any(|m| m == "target outcome gate"), "{server_bob:?}");
    assert!(server_bob.iter().any(|m| m.starts_with("change applied")), "{server_bob:?}");
    assert!(client_bob.iter().any(|m| m.starts_with("change settled")), "{client_bob:?}");
    let client_alice = messages(&client_lines, &rejected);
    let server_alice = messages(&server_lines, &rejected);
    assert!(server_alice.iter().any(|m| m.starts_with("change rejected")), "{server_alice:?}");
    assert!(
        client_alice.iter().any(|m| m.starts_with("change rejected; record moved to failed/")),
        "{client_alice:?}"
    );
    deployment.assert_no_password_anywhere(&passwords);
}
