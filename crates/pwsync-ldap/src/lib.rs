//! Directory connections shared by everything in pwsync that talks LDAP: the client's scope
//! filter (asking the domain controller about an account) and the server's `ldap` target.
//!
//! One place decides how a connection is protected (`ldaps://` or StartTLS verified against a
//! configured CA; plain only when explicitly allowed), how the bind password is read (from a
//! file, never logged), and whether a filter is valid RFC 4515 (with the position of a mistake).
//! This crate must never trust system roots, skip certificate verification, bind with an empty
//! password, or put a password into an error.

mod bind_secret;
mod connection;
mod filter_check;
mod settings;

pub use bind_secret::BindSecret;
pub use connection::{ConnectPhase, Connector, Pool, Taken};
pub use filter_check::{check_filter, FilterError};
pub use settings::{DirectoryConfigError, DirectorySettings, Transport};
