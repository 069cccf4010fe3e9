//! The `dry-run` target: records that it would have set a password, and sets nothing.
//!
//! It is the demo's default and the safe first step of a deployment: the whole pipeline runs,
//! the ledger fills, and an optional JSON-lines log shows which change would have gone where.
//! The log holds ids, accounts and times; it must never hold the password.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{ApplyFuture, ApplyRequest, Target, TargetOutcome};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DryRunConfig {
    /// Name of the target in the ledger and in verdicts.
    pub name: String,
    /// Where to append one JSON line per change it would apply (optional).
    #[serde(default)]
    pub log: Option<PathBuf>,
}

pub struct DryRunTarget {
    name: String,
    log: Option<Mutex<File>>,
}

impl DryRunTarget {
    pub fn new(config: &DryRunConfig) -> std::io::Result<Self> {
        let log = match &config.log {
            Some(path) => {
                let mut options = OpenOptions::new();
                options.create(true).append(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o640);
                Some(Mutex::new(options.open(path)?))
            }
            None => None,
        };
        Ok(DryRunTarget { name: config.name.clone(), log })
    }
}

#[derive(Serialize)]
struct WouldApply<'a> {
    at_ns: i64,
    target: &'a str,
    change_id: &'a str,
    domain: &'a str,
    account: &'a str,
    captured_at_ns: i64,
    origin: &'a str,
}

impl Target for DryRunTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn concurrency(&self) -> usize {
        64
    }

    fn apply<'a>(&'a self, request: &'a ApplyRequest) -> ApplyFuture<'a> {
        Box::pin(async move {
            let Some(log) = &self.log else { return TargetOutcome::Applied };
            let line = WouldApply {
                at_ns: crate::ledger::now_ns(),
                target: &self.name,
                change_id: &request.change_id,
                domain: &request.domain,
                account: &request.account,
                captured_at_ns: request.captured_at_ns,
                origin: &request.origin,
            };
            let mut text = serde_json::to_string(&line).unwrap_or_default();
            text.push('\n');
            // One write call per line: lines from concurrent changes never interleave.
            let written =
                log.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).write_all(text.as_bytes());
            match written {
                Ok(()) => TargetOutcome::Applied,
                Err(error) => TargetOutcome::Transient {
                    reason: format!("cannot write the dry-run log: {error}"),
                    retry_after: None,
                },
            }
        })
    }
}
