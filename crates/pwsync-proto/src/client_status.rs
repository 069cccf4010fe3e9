//! `POST /v1/client-status`: a client daemon's periodic report of its own state (version,
//! spool depth, oldest pending change, failed records), and the server's answer (the changes
//! an operator asked to retry).
//!
//! It carries counts and times only, never a change's content, so that the server can show
//! every client's backlog in one place, and notice a client that went silent.

use serde::{Deserialize, Serialize};

use crate::objects_only::objects_only;

objects_only!(ClientStatusReport);

pub const CLIENT_STATUS_PATH: &str = "/v1/client-status";

/// Longest `version` accepted.
pub const MAX_VERSION_BYTES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
// Objects only (objects_only.rs): the trait impls are below.
#[serde(remote = "Self")]
pub struct ClientStatusReport {
    /// The daemon's version (`pwsync --version`).
    pub version: String,
    /// Records waiting in the spool.
    #[serde(deserialize_with = "crate::json_integer::u64")]
    pub spool_depth: u64,
    /// Capture time (Unix ns) of the oldest waiting record; absent when none waits.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::json_integer::option_i64"
    )]
    pub oldest_pending_captured_at_ns: Option<i64>,
    /// Records in the spool's `failed/`.
    #[serde(deserialize_with = "crate::json_integer::u64")]
    pub failed: u64,
    /// Change ids of the failed records (at most [`MAX_REPORTED_FAILED`]), so that the
    /// server knows which rejected changes the client can still retry.
    #[serde(default)]
    pub failed_ids: Vec<String>,
}

/// Most failed change ids in one report.
pub const MAX_REPORTED_FAILED: usize = 1000;

impl ClientStatusReport {
    /// Checks the limits; the message names the field, never a value.
    pub fn validate(&self) -> Result<(), String> {
        if self.version.is_empty()
            || self.version.len() > MAX_VERSION_BYTES
            || self.version.chars().any(char::is_control)
        {
            return Err(format!("version must be 1 to {MAX_VERSION_BYTES} bytes without control characters"));
        }
        if self.failed_ids.len() > MAX_REPORTED_FAILED {
            return Err(format!("failed_ids holds more than {MAX_REPORTED_FAILED} ids"));
        }
        if !self.failed_ids.iter().all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err("failed_ids must be change ids of 32 hexadecimal digits".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientStatusAnswer {
    /// Change ids whose failed records the client should move back into its spool for another
    /// attempt (an operator pressed "retry" in the console).
    #[serde(default)]
    pub retry: Vec<String>,
}
