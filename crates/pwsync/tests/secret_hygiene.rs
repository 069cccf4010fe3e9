//! Secret hygiene of a whole run: after real traffic — applied, rejected, retried and redelivered
//! changes, a server killed by SIGABRT mid-run and restarted — every file the run left (logs,
//! ledger with its WAL, spools, failed records and their reasons, target logs, temporary
//! directories), every operator page and metrics page, every CLI output and the output of the
//! crashed process is searched for every password of the run. Each password is different,
//! random and non-ASCII, and is looked for raw (UTF-8), JSON-escaped and as UTF-16LE (how AD
//! takes it). Zero hits, and no core file: the daemons forbid core dumps.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;

const SETTLE: Duration = Duration::from_secs(60);

/// Every byte form in which a password could leak.
fn leak_forms(password: &str) -> Vec<Vec<u8>> {
    let json = serde_json::to_string(password).unwrap();
    let json_inner = json.as_bytes()[1..json.len() - 1].to_vec();
    let utf16: Vec<u8> = password.encode_utf16().flat_map(|unit| unit.to_le_bytes()).collect();
    let mut forms = vec![password.as_bytes().to_vec(), utf16];
    if json_inner != password.as_bytes() {
        forms.push(json_inner);
    }
    forms
}

/// Whether any of the byte forms in `needles` (see [`leak_forms`]) occurs in `bytes`.
fn holds_any(bytes: &[u8], needles: &[Vec<u8>]) -> bool {
    needles.iter().any(|needle| bytes.windows(needle.len()).any(|window| window == needle.as_slice()))
}

/// A password of this run: random, non-ASCII, with characters JSON must escape.
fn run_password(index: usize) -> String {
    format!("{}-{index}\"\\\u{1F511}\t", password())
}

fn cli(args: &[&str], config: &Path, outputs: &mut Vec<(String, Vec<u8>)>) -> Output {
    let output = pwsync().args(args).arg("--config").arg(config).output().unwrap();
    outputs.push((
        format!("pwsync {}", args.join(" ")),
        [output.stdout.clone(), output.stderr.clone()].concat(),
    ));
    output
}

fn superseded_locally(client_logs: &[&Path], change_id: &str) -> bool {
    client_logs.iter().any(|log| {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .any(|line| line.contains("superseded locally") && line.contains(change_id))
    })
}

fn core_limit_is_zero(pid: u32) -> bool {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|line| line.starts_with("Max core file size")).unwrap().to_string();
    line.split_whitespace().skip(4).take(2).all(|value| value == "0")
}

