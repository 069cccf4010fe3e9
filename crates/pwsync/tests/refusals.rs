//! End-to-end tests of what must be refused: damaged or foreign spool records (moved to
//! `failed/` with a named reason while the others still flow), and clients the server must not
//! trust (no certificate, another CA, an expired certificate, a domain the certificate is not
//! bound to) — refused, audited, nothing applied.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use pwsync_tls::Validity;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

fn records(spool: &Path) -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(spool)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "pws"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn damaged_and_foreign_records_go_to_failed_with_a_named_reason_and_the_rest_flows() {
    let dir = TestDir::new("damaged");
    let deployment = Deployment::new(&dir.path, false);
    let server = Server::start(&deployment);
    let setup = deployment.add_client("dc1", &server);

    let passwords: Vec<String> = (0..4).map(|_| password()).collect();
    let flipped = deployment.capture(&setup.spool, "flipped", &passwords[0], "dc1");
    let truncated = deployment.capture(&setup.spool, "truncated", &passwords[1], "dc1");
    let good = deployment.capture(&setup.spool, "good", &passwords[2], "dc1");
    let find =
        |id: &str| records(&setup.spool).into_iter().find(|p| p.to_string_lossy().contains(id)).unwrap();

    let path = find(&flipped);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();

    let path = find(&truncated);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();

    // A record sealed to another spool key pair.
    let other_keys = dir.path.join("other-keys");
    assert!(pwsync().args(["keygen", "--out"]).arg(&other_keys).output().unwrap().status.success());
    let mut child = pwsync()
        .arg("capture")
        .arg("--spool")
        .arg(&setup.spool)
        .arg("--key")
        .arg(other_keys.join("spool.pub"))
        .args(["--account", "foreign", "--origin", "dc1"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), passwords[3].as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());

    let client = Client::start(&setup);
    wait_for(Duration::from_secs(20), "the spool to drain", || pending_records(&setup.spool) == 0);
    assert_eq!(deployment.ledger_state(&good).as_deref(), Some("applied"));
    assert_eq!(deployment.applied_ids().len(), 1, "only the good record reached the target");

    let reasons = failed_reasons(&setup.spool).join("\n");
    for code in ["tampered", "truncated", "unknown_key"] {
        assert!(
            reasons.lines().any(|line| line == format!("code: {code}")),
            "no {code} reason in:\n{reasons}"
        );
    }
    // The sealed content is kept untouched for the operator.
    let failed_records = std::fs::read_dir(setup.spool.join("failed"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "pws"))
        .count();
    assert_eq!(failed_records, 3);
    drop(client);
    drop(server);
    deployment.assert_no_password_anywhere(&passwords);
}

/// A raw TLS 1.3 client configuration that skips every local check, as an attacker would.
fn raw_client_config(ca: &Path, identity: Option<(&Path, &Path)>) -> rustls::ClientConfig {
    pwsync_tls::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(ca).unwrap()).unwrap();
    let builder = rustls::ClientConfig::builder_with_protocol_versions(&[&rustls::version::TLS13])
        .with_root_certificates(roots);
    match identity {
        Some((certificate, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_file(certificate).unwrap()],
                PrivateKeyDer::from_pem_file(key).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    }
}

fn change_json(domain: &str, password: &str) -> String {
    let id: String = (0..32).map(|_| format!("{:x}", rand::random::<u8>() % 16)).collect();
    serde_json::json!({"changes": [{
        "id": id, "domain": domain, "account": "mallory", "password": password,
        "captured_at_ns": 1_800_000_000_000_000_000i64, "origin": "rogue", "origin_seq": 1, "source": "generic"
    }]})
    .to_string()
}

fn post(address: &str, config: rustls::ClientConfig, body: String) -> Result<(u16, String), String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let response = http
            .post(format!("https://{address}/v1/changes"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|error| format!("{error:?}"))?;
        let status = response.status().as_u16();
        Ok((status, response.text().await.map_err(|error| error.to_string())?))
    })
}

#[test]
fn untrusted_clients_are_refused_audited_and_nothing_is_applied() {
    let dir = TestDir::new("refusals");
    let deployment = Deployment::new(&dir.path, false);
    let server = Server::start(&deployment);
    let ca = deployment.pki.join("ca.pem");
    let password = password();

    // No certificate at all.
    let anonymous = post(&server.address, raw_client_config(&ca, None), change_json(DOMAIN, &password));
    assert!(anonymous.is_err(), "an anonymous client got an answer: {anonymous:?}");

    // A certificate from another CA, with the right domain.
    let foreign_pki = dir.path.join("foreign-pki");
    pwsync_tls::init_ca(&foreign_pki, "foreign CA", Validity::days(1)).unwrap();
    let foreign =
        pwsync_tls::issue_client(&foreign_pki, "dc9", &[DOMAIN.to_string()], &foreign_pki, Validity::days(1))
            .unwrap();
    let config = raw_client_config(&ca, Some((&foreign.certificate, &foreign.private_key)));
    let refused = post(&server.address, config, change_json(DOMAIN, &password));
    assert!(refused.is_err(), "a foreign client got an answer: {refused:?}");

    // An expired certificate of our own CA.
    let now = time::OffsetDateTime::now_utc();
    let validity = Validity::between(now - time::Duration::days(3), now - time::Duration::days(1));
    let (certificate, key) = deployment.issue_client("expired", &[DOMAIN], validity);
    let refused = post(
        &server.address,
        raw_client_config(&ca, Some((&certificate, &key))),
        change_json(DOMAIN, &password),
    );
    assert!(refused.is_err(), "an expired client got an answer: {refused:?}");

    // A valid certificate for corp.example submitting an account of other.example.
    let (certificate, key) = deployment.issue_client("dc1", &[DOMAIN], Validity::days(1));
    let config = raw_client_config(&ca, Some((&certificate, &key)));
    let (status, body) = post(&server.address, config, change_json("other.example", &password)).unwrap();
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["verdicts"][0]["verdict"], "rejected", "{body}");
    assert!(answer["verdicts"][0]["reason"].as_str().unwrap().contains("not bound to domain"), "{body}");

    drop(server);
    assert!(deployment.applied_ids().is_empty(), "nothing may reach a target");
    let audit = deployment.audit_events();
    let refused_handshakes: Vec<&String> =
        audit.iter().filter(|(event, _)| event == "tls_refused").map(|(_, detail)| detail).collect();
    assert_eq!(refused_handshakes.len(), 3, "{audit:?}");
    let details = refused_handshakes.iter().map(|d| d.to_lowercase()).collect::<Vec<_>>().join("\n");
    assert!(details.contains("no certificate"), "{details}");
    assert!(details.contains("expired"), "{details}");
    assert!(details.contains("not issued by") || details.contains("unknown issuer"), "{details}");
    assert!(audit.iter().any(|(event, _)| event == "domain_not_allowed"), "{audit:?}");
    deployment.assert_no_password_anywhere(&[password]);
}
