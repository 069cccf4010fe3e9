//! The client's side of the wire: one HTTPS request per batch to the server, over TLS 1.3 with
//! this client's certificate, and the server's verdicts back.
//!
//! An error here is always about the request as a whole (server down, refused, garbled); the
//! daemon then keeps every record of the batch. This module must never put a change's content
//! into an error or a log line.

use std::time::Duration;

use pwsync_proto::{ApiError, BatchVerdicts, ChangeBatch, CHANGES_PATH};

use crate::config::ServerSection;

pub struct Sender {
    http: reqwest::Client,
    url: String,
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
        let url = format!("{}{}", server.url.trim_end_matches('/'), CHANGES_PATH);
        let status_url = format!("{}{}", server.url.trim_end_matches('/'), pwsync_proto::CLIENT_STATUS_PATH);
        Ok(Sender { http, url, status_url, contact: None })
    }

    /// Records every request's outcome in the spool's state file (for `pwsync status`).
    pub fn with_contact_log(mut self, contact: crate::contact::ContactLog) -> Sender {
        self.contact = Some(contact);
        self
    }

    pub async fn send(&self, batch: &ChangeBatch) -> Result<BatchVerdicts, SendError> {
        let started = std::time::Instant::now();
        let result = self.send_once(batch).await;
        self.record_outcome(&result, started);
        if let Ok(verdicts) = &result {
            verdicts.verdicts.iter().for_each(|entry| crate::metrics::verdict(entry.verdict.name()));
        }
        result
    }

    /// Sends the daemon's status report; the answer lists the operator's retries.
    pub async fn report(
        &self,
        report: &pwsync_proto::ClientStatusReport,
    ) -> Result<pwsync_proto::ClientStatusAnswer, SendError> {
        let started = std::time::Instant::now();
        let result = self.report_once(report).await;
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

    async fn report_once(
        &self,
        report: &pwsync_proto::ClientStatusReport,
    ) -> Result<pwsync_proto::ClientStatusAnswer, SendError> {
        let response = self
            .http
            .post(&self.status_url)
            .json(report)
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

    async fn send_once(&self, batch: &ChangeBatch) -> Result<BatchVerdicts, SendError> {
        let body = zeroize::Zeroizing::new(
            serde_json::to_vec(batch)
                .map_err(|error| SendError::BadAnswer(format!("cannot encode: {error}")))?,
        );
        let response = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|error| SendError::Unreachable(error_chain(&error)))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|error| SendError::Unreachable(error_chain(&error)))?;
        if status.is_success() {
            let verdicts: BatchVerdicts =
                serde_json::from_slice(&bytes).map_err(|error| SendError::BadAnswer(error.to_string()))?;
            if verdicts.verdicts.len() != batch.changes.len() {
                return Err(SendError::BadAnswer(format!(
                    "{} verdicts for {} changes",
                    verdicts.verdicts.len(),
                    batch.changes.len()
                )));
            }
            return Ok(verdicts);
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
