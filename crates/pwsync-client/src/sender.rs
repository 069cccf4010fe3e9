//! The client's side of the wire: one HTTPS request per batch to the server, over TLS 1.3 with
//! this client's certificate, and the server's verdicts back; notices of changes not forwarded;
//! the daemon's status report.
//!
//! An error here is always about the request as a whole (server down, refused, garbled); the
//! daemon then keeps every record of the batch. This module must never put a change's content
//! into an error or a log line.

use std::time::Duration;

use pwsync_proto::{
    ApiError, BatchVerdicts, ChangeBatch, NoticeBatch, NoticeReceipt, CHANGES_PATH, NOTICES_PATH,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::ServerSection;

pub struct Sender {
    http: reqwest::Client,
    changes_url: String,
    notices_url: String,
    status_url: String,
    contact: Option<crate::contact::ContactLog>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error("the server refused the request ({status}, {code}): {message}")]
    Refused { status: u16, code: String, message: String },
    #[error("the server's answer is not understood: {0}")]
    BadAnswer(String),
}

impl Sender {
    pub fn new(server: &ServerSection) -> Result<Sender, crate::ClientError> {
        let tls = pwsync_tls::client_config(&server.ca, &server.certificate, &server.key)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*tls).clone())
            .https_only(true)
            .timeout(Duration::from_millis(server.request_timeout_ms))
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|error| crate::ClientError::Http(error_chain(&error)))?;
        let base = server.url.trim_end_matches('/');
        Ok(Sender {
            http,
            changes_url: format!("{base}{CHANGES_PATH}"),
            notices_url: format!("{base}{NOTICES_PATH}"),
            status_url: format!("{base}{}", pwsync_proto::CLIENT_STATUS_PATH),
            contact: None,
        })
    }

    /// Records every request's outcome in the spool's state file (for `pwsync status`).
    pub fn with_contact_log(mut self, contact: crate::contact::ContactLog) -> Sender {
        self.contact = Some(contact);
        self
    }

    /// Sends changes; the answer holds one verdict per change.
    pub async fn send(&self, batch: &ChangeBatch) -> Result<BatchVerdicts, SendError> {
        let started = std::time::Instant::now();
        let result = self.post::<_, BatchVerdicts>(&self.changes_url, batch).await.and_then(|verdicts| {
            if verdicts.verdicts.len() != batch.changes.len() {
                return Err(SendError::BadAnswer(format!(
                    "{} verdicts for {} changes",
                    verdicts.verdicts.len(),
                    batch.changes.len()
                )));
            }
            Ok(verdicts)
        });
        self.record_outcome(&result, started);
        if let Ok(verdicts) = &result {
            verdicts.verdicts.iter().for_each(|entry| crate::metrics::verdict(entry.verdict.name()));
        }
        result
    }

    /// Sends notices of changes not forwarded; the answer names those recorded.
    pub async fn send_notices(&self, batch: &NoticeBatch) -> Result<NoticeReceipt, SendError> {
        let started = std::time::Instant::now();
        let result = self.post(&self.notices_url, batch).await;
        self.record_outcome(&result, started);
        result
    }

    /// Sends the daemon's status report; the answer lists the operator's retries.
    pub async fn report(
        &self,
        report: &pwsync_proto::ClientStatusReport,
    ) -> Result<pwsync_proto::ClientStatusAnswer, SendError> {
        let started = std::time::Instant::now();
        let result = self.post(&self.status_url, report).await;
        self.record_outcome(&result, started);
        result
    }

    fn record_outcome<T>(&self, result: &Result<T, SendError>, started: std::time::Instant) {
        crate::metrics::request(result.is_ok(), started.elapsed().as_secs_f64());
        if let Some(contact) = &self.contact {
            match result {
                Ok(_) => contact.succeeded(),
                Err(error) => contact.failed(&error.to_string()),
            }
        }
    }

    async fn post<Body: Serialize, Answer: DeserializeOwned>(
        &self,
        url: &str,
        body: &Body,
    ) -> Result<Answer, SendError> {
        // The encoded body may hold passwords: wiped when dropped.
        let body = zeroize::Zeroizing::new(
            serde_json::to_vec(body)
                .map_err(|error| SendError::BadAnswer(format!("cannot encode: {error}")))?,
        );
        let response = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|error| SendError::Unreachable(error_chain(&error)))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|error| SendError::Unreachable(error_chain(&error)))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|error| SendError::BadAnswer(error.to_string()));
        }
        let (code, message) = match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(api) => (api.error.code, api.error.message),
            Err(_) => ("http_error".into(), format!("HTTP {status}")),
        };
        Err(SendError::Refused { status: status.as_u16(), code, message })
    }
}

/// reqwest's Display names only the outermost error; the cause (a certificate problem, a
/// refused connection) is what an administrator needs.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
