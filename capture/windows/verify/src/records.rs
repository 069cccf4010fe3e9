//! Key pair creation and reading every record of a spool, the way the client daemon does.
//!
//! Must never skip a record it cannot open: an unopenable record is a failed check, not a
//! record to ignore.

use std::fs;
use std::path::Path;

use pwsync_seal::{Change, SecretKey};
use pwsync_spool::Spool;

/// Writes `spool.key` and `spool.pub` into `dir`.
pub fn keygen(dir: &Path) -> Result<String, String> {
    let secret = SecretKey::generate();
    fs::create_dir_all(dir).map_err(|error| format!("cannot create {}: {}", dir.display(), error))?;
    let write = |name: &str, text: &[u8]| {
        fs::write(dir.join(name), text).map_err(|error| format!("cannot write {}: {}", name, error))
    };
    write("spool.key", secret.to_file_text().as_bytes())?;
    write("spool.pub", secret.public_key().to_file_text().as_bytes())?;
    Ok(format!("key pair in {} (key id {})", dir.display(), secret.public_key().key_id()))
}

/// Every pending record of the spool at `root`, opened with the secret key in `key_file`.
pub fn open_all(root: &Path, key_file: &Path) -> Result<Vec<Change>, String> {
    let key_text = fs::read_to_string(key_file)
        .map_err(|error| format!("cannot read {}: {}", key_file.display(), error))?;
    let key = SecretKey::parse_file_text(&key_text)
        .map_err(|error| format!("{}: {}", key_file.display(), error))?;
    let spool = Spool::open(root).map_err(|error| error.to_string())?;
    let strays = spool.list_strays().map_err(|error| error.to_string())?;
    if !strays.is_empty() {
        return Err(format!("the spool holds files that are not records: {:?}", strays));
    }
    let leftovers: Vec<String> = fs::read_dir(root)
        .map_err(|error| error.to_string())?
        .filter_map(|entry| entry.ok().and_then(|entry| entry.file_name().into_string().ok()))
        .filter(|name| name.starts_with(".tmp-"))
        .collect();
    if !leftovers.is_empty() {
        return Err(format!("temporary files were left in the spool: {:?}", leftovers));
    }
    let keys = [key];
    let mut changes = Vec::new();
    for record in spool.list_pending().map_err(|error| error.to_string())? {
        let bytes = spool.read(&record).map_err(|error| error.to_string())?;
        let change =
            pwsync_seal::open(&bytes, &keys).map_err(|error| format!("record {}: {}", record.name, error))?;
        if change.id != record.id || change.captured_at_ns != record.captured_at_ns {
            return Err(format!(
                "record {}: its name does not match its sealed id and capture time",
                record.name
            ));
        }
        changes.push(change);
    }
    Ok(changes)
}
