//! The daemons as systemd runs them: the unit files pass `systemd-analyze verify` and carry
//! the hardening; both daemons report readiness over `NOTIFY_SOCKET` (`Type=notify`), and on
//! SIGTERM they finish what is in flight — the server lets a slow target call complete,
//! records it and answers it; the client acts on that answer — before exiting with status 0.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

fn unit_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/systemd").join(name)
}

#[test]
fn the_units_pass_systemd_analyze_verify_and_are_hardened() {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        println!("SKIPPED: systemd-analyze is not installed (Debian package `systemd`)");
        return;
    };
    assert!(version.status.success());
    let dir = TestDir::new("units");
    let mut copies = Vec::new();
    for name in ["pwsync-server.service", "pwsync-client.service"] {
        let text = std::fs::read_to_string(unit_path(name)).unwrap();
        for setting in [
            "Type=notify",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "PrivateTmp=yes",
            "CapabilityBoundingSet=\n",
            "ProtectHome=yes",
            "KillSignal=SIGTERM",
        ] {
            assert!(text.contains(setting), "{name} lacks {setting:?}");
        }
        // verify checks that ExecStart's program exists: point it at the binary under test.
        let copy = dir.path.join(name);
        std::fs::write(&copy, text.replace("/usr/bin/pwsync", env!("CARGO_BIN_EXE_pwsync"))).unwrap();
        copies.push(copy);
    }
    let output = Command::new("systemd-analyze").args(["verify", "--man=no"]).args(&copies).output().unwrap();
    let said =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "systemd-analyze verify failed: {said}");
    // verify only warns (exit 0) about unknown keys and bad values: any word from it is a defect.
    assert!(said.trim().is_empty(), "systemd-analyze verify complained: {said}");

    // The check can fail: a misspelt hardening key is reported.
    let broken = dir.path.join("broken.service");
    let text = std::fs::read_to_string(&copies[0]).unwrap().replace("NoNewPrivileges=", "NoNewPrivilege=");
    std::fs::write(&broken, text).unwrap();
    let output = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&broken).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("Unknown key"));
}

/// A socket standing in for systemd's notification socket.
fn notify_socket(dir: &Path) -> (UnixDatagram, PathBuf) {
    let path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    (socket, path)
}

fn next_message(socket: &UnixDatagram) -> String {
    let mut buffer = [0u8; 512];
    let length = socket.recv(&mut buffer).expect("a notification within 30 s");
    String::from_utf8_lossy(&buffer[..length]).into_owned()
}

#[test]
fn both_daemons_notify_readiness_and_finish_in_flight_work_on_sigterm() {
    let dir = TestDir::new("service");
    let deployment = Deployment::new(&dir.path, false);
    // A target that takes 2 s, and says when it has started.
    let started = dir.path.join("slow-started");
    let script = dir.path.join("slow.sh");
    std::fs::write(&script, format!("#!/bin/sh\ncat >/dev/null\ntouch {started:?}\nsleep 2\nexit 0\n"))
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut config = std::fs::read_to_string(&deployment.server_config).unwrap();
    config.push_str(&format!("\n[[target]]\nkind = \"exec\"\nname = \"slow\"\nprogram = {script:?}\n"));
    std::fs::write(&deployment.server_config, config).unwrap();

    let (server_socket, server_socket_path) = notify_socket(&dir.path.join("."));
    let mut server = Server::start_with(&deployment, None, &[("NOTIFY_SOCKET", &server_socket_path)]);
    assert_eq!(next_message(&server_socket).trim(), "READY=1");

    let client_dir = dir.path.join("client-notify");
    std::fs::create_dir_all(&client_dir).unwrap();
    let (client_socket, client_socket_path) = notify_socket(&client_dir);
    let setup = deployment.add_client("dc1", &server);
    let mut client = Client::start_with(&setup, &[("NOTIFY_SOCKET", &client_socket_path)]);
    assert_eq!(next_message(&client_socket).trim(), "READY=1");

    let password = password();
    let id = deployment.capture(&setup.spool, "alice", &password, "dc1");
    wait_for(Duration::from_secs(20), "the slow target to start", || started.exists());

    // Both get SIGTERM while the target call runs: the call completes, is recorded and
    // answered, and the client deletes the record, before either exits.
    client.terminate();
    server.terminate();
    assert_eq!(next_message(&server_socket).trim(), "STOPPING=1");
    assert_eq!(next_message(&client_socket).trim(), "STOPPING=1");
    let server_status = server.wait_exit(Duration::from_secs(20));
    let client_status = client.wait_exit(Duration::from_secs(20));
    assert!(server_status.success(), "server: {server_status}");
    assert!(client_status.success(), "client: {client_status}");
    assert_eq!(deployment.ledger_state(&id).as_deref(), Some("applied"));
    assert_eq!(pending_records(&setup.spool), 0, "the client acted on the answer before it exited");
    deployment.assert_no_password_anywhere(&[password]);
}
