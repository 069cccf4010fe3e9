//! `pwsync target test` for the graph target: obtains a token, checks what it grants (the
//! `roles` and `wids` claims of the app-only token), and finds the account — changing
//! nothing. Each common setup mistake gets a message that says what to fix.
//!
//! Must never send a PATCH or print the token.

use base64::Engine;
use serde::Deserialize;

use super::identity::UserRef;
use super::outcome::{error_text, Verdict};
use super::GraphTarget;
use crate::targets::{ApplyRequest, TargetOutcome};

/// Application permissions that allow a password reset (with a directory role).
const WRITE_PERMISSIONS: [&str; 3] =
    ["User-PasswordProfile.ReadWrite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"];
/// Directory roles (template ids) that allow resetting a non-administrator's password.
const RESET_ROLES: [(&str, &str); 3] = [
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    ("7be44c8a-adaf-4e2a-84d6-ab2649e08a13", "Privileged Authentication Administrator"),
    ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator"),
];

#[derive(Deserialize, Default)]
struct Claims {
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    wids: Vec<String>,
}

fn reason_of(outcome: TargetOutcome) -> String {
    match outcome {
        TargetOutcome::Rejected { reason } | TargetOutcome::Transient { reason, .. } => reason,
        TargetOutcome::Applied => "unexpected answer".into(),
    }
}

impl GraphTarget {
    pub(super) async fn probe_account(&self, request: &ApplyRequest) -> Result<String, String> {
        let token = self
            .tokens
            .get()
            .await
            .map_err(|error| format!("cannot obtain an access token: {}", error.reason))?;
        let claims = token
            .value
            .split('.')
            .nth(1)
            .and_then(|payload| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok())
            .and_then(|json| serde_json::from_slice::<Claims>(&json).ok())
            .unwrap_or_default();
        let permission = claims.roles.iter().find(|role| WRITE_PERMISSIONS.contains(&role.as_str())).cloned().ok_or_else(|| {
            format!(
                "the token grants no permission to set passwords (it has: {}): add the application permission \
                 User-PasswordProfile.ReadWrite.All under API permissions and grant admin consent",
                if claims.roles.is_empty() { "none".to_string() } else { claims.roles.join(", ") }
            )
        })?;
        let role = RESET_ROLES.iter().find(|(id, _)| claims.wids.iter().any(|wid| wid == id)).map(|(_, name)| *name).ok_or_else(|| {
            "the application's service principal holds no directory role that may reset passwords: assign it \
             the User Administrator role (Privileged Authentication Administrator to reach administrators)"
                .to_string()
        })?;
        let key = match self.identities.resolve(request).map_err(|no_identity| no_identity.0)? {
            UserRef::Key(key) => key,
            UserRef::Lookup { .. } => self.find_user(request, "").await.map_err(reason_of)?,
        };
        let mut url = self.user_url(&key);
        url.query_pairs_mut().append_pair("$select", "id,userPrincipalName,onPremisesSyncEnabled");
        let (verdict, body) = self
            .with_token("", false, |token| self.http.get(url.clone()).bearer_auth(token.value.as_str()))
            .await
            .map_err(reason_of)?;
        let user: serde_json::Value = match verdict {
            Verdict::Outcome { outcome: TargetOutcome::Applied, .. } => {
                serde_json::from_str(&body).unwrap_or_default()
            }
            Verdict::NotFound { reason } => return Err(format!("{} ({key}): {reason}", request.account)),
            Verdict::Outcome { outcome: TargetOutcome::Rejected { reason }, .. }
                if reason.contains("lack of privileges") =>
            {
                return Err(format!(
                    "the application may not read users ({}): grant it User.Read.All so that accounts can be \
                     looked up (needed by match_by = mail / source-anchor and by this test)",
                    error_text(&body)
                ))
            }
            other => return Err(reason_of(self.settle(other))),
        };
        let field = |name: &str| user.get(name).and_then(|value| value.as_str()).unwrap_or("?").to_string();
        if user.get("onPremisesSyncEnabled").and_then(|value| value.as_bool()) == Some(true) {
            return Err(format!(
                "{} maps to {} ({}), which is synchronized from on-premises AD: Graph will refuse to set its password",
                request.account,
                field("userPrincipalName"),
                field("id")
            ));
        }
        Ok(format!(
            "{} maps to {} (id {}); the token has {permission} and the role {role}",
            request.account,
            field("userPrincipalName"),
            field("id")
        ))
    }
}
