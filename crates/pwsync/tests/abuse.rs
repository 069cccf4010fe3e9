//! Abuse of the change API with real processes and real TLS: floods of idle TCP connections and
//! unfinished handshakes, slow-loris header and body trickles, oversized, deeply nested and
//! oversized-batch bodies. In each case the server refuses or closes by name, leaves a trace for
//! the operator (audit event or a warning with the peer) without any password, and a real client
//! daemon still gets its change applied within its deadline.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use pwsync_tls::Validity;

/// The limits under test, small so that each case is quick.
const LIMITS: &str = "max_handshakes = 32\nhandshake_timeout_ms = 3000\nheader_read_timeout_ms = 2000\n\
                      body_read_timeout_ms = 2000\nidle_timeout_ms = 3000\nmax_body_bytes = 65536\n\
                      max_batch_changes = 10\nmax_json_depth = 8\n";

/// How long a legitimate change may take to be applied while the server is under attack.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(15);

fn deployment_with_limits(dir: &TestDir) -> Deployment {
    let deployment = Deployment::new(&dir.path, false);
    let text = std::fs::read_to_string(&deployment.server_config).unwrap();
    std::fs::write(&deployment.server_config, text.replacen("[server]\n", &format!("[server]\n{LIMITS}"), 1))
        .unwrap();
    deployment
}

/// Captures one change, starts a client daemon and returns how long the change took to be
/// applied (failing past [`DELIVERY_DEADLINE`]).
fn deliver_one(deployment: &Deployment, server: &Server, name: &str, password: &str) -> (Client, Duration) {
    let setup = deployment.add_client(name, server);
    let id = deployment.capture(&setup.spool, &format!("{name}-user"), password, name);
    let started = Instant::now();
    let client = Client::start(&setup);
    wait_for(DELIVERY_DEADLINE, "the legitimate change to be applied", || {
        deployment.ledger_state(&id).as_deref() == Some("applied")
    });
    (client, started.elapsed())
}

/// A TLS 1.3 connection with a client certificate the deployment issued, handshake finished.
fn tls_client(
    deployment: &Deployment,
    address: &str,
    name: &str,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    pwsync_tls::install_crypto_provider();
    let (certificate, key) = deployment.issue_client(name, &[DOMAIN], Validity::days(1));
    let config = pwsync_tls::client_config(&deployment.pki.join("ca.pem"), &certificate, &key).unwrap();
    let server_name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap().to_owned();
    let connection = rustls::ClientConnection::new(config, server_name).unwrap();
    let tcp = TcpStream::connect(address).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).unwrap();
    }
    stream
}

/// The first bytes of a real ClientHello: a handshake that starts and never finishes.
fn client_hello_prefix(deployment: &Deployment) -> Vec<u8> {
    pwsync_tls::install_crypto_provider();
    let config = pwsync_tls::client_config_without_identity(&deployment.pki.join("ca.pem")).unwrap();
    let server_name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap().to_owned();
    let mut connection = rustls::ClientConnection::new(config, server_name).unwrap();
    let mut hello = Vec::new();
    connection.write_tls(&mut hello).unwrap();
    hello.truncate(hello.len() / 2);
    hello
}

/// Reads until the server closes the connection (EOF or reset); returns what was read.
fn read_until_closed(stream: &mut impl Read) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return answer,
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
        }
    }
}

fn log_text(server: &Server) -> String {
    std::fs::read_to_string(&server.log).unwrap()
}

