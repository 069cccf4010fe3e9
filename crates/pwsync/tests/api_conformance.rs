//! docs/api/openapi.yaml is exactly the change API: schemathesis, a property-based tester
//! driven by the document alone, runs every one of its checks against a real `pwsync server`
//! with a real client certificate — the document's examples, its boundary values (coverage),
//! random valid and invalid requests (fuzzing, positive and negative data) and call sequences
//! along the document's links (stateful) — and must find nothing.
//!
//! schemathesis is the version pinned in ci/schemathesis/requirements.txt, which
//! scripts/test-all.sh installs into target/schemathesis (or PWSYNC_SCHEMATHESIS names the
//! `st` executable). The run is bounded (`MAX_EXAMPLES` per operation and phase) to keep CI
//! short; PWSYNC_CONFORMANCE_EXAMPLES and PWSYNC_CONFORMANCE_SEED widen or vary it. Its summary
//! is printed and kept in target/api-conformance.txt.
//!
//! The generated passwords are schemathesis's; the one this test knows, the document's own
//! example, must be in no file of the server afterwards.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Deployment, Server, TestDir};
use pwsync_tls::Validity;

/// Test cases per operation and phase: about half a minute on two busy cores.
const MAX_EXAMPLES: u32 = 100;
/// A fixed seed, so that a failure is reproducible; PWSYNC_CONFORMANCE_SEED tries others.
const SEED: u64 = 20;
/// The password of the document's own example request.
const EXAMPLE_PASSWORD: &str = "correct horse battery staple";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("PWSYNC_SCHEMATHESIS") {
        return PathBuf::from(path);
    }
    let installed = workspace().join("target/schemathesis/bin/st");
    assert!(
        installed.exists(),
        "schemathesis is not installed: run scripts/test-all.sh, or `python3 -m venv target/schemathesis && \
         target/schemathesis/bin/pip install -r ci/schemathesis/requirements.txt`, or set PWSYNC_SCHEMATHESIS"
    );
    installed
}

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

#[test]
fn the_server_is_exactly_its_openapi_document() {
    let st = schemathesis();
    let dir = TestDir::new("api-conformance");
    let deployment = Deployment::new(&dir.path, false);
    let (certificate, key) = deployment.issue_client("dc1", &[common::DOMAIN], Validity::days(1));
    let server = Server::start(&deployment);
    let examples: u32 = setting("PWSYNC_CONFORMANCE_EXAMPLES", MAX_EXAMPLES);
    let seed: u64 = setting("PWSYNC_CONFORMANCE_SEED", SEED);
    let config = workspace().join("ci/schemathesis");
    let output = Command::new(&st)
        .arg("--config-file")
        .arg(config.join("schemathesis.toml"))
        .arg("run")
        .arg(workspace().join("docs/api/openapi.yaml"))
        .arg("--url")
        .arg(format!("https://{}", server.address))
        .arg("--tls-verify")
        .arg(deployment.pki.join("ca.pem"))
        .arg("--request-cert")
        .arg(&certificate)
        .arg("--request-cert-key")
        .arg(&key)
        .args(["--checks", "all", "--phases", "examples,coverage,fuzzing,stateful", "--mode", "all"])
        .args(["--max-examples", &examples.to_string(), "--seed", &seed.to_string()])
        .args(["--generation-database", "none", "--no-color", "--workers", "1"])
        // Its cache of crashes goes into the test directory, not the source tree.
        .current_dir(&dir.path)
        .env("SCHEMATHESIS_HOOKS", "hooks")
        // No __pycache__ beside hooks.py in the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONPATH", &config)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", st.display()));
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let summary = workspace().join("target/api-conformance.txt");
    std::fs::write(&summary, &text).unwrap();
    eprintln!("{text}\n(kept in {})", summary.display());
    assert!(output.status.success(), "schemathesis found the server and its document apart:\n{text}");
    for phase in ["Examples", "Coverage", "Fuzzing", "Stateful"] {
        assert!(text.contains(&format!("✅ {phase}")), "the {phase} phase did not run and pass:\n{text}");
    }
    assert!(text.contains("No issues found"), "{text}");
    drop(server);
    deployment.assert_no_password_anywhere(&[EXAMPLE_PASSWORD.to_string()]);
}
