//! The operator console in a real headless Chromium against a running server and client with
//! real traffic: no page opens without a login; a wrong token is refused; after logging in
//! through the form the operator sees the clients, a change's per-target outcome, and the
//! failures; pressing "Retry" on a rejected change (after its cause is fixed) makes it settle
//! as applied. A screenshot of each page is kept in target/console-screenshots/, and no page
//! contains a password used in the test.

mod common;

use std::time::Duration;

use common::browser::{artifacts_dir, Browser};
use common::*;

#[test]
fn an_operator_logs_in_sees_clients_and_outcomes_and_retries_a_failure_until_it_settles() {
    let dir = TestDir::new("console");
    let deployment = Deployment::new(&dir.path, false);
    let gate = deployment.add_gate_target();
    let token = deployment.enable_operator();
    let server = Server::start(&deployment);
    let operator = server.operator_address.clone().expect("the operator listener is up");
    let base = format!("https://{operator}");
    let setup = deployment.add_client("dc1", &server);
    let client = Client::start(&setup);

    // alice is rejected while the gate is closed; bob is applied after it opens.
    let alice_password = password();
    let bob_password = password();
    let alice = deployment.capture(&setup.spool, "alice", &alice_password, "dc1");
    wait_for(Duration::from_secs(30), "alice's rejection", || failed_reasons(&setup.spool).len() == 1);
    std::fs::remove_file(&gate).unwrap();
    let bob = deployment.capture(&setup.spool, "bob", &bob_password, "dc1");
    wait_for(Duration::from_secs(30), "bob applied", || {
        deployment.ledger_state(&bob).as_deref() == Some("applied")
    });
    let passwords = [alice_password, bob_password];

    // Without credentials every page leads to the login page and shows nothing of the ledger.
    for path in
        ["/", "/clients", "/changes", &format!("/changes/{bob}"), "/failures", "/changes?account=alice"]
    {
        let (status, body) = https_get(&deployment, &format!("{base}{path}"), None, None);
        assert_eq!(status, 200, "{path} (after the redirect)");
        assert!(
            body.contains("Operator token") && !body.contains("dc1") && !body.contains(&bob),
            "{path}: {body}"
        );
    }

    let artifacts = artifacts_dir();
    let mut pages = Vec::new();
    let mut browser = Browser::launch(&dir.path.join("chromium-profile"));
    browser.open(&format!("{base}/clients"));
    assert_eq!(browser.path(), "/login", "a page without login redirects to the login form");
    browser.screenshot(&artifacts.join("01-login.png"));

    // A wrong token is refused.
    browser.mark();
    browser.eval("document.querySelector('#token').value = 'wrong-token-wrong-token-wrong-token'; document.querySelector('form').submit()");
    browser.wait_loaded();
    assert!(browser.html().contains("Wrong token."));
    browser.open(&format!("{base}/clients"));
    assert_eq!(browser.path(), "/login", "still not logged in");

    // The real token, typed into the form.
    browser.mark();
    browser.eval(&format!(
        "document.querySelector('#token').value = {}; document.querySelector('form').submit()",
        serde_json::to_string(&token).unwrap()
    ));
    browser.wait_loaded();
    assert_eq!(browser.path(), "/");
    let html = browser.html();
    assert!(
        html.contains("Overview") && html.contains("Throughput and latency") && html.contains("<svg"),
        "{html}"
    );
    assert!(html.contains("gate") && html.contains("dry-run"), "per-target health");
    browser.screenshot(&artifacts.join("02-overview.png"));
    pages.push(html);

    // Clients: dc1 with its version and spool.
    browser.open(&format!("{base}/clients"));
    let html = browser.html();
    assert!(html.contains("dc1") && html.contains(env!("CARGO_PKG_VERSION")), "{html}");
    assert!(!html.contains("● silent"), "dc1 reported just now");
    browser.screenshot(&artifacts.join("03-clients.png"));
    pages.push(html);

    // A change's per-target outcome, searched by account.
    browser.open(&format!("{base}/changes?account=bob"));
    let html = browser.html();
    assert!(html.contains(&bob) && html.contains("badge applied"), "{html}");
    browser.screenshot(&artifacts.join("04-changes.png"));
    pages.push(html);
    browser.open(&format!("{base}/changes/{bob}"));
    let outcomes = browser.eval(
        "Array.from(document.querySelectorAll('h2 + .scroll tr')).slice(1).map(r => r.cells[0].textContent + '=' + r.cells[1].textContent).sort().join(',')",
    );
    assert_eq!(outcomes, "dry-run=applied,gate=applied");
    // No directory behind this client's scope: the change carries no version, and says so.
    let html = browser.html();
    assert!(html.contains("Directory version") && html.contains("ordered by capture time"), "{html}");
    browser.screenshot(&artifacts.join("05-change.png"));
    pages.push(browser.html());

    // Failures: alice's rejection with its reason and a retry button.
    browser.open(&format!("{base}/failures"));
    let html = browser.html();
    assert!(html.contains(&alice) && html.contains("gate closed"), "{html}");
    browser.screenshot(&artifacts.join("06-failures.png"));
    pages.push(html);
    // A forged form (no session CSRF token) is refused.
    let forged = browser.eval(&format!(
        "fetch('/failures/{alice}/retry', {{method: 'POST', body: new URLSearchParams({{csrf: 'forged'}})}}).then(r => r.status)"
    ));
    assert_eq!(forged, 403);
    assert_eq!(deployment.ledger_state(&alice).as_deref(), Some("rejected"));

    // Retry: the gate is open now, so the change settles as applied.
    browser.mark();
    browser.eval(&format!("document.querySelector('form.retry[data-change=\"{alice}\"] button').click()"));
    browser.wait_loaded();
    let html = browser.html();
    assert!(html.contains("Retry queued: dc1"), "{html}");
    wait_for(Duration::from_secs(30), "the retried change to be applied", || {
        deployment.ledger_state(&alice).as_deref() == Some("applied")
    });
    browser.open(&format!("{base}/changes/{alice}"));
    let state = browser.eval("document.querySelector('.scroll tr:nth-child(2) td').textContent");
    assert_eq!(state, "applied");
    let html = browser.html();
    assert!(html.contains("gate") && html.contains("2</td>"), "the gate's second attempt: {html}");
    browser.screenshot(&artifacts.join("07-after-retry.png"));
    pages.push(html);
    browser.open(&format!("{base}/failures"));
    assert!(browser.html().contains("Nothing has failed."));
    wait_for(Duration::from_secs(10), "the failed record to leave the client", || {
        failed_reasons(&setup.spool).is_empty() && pending_records(&setup.spool) == 0
    });

    // On a phone: the page fits the screen's width (tables scroll inside their box).
    browser.phone();
    browser.open(&format!("{base}/"));
    let fits = browser.eval("document.documentElement.scrollWidth <= window.innerWidth + 1");
    assert_eq!(fits, true, "the overview fits a phone's width");
    browser.screenshot(&artifacts.join("08-overview-phone.png"));
    pages.push(browser.html());
    browser.open(&format!("{base}/failures"));
    browser.screenshot(&artifacts.join("09-failures-phone.png"));
    pages.push(browser.html());
    drop(browser);

    for html in &pages {
        for password in &passwords {
            assert!(!html.contains(password.as_str()), "a page shows a password");
        }
    }
    drop(client);
    drop(server);
    deployment.assert_no_password_anywhere(&passwords);
}
