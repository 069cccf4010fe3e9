//! `/metrics` of the server's operator listener and of the client, after a real run: both
//! parse as strict Prometheus text, the server's counters match its ledger, the client's match
//! what it was told, the operator listener lets in only the token or a named operator
//! certificate (`/healthz` alone is open), and no metric holds a password.

mod common;

use std::time::Duration;

use common::prometheus::{parse, Exposition};
use common::*;

fn ledger_count(deployment: &Deployment, sql: &str) -> f64 {
    let conn =
        rusqlite::Connection::open_with_flags(&deployment.ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row(sql, [], |row| row.get::<_, i64>(0)).unwrap() as f64
}

#[test]
fn metrics_parse_and_match_the_ledger_after_a_run_and_need_operator_credentials() {
    let dir = TestDir::new("metrics");
    let deployment = Deployment::new(&dir.path, false);
    let gate = deployment.add_gate_target();
    let token = deployment.enable_operator();
    let server = Server::start(&deployment);
    let operator = server.operator_address.clone().expect("the operator listener is up");
    let setup = deployment.add_client("dc1", &server);
    let client_port = free_port();
    append_to_client_config(&setup, &format!("metrics_listen = \"127.0.0.1:{client_port}\"\n"));
    let client = Client::start(&setup);

    // 5 rejected while the gate is closed, then 20 applied.
    let mut passwords = Vec::new();
    for index in 0..5 {
        let password = password();
        deployment.capture(&setup.spool, &format!("closed{index}"), &password, "dc1");
        passwords.push(password);
    }
    wait_for(Duration::from_secs(30), "5 rejections", || failed_reasons(&setup.spool).len() == 5);
    std::fs::remove_file(&gate).unwrap();
    for index in 0..20 {
        let password = password();
        deployment.capture(&setup.spool, &format!("open{index}"), &password, "dc1");
        passwords.push(password);
    }
    wait_for(Duration::from_secs(60), "the spool to drain", || pending_records(&setup.spool) == 0);
    wait_for(Duration::from_secs(30), "all 25 settled", || {
        ledger_count(&deployment, "SELECT COUNT(*) FROM changes WHERE state IN ('applied', 'rejected')")
            == 25.0
    });

    // Only /healthz is open; /metrics needs the token or a named operator certificate.
    let url = format!("https://{operator}/metrics");
    assert_eq!(
        https_get(&deployment, &format!("https://{operator}/healthz"), None, None),
        (200, "ok\n".into())
    );
    assert_eq!(https_get(&deployment, &url, None, None).0, 401);
    assert_eq!(https_get(&deployment, &url, Some("not-the-token-but-long-enough-0000000000"), None).0, 401);
    let (admin_cert, admin_key) =
        deployment.issue_client("admin", &["ops.example"], pwsync_tls::Validity::days(1));
    assert_eq!(https_get(&deployment, &url, None, Some((&admin_cert, &admin_key))).0, 200);
    let (dc_cert, dc_key) = deployment.issue_client("dc9", &[DOMAIN], pwsync_tls::Validity::days(1));
    assert_eq!(https_get(&deployment, &url, None, Some((&dc_cert, &dc_key))).0, 401, "a DC is no operator");
    // The same credentials open the console's pages; anyone else is sent to the login form.
    let clients_page = format!("https://{operator}/clients");
    let (status, page) = https_get(&deployment, &clients_page, None, Some((&admin_cert, &admin_key)));
    assert!(status == 200 && page.contains("<h1>Clients</h1>") && page.contains("dc1"), "{page}");
    let (status, page) = https_get(&deployment, &clients_page, Some(&token), None);
    assert!(status == 200 && page.contains("<h1>Clients</h1>"), "{page}");
    let (status, page) = https_get(&deployment, &clients_page, None, Some((&dc_cert, &dc_key)));
    assert!(status == 200 && page.contains("Operator token") && !page.contains("<h1>Clients</h1>"), "{page}");

    // Wait for a status report that shows the settled spool, then read everything once.
    let mut text = String::new();
    let mut metrics = Exposition::default();
    wait_for(Duration::from_secs(20), "a status report with the final spool", || {
        let (status, body) = https_get(&deployment, &url, Some(&token), None);
        assert_eq!(status, 200);
        metrics =
            parse(&body).unwrap_or_else(|error| panic!("server metrics are not Prometheus text: {error}"));
        text = body;
        metrics.get("pwsync_server_client_spool_depth", &[("client", "dc1")]) == Some(0.0)
            && metrics.get("pwsync_server_client_failed_records", &[("client", "dc1")]) == Some(5.0)
    });
    let settled =
        |outcome| metrics.get_or_zero("pwsync_server_changes_settled_total", &[("outcome", outcome)]);
    assert_eq!(
        settled("applied"),
        ledger_count(&deployment, "SELECT COUNT(*) FROM changes WHERE state = 'applied'")
    );
    assert_eq!(
        settled("rejected"),
        ledger_count(&deployment, "SELECT COUNT(*) FROM changes WHERE state = 'rejected'")
    );
    assert_eq!((settled("applied"), settled("rejected")), (20.0, 5.0));
    for state in ["pending", "applied", "superseded", "rejected"] {
        let in_ledger =
            ledger_count(&deployment, &format!("SELECT COUNT(*) FROM changes WHERE state = '{state}'"));
        assert_eq!(metrics.get("pwsync_ledger_changes", &[("state", state)]), Some(in_ledger), "{state}");
    }
    for target in ["dry-run", "gate"] {
        for outcome in ["applied", "rejected"] {
            let in_ledger = ledger_count(
                &deployment,
                &format!(
                    "SELECT COUNT(*) FROM target_results WHERE target = '{target}' AND state = '{outcome}'"
                ),
            );
            let counted = metrics
                .get_or_zero("pwsync_server_target_calls_total", &[("target", target), ("outcome", outcome)]);
            assert_eq!(counted, in_ledger, "{target} {outcome}");
        }
        let calls = metrics.get("pwsync_server_target_call_seconds_count", &[("target", target)]).unwrap();
        assert_eq!(calls, 25.0, "{target}: one timed call per change");
    }
    assert_eq!(metrics.get("pwsync_server_change_latency_seconds_count", &[]), Some(20.0));
    assert!(metrics.get("pwsync_server_change_latency_seconds_sum", &[]).unwrap() > 0.0);
    assert_eq!(metrics.get("pwsync_server_clients_seen", &[]), Some(1.0));
    assert!(metrics.get_or_zero("pwsync_server_verdicts_total", &[("verdict", "applied")]) >= 20.0);
    assert!(metrics.get("pwsync_server_client_connections", &[]).is_some());
    let contact =
        metrics.get("pwsync_server_client_last_contact_timestamp_seconds", &[("client", "dc1")]).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!((now - contact).abs() < 60.0);
    for family in metrics.types.keys() {
        assert!(metrics.help.contains_key(family), "{family} has no HELP");
    }

    // The client's own listener: plain HTTP on loopback.
    let (status, client_text) = http_get(&format!("http://127.0.0.1:{client_port}/metrics"));
    assert_eq!(status, 200);
    let client_metrics = parse(&client_text).unwrap_or_else(|error| panic!("client metrics: {error}"));
    assert_eq!(client_metrics.get("pwsync_client_spool_depth", &[]), Some(0.0));
    assert_eq!(client_metrics.get("pwsync_client_failed_records", &[]), Some(5.0));
    assert_eq!(client_metrics.get("pwsync_client_oldest_pending_age_seconds", &[]), Some(0.0));
    assert_eq!(client_metrics.get_or_zero("pwsync_client_verdicts_total", &[("verdict", "applied")]), 20.0);
    assert_eq!(client_metrics.get_or_zero("pwsync_client_verdicts_total", &[("verdict", "rejected")]), 5.0);
    assert!(client_metrics.get_or_zero("pwsync_client_requests_total", &[("result", "ok")]) >= 2.0);

    drop(client);
    drop(server);
    for password in &passwords {
        assert!(!text.contains(password.as_str()) && !client_text.contains(password.as_str()));
    }
    deployment.assert_no_password_anywhere(&passwords);
}