#[test]
fn idle_connections_and_unfinished_handshakes_do_not_starve_a_real_client() {
    let dir = TestDir::new("abuse-handshakes");
    let deployment = deployment_with_limits(&dir);
    let server = Server::start(&deployment);

    // Far more than max_handshakes (32): 300 connections that never send a byte, and 100 that
    // send half a ClientHello and stall. All stay open on our side during the delivery.
    let mut flood: Vec<TcpStream> = (0..300).map(|_| TcpStream::connect(&server.address).unwrap()).collect();
    let hello = client_hello_prefix(&deployment);
    for _ in 0..100 {
        let mut stalled = TcpStream::connect(&server.address).unwrap();
        stalled.write_all(&hello).unwrap();
        flood.push(stalled);
    }
    let password = password();
    let (client, took) = deliver_one(&deployment, &server, "dc1", &password);
    println!("abuse: 400 idle/stalled handshakes open; a real change was applied in {took:?}");

    // The server evicted the oldest unfinished handshakes for newer ones, and audited each.
    let evictions = || {
        let events = deployment.audit_events();
        events
            .iter()
            .filter(|(event, detail)| event == "tls_refused" && detail.contains("newer connections"))
            .count()
    };
    wait_for(Duration::from_secs(10), "the evictions in the audit trail", || evictions() >= 400 - 32);
    // Those still in the pool run out of time and are refused as too slow.
    wait_for(Duration::from_secs(10), "a handshake timeout in the audit trail", || {
        deployment.audit_events().iter().any(|(event, detail)| {
            event == "tls_refused" && detail.contains("handshake not finished in time")
        })
    });
    assert!(log_text(&server).contains("refused a client"), "a warning names each refused peer");
    drop(flood);
    drop(client);
    deployment.assert_no_password_anywhere(&[password]);
}

#[test]
fn slow_loris_headers_and_bodies_are_cut_while_a_real_client_delivers() {
    let dir = TestDir::new("abuse-slow");
    let deployment = deployment_with_limits(&dir);
    let server = Server::start(&deployment);
    let address = server.address.clone();

    // Header trickles: one byte every 200 ms, never the end of the headers.
    let tricklers: Vec<_> = (0..20)
        .map(|index| {
            let mut stream = tls_client(&deployment, &address, &format!("loris{index}"));
            std::thread::spawn(move || {
                let started = Instant::now();
                let _ = stream.write_all(b"POST /v1/changes HTTP/1.1\r\nHost: pwsync\r\n");
                let _ = stream.flush();
                // Once the server has closed the connection, a write fails (reset by the peer).
                for byte in b"X-Slow: ".iter().cycle().take(200) {
                    if stream.write_all(&[*byte]).and_then(|()| stream.flush()).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                started.elapsed()
            })
        })
        .collect();

    // A body that stops after its first bytes is answered 408 body_timeout.
    let mut slow_body = tls_client(&deployment, &address, "slow-body");
    slow_body
        .write_all(
            b"POST /v1/changes HTTP/1.1\r\nHost: pwsync\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"changes\":[",
        )
        .unwrap();
    slow_body.flush().unwrap();

    let password = password();
    let (client, took) = deliver_one(&deployment, &server, "dc1", &password);
    println!(
        "abuse: 20 slow-loris header trickles and a stalled body open; a real change was applied in {took:?}"
    );

    let answer = String::from_utf8_lossy(&read_until_closed(&mut slow_body)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"body_timeout\""), "{answer}");

    for trickler in tricklers {
        let lasted = trickler.join().unwrap();
        // Cut at header_read_timeout_ms (2 s), long before the 40 s the trickle would take.
        assert!(lasted < Duration::from_secs(10), "a slow-loris connection lasted {lasted:?}");
    }
    let log = log_text(&server);
    assert!(log.contains("server.header_read_timeout_ms"), "the header timeout is logged");
    assert!(log.contains("body_timeout") && log.contains("loris"), "each cut names its peer and client");
    drop(client);
    deployment.assert_no_password_anywhere(&[password]);
}

