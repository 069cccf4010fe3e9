//! The pwsync wire protocol, version 1: the JSON documents that a client daemon and the server
//! exchange over mutually authenticated TLS 1.3 (`POST /v1/changes`, `POST /v1/notices`).
//!
//! Both sides compile against these types, so the protocol cannot drift between them; the
//! OpenAPI document in `docs/api/openapi.yaml` describes the same shapes for other readers.
//!
//! This crate must never make a password printable: the only type that carries one,
//! [`SecretString`], zeroizes on drop and redacts itself in `Debug`.

mod change;
mod client_status;
mod decode;
mod json_integer;
mod limits;
mod notice;
mod objects_only;
mod secret;
mod verdict;

pub use change::{ChangeBatch, Identity, WireChange};
pub use client_status::{
    ClientStatusAnswer, ClientStatusReport, CLIENT_STATUS_PATH, MAX_REPORTED_FAILED, MAX_VERSION_BYTES,
};
pub use decode::{decode_json, json_depth, DecodeError};
pub use limits::{
    ProtoError, MAX_ACCOUNT_BYTES, MAX_BATCH_CHANGES, MAX_BODY_BYTES, MAX_JSON_DEPTH, MAX_PASSWORD_BYTES,
};
pub use notice::{Notice, NoticeBatch, NoticeKind, NoticeReceipt, MAX_NOTICE_REASON_BYTES, NOTICES_PATH};
pub use secret::SecretString;
pub use verdict::{ApiError, ApiErrorBody, BatchVerdicts, Verdict, VerdictEntry};

/// Path of the change submission endpoint; the version is part of the path so that a future
/// incompatible protocol can be served beside this one.
pub const CHANGES_PATH: &str = "/v1/changes";

/// Path of the liveness endpoint on the change listener (still behind client certificates).
pub const HEALTH_PATH: &str = "/v1/health";
