//! What the emulated tenant holds: its id, app registrations, users, write budget and token
//! lifetime. Read from a TOML "users file" by `pwsync graph-emulator`, or built by a test.
//!
//! Unknown keys are refused by name, as in every pwsync configuration.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::directory::DirectoryUser;
use crate::registration::{AppRegistration, RegistrationError};

/// The emulated tenant.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorConfig {
    /// The tenant id (a GUID) the token endpoint answers for.
    pub tenant_id: String,
    /// Its initial domain (e.g. `contoso.onmicrosoft.com`), accepted in place of the id.
    #[serde(default)]
    pub tenant_domain: Option<String>,
    #[serde(default, rename = "app")]
    pub apps: Vec<AppRegistration>,
    #[serde(default, rename = "user")]
    pub users: Vec<DirectoryUser>,
    #[serde(default)]
    pub budget: WriteBudget,
    /// Lifetime of the access tokens issued, in seconds (Entra ID: 3599, or a little more).
    #[serde(default = "default_token_lifetime_s")]
    pub token_lifetime_s: u64,
}

/// Writes allowed per application and tenant in a sliding window; more are answered 429.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WriteBudget {
    pub writes: u32,
    pub window_s: u64,
}

impl Default for WriteBudget {
    /// The documented identity-service limit: 3,000 writes per 150 s per app and tenant.
    fn default() -> Self {
        WriteBudget { writes: 3000, window_s: 150 }
    }
}

impl WriteBudget {
    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window_s)
    }
}

fn default_token_lifetime_s() -> u64 {
    3599
}

#[derive(Debug, thiserror::Error)]
pub enum EmulatorConfigError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    #[error("{0}")]
    Invalid(String),
}

impl EmulatorConfig {
    pub fn load(path: &Path) -> Result<EmulatorConfig, EmulatorConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|error| EmulatorConfigError::Read { path: shown.clone(), message: error.to_string() })?;
        let config: EmulatorConfig = toml::from_str(&text)
            .map_err(|error| EmulatorConfigError::Parse { path: shown, message: error.to_string() })?;
        config.check()?;
        Ok(config)
    }

    pub fn check(&self) -> Result<(), EmulatorConfigError> {
        if self.tenant_id.trim().is_empty() {
            return Err(EmulatorConfigError::Invalid("tenant_id must not be empty".into()));
        }
        if self.budget.writes == 0 || self.budget.window_s == 0 {
            return Err(EmulatorConfigError::Invalid(
                "budget.writes and budget.window_s must be positive".into(),
            ));
        }
        if self.token_lifetime_s == 0 {
            return Err(EmulatorConfigError::Invalid("token_lifetime_s must be positive".into()));
        }
        for app in &self.apps {
            app.check()?;
        }
        Ok(())
    }
}
