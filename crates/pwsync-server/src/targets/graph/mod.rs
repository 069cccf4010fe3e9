//! The `graph` target: sets the password of a Microsoft Entra ID user through Microsoft Graph
//! (`PATCH /v1.0/users/{id}` with a `passwordProfile`), authenticated as an app registration
//! with a client secret or a certificate, paced to stay under the service's write limits.
//!
//! The password goes only into the body of the one PATCH, in memory wiped when the request is
//! done; it is never logged, never put into a reason unscrubbed, never in a URL.

mod assertion;
mod config;
mod credential;
mod http_client;
mod identity;
mod outcome;
mod pacing;
mod probe;
mod token_cache;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use zeroize::Zeroizing;

use super::{ApplyFuture, ApplyRequest, ProbeFuture, Target, TargetOutcome};
use crate::redact::scrub;
use identity::{IdentityMap, UserRef};
use outcome::{classify, Verdict};
use pacing::{Pacer, Signal};
use token_cache::{AccessToken, TokenCache};

pub use config::{AssertionAlgorithm, GraphCloud, GraphConfig, GraphConfigError, MatchBy, SuffixRewrite};
pub use identity::immutable_id;

/// How soon a change waits for again when the identity platform refused pwsync's own
/// credentials: an operator has to act, retrying faster would only add noise.
const CONFIGURATION_RETRY: Duration = Duration::from_secs(60);
/// How soon a change for a user Graph does not know yet is tried again: directory sync runs
/// every 2 minutes.
const NOT_FOUND_RETRY: Duration = Duration::from_secs(120);

pub struct GraphTarget {
    name: String,
    graph_url: String,
    concurrency: usize,
    force_change: bool,
    not_found_window: Duration,
    http: reqwest::Client,
    tokens: TokenCache,
    identities: IdentityMap,
    pacer: Pacer,
}

/// A request body holding the password: wiped when the HTTP stack drops it.
pub(crate) fn secret_body(bytes: &[u8]) -> reqwest::Body {
    reqwest::Body::from(Bytes::from_owner(Zeroizing::new(bytes.to_vec())))
}