#[test]
fn no_password_of_a_full_run_is_in_any_file_page_output_or_crash() {
    let dir = TestDir::new("secret-hygiene");
    let deployment = Deployment::new(&dir.path, true);
    let token = deployment.enable_operator();
    let gate = deployment.add_gate_target();
    // The processes' own temporary files land where the scan looks.
    let temp = dir.path.join("tmp");
    std::fs::create_dir_all(&temp).unwrap();
    let envs: [(&str, &Path); 1] = [("TMPDIR", &temp)];
    let server = Server::start_with(&deployment, None, &envs);
    let address = server.address.clone();
    let first = deployment.add_client("dc1", &server);
    let second = deployment.add_client("dc2", &server);
    let client_port = free_port();
    append_to_client_config(&first, &format!("metrics_listen = \"127.0.0.1:{client_port}\"\n"));
    let clients = [Client::start_with(&first, &envs), Client::start_with(&second, &envs)];
    wait_for(Duration::from_secs(10), "core dumps forbidden in the daemons", || {
        core_limit_is_zero(clients[0].pid()) && core_limit_is_zero(server.pid())
    });

    let mut passwords = Vec::new();
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut ids = Vec::new();

    // Round 1, gate closed: every change is rejected by one target, moved to failed/.
    for index in 0..10 {
        let password = run_password(index);
        let setup = if index % 2 == 0 { &first } else { &second };
        ids.push(deployment.capture(&setup.spool, &format!("user{index}"), &password, &setup.name));
        passwords.push(password);
    }
    wait_for(SETTLE, "round 1 in failed/", || {
        failed_reasons(&first.spool).len() + failed_reasons(&second.spool).len() == 10
    });
    for setup in [&first, &second] {
        cli(&["failed", "list", "--json"], &setup.config, &mut outputs);
        cli(&["failed", "list"], &setup.config, &mut outputs);
    }
    let shown = cli(&["failed", "show", &ids[0]], &first.config, &mut outputs);
    assert!(shown.status.success());

    // Round 2, gate open: the failures are retried, new changes (several per account, so some
    // are superseded) applied. The server is killed by SIGABRT in the middle and restarted.
    std::fs::remove_file(&gate).unwrap();
    for setup in [&first, &second] {
        assert!(cli(&["failed", "retry", "--all"], &setup.config, &mut outputs).status.success());
    }
    for index in 10..40 {
        let password = run_password(index);
        let setup = if index % 2 == 0 { &first } else { &second };
        ids.push(deployment.capture(&setup.spool, &format!("user{}", index % 7), &password, &setup.name));
        passwords.push(password);
        if index == 25 {
            // SAFETY: kill(2) with the pid of a child this test started and has not reaped.
            assert_eq!(unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGABRT) }, 0);
        }
    }
    let mut crashed = server;
    let status = crashed.wait_exit(Duration::from_secs(10));
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGABRT));
    assert!(
        !std::os::unix::process::ExitStatusExt::core_dumped(&status),
        "the server dumped core: its memory held passwords"
    );
    drop(crashed);
    let server = Server::start_with(&deployment, Some(&address), &envs);
    let operator_after = server.operator_address.clone().unwrap();
    wait_for(SETTLE, "every spool empty", || {
        pending_records(&first.spool) == 0
            && pending_records(&second.spool) == 0
            && failed_reasons(&first.spool).is_empty()
            && failed_reasons(&second.spool).is_empty()
    });
    let unsettled: Vec<(String, Option<String>)> = ids
        .iter()
        .map(|id| (id.clone(), deployment.ledger_state(id)))
        .filter(|(_, state)| !matches!(state.as_deref(), Some("applied") | Some("superseded")))
        // A client drops a change that a newer pending one of the same account makes useless
        // before sending it; such a change never reaches the ledger.
        .filter(|(id, state)| state.is_some() || !superseded_locally(&[&first.log, &second.log], id))
        .collect();
    assert!(unsettled.is_empty(), "changes not settled: {unsettled:?}");

    // Pages: the console, the server's and the client's metrics, health.
    let base = format!("https://{operator_after}");
    let mut pages = vec![
        "/".to_string(),
        "/clients".into(),
        "/failures".into(),
        "/changes".into(),
        "/changes?account=user1".into(),
        format!("/changes/{}", ids[3]),
        "/metrics".into(),
        "/healthz".into(),
    ];
    pages.extend(ids.iter().take(5).map(|id| format!("/changes/{id}")));
    for page in &pages {
        let (status, body) = https_get(&deployment, &format!("{base}{page}"), Some(&token), None);
        assert!(status < 500, "{page}: {status}");
        outputs.push((format!("GET {page}"), body.into_bytes()));
    }
    let (status, body) = http_get(&format!("http://127.0.0.1:{client_port}/metrics"));
    assert_eq!(status, 200);
    outputs.push(("client /metrics".into(), body.into_bytes()));

    // The operator's commands on both sides.
    cli(&["status", "--json"], &deployment.server_config, &mut outputs);
    cli(&["status"], &deployment.server_config, &mut outputs);
    cli(&["changes", "user1"], &deployment.server_config, &mut outputs);
    cli(&["changes", "user", "--contains", "--json"], &deployment.server_config, &mut outputs);
    cli(&["status", "--json"], &first.config, &mut outputs);

    // Stop everything, then scan every output and every file the run left.
    for client in &clients {
        client.terminate();
    }
    server.terminate();
    drop(clients);
    drop(server);
    // Every form of every password, computed once for all the files and outputs.
    let needles: Vec<Vec<u8>> = passwords.iter().flat_map(|password| leak_forms(password)).collect();
    for (what, bytes) in &outputs {
        assert!(!holds_any(bytes, &needles), "a password of the run is in the output of {what}");
    }
    let files = files_under(&dir.path);
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(!name.starts_with("core"), "a core file was written: {}", file.display());
        let Some(bytes) = read_unless_gone(file) else { continue };
        assert!(!holds_any(&bytes, &needles), "a password of the run is in {}", file.display());
    }
    // The scan must have had something to find: the recorder saw every applied password's hash,
    // so the passwords really went through.
    assert!(files.len() >= 10, "scanned only {} files", files.len());
    let recorded: std::collections::BTreeSet<String> =
        deployment.recorded().into_iter().map(|(_, _, hash)| hash).collect();
    assert!(passwords.iter().filter(|password| recorded.contains(&sha256_hex(password))).count() >= 10);
    // The scanner finds each form it claims to look for.
    let escaped = serde_json::to_string(&passwords[0]).unwrap();
    assert!(holds_any(format!("x{escaped}x").as_bytes(), &needles));
    let utf16: Vec<u8> = passwords[1].encode_utf16().flat_map(|unit| unit.to_le_bytes()).collect();
    assert!(holds_any(&utf16, &needles));
    eprintln!(
        "secret hygiene: {} passwords × {} forms, {} files, {} outputs and pages: 0 hits",
        passwords.len(),
        needles.len() / passwords.len(),
        files.len(),
        outputs.len()
    );
}
