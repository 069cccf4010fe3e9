//! [`Spool::capture`]: the whole capture hook in one call — stamp, build the change with a
//! fresh random id, seal it to the public key, write it durably.
//!
//! Must never return success before the sealed record is on disk, and never write the
//! password anywhere but into the HPKE seal (the hook cannot read back what it wrote).

use std::path::PathBuf;

use pwsync_seal::{seal, Change, ChangeId, Password, PublicKey, SourceKind};

use crate::spool::now_ns;
use crate::{CaptureError, Spool};

/// What a hook knows about a change.
#[derive(Debug)]
pub struct CaptureInput {
    /// Account name (1..=256 bytes, no NUL).
    pub account: String,
    /// User principal name, if known.
    pub upn: Option<String>,
    /// The new password.
    pub password: Password,
    /// This host's or DC's name (1..=255 bytes).
    pub origin: String,
    /// Which hook is capturing.
    pub source: SourceKind,
}

/// A change that is now safely in the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Its id.
    pub id: ChangeId,
    /// Its capture time (Unix ns).
    pub captured_at_ns: i64,
    /// Its per-origin sequence number.
    pub origin_seq: u64,
    /// The record file.
    pub path: PathBuf,
}

impl Spool {
    /// Records one password change: takes the next stamp, seals the change to `key` and
    /// writes it durably. When this returns `Ok`, the change survives a crash.
    pub fn capture(&self, key: &PublicKey, input: CaptureInput) -> Result<Captured, CaptureError> {
        let (captured_at_ns, origin_seq) = self.next_stamp(now_ns())?;
        let change = Change {
            id: ChangeId::random(),
            account: input.account,
            upn: input.upn,
            password: input.password,
            captured_at_ns,
            origin: input.origin,
            origin_seq,
            source: input.source,
        };
        let record = seal(&change, key)?;
        let path = self.write_record(captured_at_ns, &change.id, &record)?;
        Ok(Captured { id: change.id, captured_at_ns, origin_seq, path })
    }
}