#[test]
fn an_idle_authenticated_connection_is_closed() {
    let dir = TestDir::new("abuse-idle");
    let deployment = deployment_with_limits(&dir);
    // The header timeout out of the way, so that only the idle timeout (3 s) can close it.
    let text = std::fs::read_to_string(&deployment.server_config).unwrap();
    let text = text.replace("header_read_timeout_ms = 2000", "header_read_timeout_ms = 60000");
    std::fs::write(&deployment.server_config, text).unwrap();
    let server = Server::start(&deployment);
    let mut idle = tls_client(&deployment, &server.address, "idler");
    let started = Instant::now();
    read_until_closed(&mut idle);
    let lasted = started.elapsed();
    assert!(
        lasted >= Duration::from_millis(2500) && lasted < Duration::from_secs(10),
        "closed after {lasted:?}"
    );
    assert!(log_text(&server).contains("idle for server.idle_timeout_ms"));
}

/// One `POST /v1/changes` with the given body over a fresh authenticated connection; returns the
/// status and the body of the answer.
fn post_raw(deployment: &Deployment, address: &str, name: &str, body: &[u8]) -> (u16, String) {
    let mut stream = tls_client(deployment, address, name);
    let head = format!(
        "POST /v1/changes HTTP/1.1\r\nHost: pwsync\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before the whole body is sent.
    let _ = stream.write_all(body).and_then(|()| stream.flush());
    let answer = String::from_utf8_lossy(&read_until_closed(&mut stream)).into_owned();
    let status = answer.get(9..12).and_then(|code| code.parse().ok()).unwrap_or(0);
    (status, answer)
}

fn change_json(index: usize, password: &str) -> serde_json::Value {
    serde_json::json!({
        "id": format!("{index:032x}"), "domain": DOMAIN, "account": format!("user{index}"),
        "password": password, "captured_at_ns": 1_700_000_000_000_000_000i64 + index as i64,
        "origin": "raw", "origin_seq": index, "source": "generic"
    })
}

#[test]
fn oversized_deep_and_huge_requests_are_refused_by_name_and_traced() {
    let dir = TestDir::new("abuse-bodies");
    let deployment = deployment_with_limits(&dir);
    let server = Server::start(&deployment);
    let address = server.address.clone();
    let password = password();

    // Oversized: one change whose padding takes the body past max_body_bytes (65536).
    let mut oversized =
        serde_json::json!({ "changes": [change_json(1, &password)] }).to_string().into_bytes();
    oversized.resize(65_537, b' ');
    let (status, answer) = post_raw(&deployment, &address, "big", &oversized);
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("\"code\":\"body_too_large\""), "{answer}");

    // Deep: nested 20 levels (max_json_depth 8), with a password inside.
    let deep = format!("{{\"changes\":[{}{}]}}", "[".repeat(20), "]".repeat(20)).replacen(
        "[[",
        &format!("[{},[", change_json(2, &password)),
        1,
    );
    let (status, answer) = post_raw(&deployment, &address, "deep", deep.as_bytes());
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("\"code\":\"json_too_deep\""), "{answer}");

    // Huge batch: 11 changes (max_batch_changes 10).
    let changes: Vec<_> = (0..11).map(|index| change_json(100 + index, &password)).collect();
    let huge = serde_json::json!({ "changes": changes }).to_string();
    let (status, answer) = post_raw(&deployment, &address, "many", huge.as_bytes());
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("\"code\":\"batch_too_large\""), "{answer}");

    // Within the limits the same connection kind is served.
    let fine = serde_json::json!({ "changes": [change_json(3, &password)] }).to_string();
    let (status, answer) = post_raw(&deployment, &address, "fine", fine.as_bytes());
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("\"applied\""), "{answer}");
    for refused in [format!("{:032x}", 1), format!("{:032x}", 2), format!("{:032x}", 100)] {
        assert_eq!(deployment.ledger_state(&refused), None, "a refused request left nothing in the ledger");
    }

    let log = log_text(&server);
    for (code, client) in [("body_too_large", "big"), ("json_too_deep", "deep"), ("batch_too_large", "many")]
    {
        let traced = log
            .lines()
            .any(|line| line.contains("refused a request") && line.contains(code) && line.contains(client));
        assert!(traced, "no warning for {code} naming the client {client}");
    }
    drop(server);
    deployment.assert_no_password_anywhere(&[password]);
}
