//! pwsync spool records: the sealed, self-describing file a capture hook writes for each
//! password change, and the only code that turns a [`Change`] into such bytes and back.
//!
//! A record is `header || ciphertext`: the header (see [`RecordHeader`]) names the format
//! version, the HPKE suite and the recipient key, and is the associated data of an HPKE
//! (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305)
//! encryption of the payload. The byte layout is specified, with test vectors, in
//! `docs/spool-format.md`.
//!
//! This crate must never: put a password (or anything else from the payload) into an
//! error, a `Debug` or `Display` output, or a log; keep a password in memory that is not
//! wiped on drop; implement cryptography itself (everything cryptographic is `hpke`); or
//! use Rust newer than 1.63, because the Windows LSA filter DLL and the PAM module are
//! built with Debian's rustc 1.63 and must write the very same records.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod change;
mod change_id;
mod fixed_ikm_rng;
mod header;
mod hex;
mod key_file;
mod key_id;
mod open;
mod password;
mod payload;
mod public_key;
mod seal;
mod secret_key;
mod source_kind;
mod suite;

pub use change::Change;
pub use change_id::{ChangeId, ChangeIdParseError};
pub use header::{RecordHeader, HEADER_LEN, MAGIC, MAX_RECORD_LEN, RECORD_VERSION};
pub use key_file::KeyFileError;
pub use key_id::KeyId;
pub use open::{open, read_header, OpenError};
pub use password::{Password, PasswordError};
pub use payload::{
    decode_payload, encode_payload, FieldProblem, PayloadField, MAX_ACCOUNT_LEN, MAX_ORIGIN_LEN,
    MAX_PASSWORD_LEN, MAX_UPN_LEN, PAYLOAD_VERSION,
};
pub use public_key::PublicKey;
pub use seal::{seal, seal_with_ephemeral, SealError};
pub use secret_key::SecretKey;
pub use source_kind::{SourceKind, SourceKindParseError};
pub use suite::{AEAD_ID, HPKE_INFO, KDF_ID, KEM_ID};