/// A reqwest error with its causes (the TLS or connection error is in the chain).
pub(crate) fn describe_reqwest_error(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// How one attempt went, before it is turned into an outcome.
enum Attempt {
    Done(Verdict),
    /// No answer: the network, a timeout, a dropped connection.
    NoAnswer(String),
}

impl GraphTarget {
    /// Checks the configuration, reads the credential and CA files; contacts nothing.
    pub fn new(config: &GraphConfig) -> Result<GraphTarget, GraphConfigError> {
        let files = config.check_values()?;
        let credential = credential::Credential::load(&files)?;
        let http = http_client::build(config.ca_file.as_deref(), Duration::from_millis(config.timeout_ms))?;
        let tokens = TokenCache::new(
            http.clone(),
            config.token_url(),
            config.client_id.clone(),
            config.scope(),
            config.assertion_algorithm,
            credential,
        );
        Ok(GraphTarget {
            name: config.name.clone(),
            graph_url: config.graph_url().to_string(),
            concurrency: config.concurrency,
            force_change: config.force_change_password_next_sign_in,
            not_found_window: Duration::from_secs(config.not_found_retry_s),
            http,
            tokens,
            identities: IdentityMap::new(config.match_by, config.upn_suffix_rewrite.clone()),
            pacer: Pacer::new(config.write_budget, config.window(), config.budget_share, config.concurrency),
        })
    }

    fn user_url(&self, key: &str) -> reqwest::Url {
        let mut url = reqwest::Url::parse(&self.graph_url).expect("graph_url was checked at start");
        url.path_segments_mut().expect("an https URL has a path").extend(["v1.0", "users", key]);
        url
    }

    async fn run(&self, request: &ApplyRequest) -> TargetOutcome {
        let password = request.password.expose();
        let key = match self.find_user(request, password).await {
            Ok(key) => key,
            Err(outcome) => return outcome,
        };
        let body = Zeroizing::new(
            serde_json::to_vec(&serde_json::json!({
                "passwordProfile": {
                    "password": password,
                    "forceChangePasswordNextSignIn": self.force_change,
                }
            }))
            .expect("a JSON object serializes"),
        );
        let url = self.user_url(&key);
        let verdict = self
            .with_token(password, true, |token| {
                self.http
                    .patch(url.clone())
                    .bearer_auth(token.value.as_str())
                    .header("content-type", "application/json")
                    .body(secret_body(&body))
            })
            .await;
        match verdict {
            Ok((Verdict::NotFound { reason }, _)) => {
                self.identities.forget_id(&key);
                self.not_found(request, &reason)
            }
            Ok((verdict, _)) => self.settle(verdict),
            Err(outcome) => outcome,
        }
    }

    /// The `/users/{key}` of the change's account, looking it up when mapping needs it.
    async fn find_user(&self, request: &ApplyRequest, password: &str) -> Result<String, TargetOutcome> {
        let (filter, cache_key) = match self.identities.resolve(request) {
            Ok(UserRef::Key(key)) => return Ok(key),
            Ok(UserRef::Lookup { filter, cache_key }) => (filter, cache_key),
            Err(no_identity) => return Err(TargetOutcome::Rejected { reason: no_identity.0 }),
        };
        let mut url = self.user_url("");
        url.path_segments_mut().expect("an https URL has a path").pop();
        url.query_pairs_mut().append_pair("$filter", &filter).append_pair("$select", "id,userPrincipalName");
        let answer = self
            .with_token(password, false, |token| self.http.get(url.clone()).bearer_auth(token.value.as_str()))
            .await?;
        let ids = match answer {
            (Verdict::Outcome { outcome: TargetOutcome::Applied, .. }, body) => lookup_ids(&body),
            (Verdict::NotFound { reason }, _) => return Err(self.not_found(request, &reason)),
            (other, _) => return Err(self.settle(other)),
        };
        match ids.as_slice() {
            [id] => {
                self.identities.remember(&cache_key, id);
                Ok(id.clone())
            }
            [] => Err(self.not_found(request, &format!("no user matches {filter}"))),
            several => Err(TargetOutcome::Rejected {
                reason: format!("{} users match {filter}; exactly one is required", several.len()),
            }),
        }
    }

    /// Sends a request built by `build` with a valid token, paced; on a 401, obtains a new
    /// token and sends it once more. Returns the verdict and, for a read, the answer's body
    /// (a write's body is dropped here: it may echo the password).
    async fn with_token<F>(
        &self,
        password: &str,
        write: bool,
        build: F,
    ) -> Result<(Verdict, String), TargetOutcome>
    where
        F: Fn(&AccessToken) -> reqwest::RequestBuilder,
    {
        let mut refreshed = false;
        let mut body = String::new();
        loop {
            let token = self.tokens.get().await.map_err(|error| {
                let reason = format!("cannot obtain an access token: {}", error.reason);
                if error.configuration_error {
                    tracing::error!(target_name = %self.name, %reason,
                        "configuration error of the Graph target: every change waits until it is fixed");
                }
                let wait =
                    if error.configuration_error { CONFIGURATION_RETRY } else { outcome::DEFAULT_RETRY };
                TargetOutcome::Transient { reason, retry_after: Some(wait) }
            })?;
            let slot = self.pacer.acquire(write).await;
            let (attempt, signal) = match build(&token).send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let text = response.text().await.unwrap_or_default();
                    let signal = match status.as_u16() {
                        429 => Signal::Throttled {
                            retry_after: outcome::retry_after(&headers).unwrap_or_default(),
                        },
                        500..=599 => Signal::Overloaded,
                        _ => Signal::Answered {
                            limit_used: headers
                                .get("x-ms-throttle-limit-percentage")
                                .and_then(|value| value.to_str().ok())
                                .and_then(|value| value.trim().parse::<f64>().ok()),
                        },
                    };
                    let verdict = classify(status, &headers, &text, password);
                    body = if write { String::new() } else { text };
                    (Attempt::Done(verdict), signal)
                }
                Err(error) => {
                    (Attempt::NoAnswer(scrub(&describe_reqwest_error(&error), password)), Signal::Overloaded)
                }
            };
            let pause = self.pacer.finish(slot, signal);
            match attempt {
                Attempt::NoAnswer(reason) => {
                    return Err(TargetOutcome::Transient {
                        reason: format!("no answer from Graph: {reason}"),
                        retry_after: Some(outcome::DEFAULT_RETRY),
                    })
                }
                Attempt::Done(Verdict::Unauthorized { reason }) if !refreshed => {
                    tracing::info!(target_name = %self.name, %reason, "obtaining a new access token");
                    self.tokens.invalidate(&token).await;
                    refreshed = true;
                }
                Attempt::Done(Verdict::Unauthorized { reason }) => {
                    tracing::error!(target_name = %self.name, %reason,
                        "Graph refused a newly obtained token: check the app registration");
                    return Err(TargetOutcome::Transient { reason, retry_after: Some(CONFIGURATION_RETRY) });
                }
                Attempt::Done(Verdict::Outcome {
                    outcome: TargetOutcome::Transient { reason, .. },
                    configuration_error,
                }) if pause.is_some() => {
                    let (in_flight_limit, writes_per_second) = self.pacer.current();
                    tracing::warn!(target_name = %self.name, pause_ms = pause.unwrap_or_default().as_millis() as u64,
                        in_flight_limit, writes_per_second, "Graph throttled the target: every request waits");
                    let outcome = TargetOutcome::Transient { reason, retry_after: pause };
                    return Ok((Verdict::Outcome { outcome, configuration_error }, body));
                }
                Attempt::Done(verdict) => return Ok((verdict, body)),
            }
        }
    }

    /// A 404: retried while the change is younger than the window (directory sync may not have
    /// brought the user in yet), rejected after.
    fn not_found(&self, request: &ApplyRequest, reason: &str) -> TargetOutcome {
        let now_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos() as i64)
            .unwrap_or(0);
        let age = Duration::from_nanos(now_ns.saturating_sub(request.captured_at_ns).max(0) as u64);
        match self.not_found_window.checked_sub(age).filter(|left| !left.is_zero()) {
            Some(left) => TargetOutcome::Transient {
                reason: format!(
                    "{reason}; retried until {} s after the capture (directory sync lag)",
                    self.not_found_window.as_secs()
                ),
                retry_after: Some(NOT_FOUND_RETRY.min(left).max(Duration::from_secs(1))),
            },
            None => TargetOutcome::Rejected {
                reason: format!(
                    "{reason}; still not found {} s after the capture",
                    self.not_found_window.as_secs()
                ),
            },
        }
    }

    fn settle(&self, verdict: Verdict) -> TargetOutcome {
        match verdict {
            Verdict::Outcome { outcome, configuration_error } => {
                if configuration_error {
                    let reason = match &outcome {
                        TargetOutcome::Rejected { reason } | TargetOutcome::Transient { reason, .. } => {
                            reason.as_str()
                        }
                        TargetOutcome::Applied => "",
                    };
                    tracing::error!(target_name = %self.name, %reason,
                        "configuration error of the Graph target: fix the app's permissions or roles");
                }
                outcome
            }
            Verdict::Unauthorized { reason } => {
                TargetOutcome::Transient { reason, retry_after: Some(CONFIGURATION_RETRY) }
            }
            Verdict::NotFound { reason } => TargetOutcome::Rejected { reason },
        }
    }
}

/// The `id`s in a `GET /users?$filter=…` answer.
fn lookup_ids(text: &str) -> Vec<String> {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|value| value.get("value").and_then(|value| value.as_array()).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|user| user.get("id").and_then(|id| id.as_str()).map(str::to_string))
        .collect()
}

impl Target for GraphTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn apply<'a>(&'a self, request: &'a ApplyRequest) -> ApplyFuture<'a> {
        Box::pin(self.run(request))
    }

    fn probe<'a>(&'a self, request: &'a ApplyRequest) -> ProbeFuture<'a> {
        Box::pin(self.probe_account(request))
    }
}
