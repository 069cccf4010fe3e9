//! Protocol limits and the named errors for input that breaks them.
//!
//! The limits are generous for real directories (AD logon names are at most 20 characters,
//! UPNs 1,024) yet small enough that one client cannot make the server allocate much.

/// Most changes in one batch.
pub const MAX_BATCH_CHANGES: usize = 1000;
/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Deepest nesting of arrays and objects in a request body (the protocol's documents nest 4).
pub const MAX_JSON_DEPTH: usize = 32;
pub const MAX_ACCOUNT_BYTES: usize = 256;
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub(crate) const MAX_ORIGIN_BYTES: usize = 255;
pub(crate) const MAX_DOMAIN_BYTES: usize = 253;
pub(crate) const MAX_IDENTITY_BYTES: usize = 2048;

/// Why a request was refused. The texts are safe to log and to send back to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("the batch holds no change")]
    EmptyBatch,
    #[error("the batch holds more than {max} changes")]
    BatchTooLarge { max: usize },
    #[error("change id must be 32 lowercase hex characters")]
    BadChangeId,
    #[error("domain must be a lowercase DNS name of at most 253 characters")]
    BadDomain,
    #[error("{field} must be {min} to {max} bytes long")]
    FieldLength { field: &'static str, min: usize, max: usize },
    #[error("{field} contains a control character")]
    ControlCharacter { field: &'static str },
    #[error("the password is empty")]
    EmptyPassword,
    #[error("the password is longer than {max} bytes")]
    PasswordTooLong { max: usize },
    #[error("the password contains a NUL character")]
    PasswordHasNul,
    #[error("captured_at_ns must be a positive Unix time in nanoseconds")]
    BadCaptureTime,
}

impl ProtoError {
    /// A stable snake_case code for the error body, so that scripts need not parse messages.
    pub fn code(&self) -> &'static str {
        match self {
            ProtoError::EmptyBatch => "empty_batch",
            ProtoError::BatchTooLarge { .. } => "batch_too_large",
            ProtoError::BadChangeId => "bad_change_id",
            ProtoError::BadDomain => "bad_domain",
            ProtoError::FieldLength { .. } => "field_length",
            ProtoError::ControlCharacter { .. } => "control_character",
            ProtoError::EmptyPassword => "empty_password",
            ProtoError::PasswordTooLong { .. } => "password_too_long",
            ProtoError::PasswordHasNul => "password_has_nul",
            ProtoError::BadCaptureTime => "bad_capture_time",
        }
    }
}

pub(crate) fn check_change_id(id: &str) -> Result<(), ProtoError> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return Err(ProtoError::BadChangeId);
    }
    Ok(())
}

pub(crate) fn check_text(field: &'static str, value: &str, min: usize, max: usize) -> Result<(), ProtoError> {
    if value.len() < min || value.len() > max {
        return Err(ProtoError::FieldLength { field, min, max });
    }
    if value.chars().any(char::is_control) {
        return Err(ProtoError::ControlCharacter { field });
    }
    Ok(())
}

pub(crate) fn check_domain(domain: &str) -> Result<(), ProtoError> {
    let well_formed = !domain.is_empty()
        && domain.len() <= MAX_DOMAIN_BYTES
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if well_formed {
        Ok(())
    } else {
        Err(ProtoError::BadDomain)
    }
}
