//! A real headless Chromium (Debian's `chromium`) driven over the DevTools protocol, for the
//! console tests: navigate, run a line of script in the page (fill a form, click a button),
//! read the page's HTML, and take screenshots.
//!
//! The browser runs in its own process group and profile directory, and is killed (the whole
//! group) when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Browser {
    child: Child,
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Browser {
    /// Starts Chromium with a fresh profile in `profile`. The operator listener's certificate
    /// comes from the deployment's private CA, which this throw-away profile does not know:
    /// certificate errors are ignored for this browser only.
    pub fn launch(profile: &Path) -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: install Debian's `chromium` (scripts/test-all.sh does)"
        );
        std::fs::create_dir_all(profile).unwrap();
        use std::os::unix::process::CommandExt;
        let child = Command::new(CHROMIUM)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                "--ignore-certificate-errors",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let port_file = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|text| text.lines().next().map(str::to_string))
            {
                if !port.is_empty() {
                    break port;
                }
            }
            assert!(Instant::now() < deadline, "Chromium did not open its DevTools port");
            std::thread::sleep(Duration::from_millis(50));
        };
        let (status, list) = super::http_get(&format!("http://127.0.0.1:{port}/json/list"));
        assert_eq!(status, 200);
        let targets: Value = serde_json::from_str(&list).unwrap();
        let url = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|target| target["type"] == "page")
            .and_then(|target| target["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_string();
        let (socket, _) = tungstenite::connect(url).unwrap();
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        }
        let mut browser = Browser { child, socket, next_id: 1 };
        browser.call("Page.enable", json!({}));
        browser.call("Runtime.enable", json!({}));
        browser
    }

    /// Sends one DevTools command and returns its result (events in between are skipped).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        self.socket.send(Message::text(message)).unwrap();
        loop {
            let Message::Text(text) = self.socket.read().unwrap() else { continue };
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["id"] == id {
                if let Some(error) = value.get("error") {
                    panic!("{method} failed: {error}");
                }
                return value["result"].clone();
            }
        }
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("script {expression:?} threw: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is true in the page.
    pub fn wait_for(&mut self, what: &str, expression: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // A page being replaced can make evaluation fail for a moment.
            let result =
                self.call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true }));
            if result["result"]["value"] == Value::Bool(true) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what} ({expression})");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Opens `url` and waits until the page (after any redirect) has loaded.
    pub fn open(&mut self, url: &str) {
        self.eval("window.__pwsyncOld = true");
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_loaded();
    }

    /// Waits for a new document (after a navigation or a form submit) to finish loading.
    pub fn wait_loaded(&mut self) {
        self.wait_for("the next page", "!window.__pwsyncOld && document.readyState === 'complete'");
    }

    /// Marks the current document so that [`Browser::wait_loaded`] can tell the next one.
    pub fn mark(&mut self) {
        self.eval("window.__pwsyncOld = true");
    }

    pub fn path(&mut self) -> String {
        self.eval("location.pathname").as_str().unwrap_or_default().to_string()
    }

    pub fn html(&mut self) -> String {
        self.eval("document.documentElement.outerHTML").as_str().unwrap_or_default().to_string()
    }

    /// Saves a PNG screenshot of the whole page.
    pub fn screenshot(&mut self, path: &Path) {
        let result =
            self.call("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true }));
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(result["data"].as_str().unwrap()).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(path, bytes).unwrap();
    }

    /// Emulates a phone screen (390 × 844 CSS pixels).
    pub fn phone(&mut self) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // SAFETY: kill(2) of the process group this test started (Chromium and its helpers).
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// Where screenshots are kept as test artifacts: target/console-screenshots/.
pub fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
