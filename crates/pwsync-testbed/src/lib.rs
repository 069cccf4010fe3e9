//! Real directories for tests: a throwaway Samba AD domain controller and a throwaway OpenLDAP
//! server, provisioned in temporary directories and served on loopback by the tests themselves.
//!
//! Used only as a dev-dependency. Its passwords are test fixtures, not secrets; it must never
//! touch the machine's own Samba or slapd configuration.

pub mod samba_ad;
pub mod slapd;
