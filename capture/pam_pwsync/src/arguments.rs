//! [`ModuleArguments`]: the module's whole configuration, parsed from its pam.d arguments
//! `spool=DIR key=FILE [debug] [reject_on_failure]`.
//!
//! There is no configuration file on purpose (one less thing that can break a password
//! change). An argument that is not understood is an error, never silently ignored: a typo
//! such as `spoll=` would otherwise mean changes are quietly not captured.

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The flag that makes a failed capture fail the password change.
const REJECT_ON_FAILURE: &[u8] = b"reject_on_failure";
const DEBUG: &[u8] = b"debug";
const SPOOL: &str = "spool";
const KEY: &str = "key";

/// What the pam.d line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleArguments {
    /// The spool directory (`spool=`), absolute.
    pub spool: PathBuf,
    /// The spool public key file (`key=`), absolute.
    pub key: PathBuf,
    /// `debug`: log a line for every capture, not only for failures.
    pub debug: bool,
    /// `reject_on_failure`: fail the password change when it cannot be captured.
    pub reject_on_failure: bool,
}

/// Why the module arguments were refused. The module then captures nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgumentError {
    /// An argument that is none of `spool=`, `key=`, `debug`, `reject_on_failure`.
    #[error("unknown module argument {argument:?} (expected spool=DIR, key=FILE, debug, reject_on_failure)")]
    Unknown {
        /// The argument as written (lossily decoded if not UTF-8).
        argument: String,
    },
    /// `spool=` or `key=` appears twice.
    #[error("module argument {name}= is given more than once; keep one")]
    Repeated {
        /// `spool` or `key`.
        name: &'static str,
    },
    /// `spool=` or `key=` is not an absolute path (PAM runs in many working directories).
    #[error("module argument {name}= must be an absolute path, got {value:?}")]
    NotAbsolute {
        /// `spool` or `key`.
        name: &'static str,
        /// The value as written.
        value: String,
    },
    /// `spool=` or `key=` is missing.
    #[error("module argument {name}= is missing; the pam.d line needs spool=DIR key=FILE")]
    Missing {
        /// `spool` or `key`.
        name: &'static str,
    },
}

impl ModuleArguments {
    /// Parses the arguments PAM passes to the module.
    pub fn parse(arguments: &[&CStr]) -> Result<ModuleArguments, ArgumentError> {
        let mut spool = None;
        let mut key = None;
        let mut debug = false;
        let mut reject_on_failure = false;
        for argument in arguments {
            let bytes = argument.to_bytes();
            if bytes == DEBUG {
                debug = true;
            } else if bytes == REJECT_ON_FAILURE {
                reject_on_failure = true;
            } else if let Some(value) = value_of(bytes, SPOOL) {
                set_path(&mut spool, SPOOL, value)?;
            } else if let Some(value) = value_of(bytes, KEY) {
                set_path(&mut key, KEY, value)?;
            } else {
                return Err(ArgumentError::Unknown { argument: lossy(bytes) });
            }
        }
        Ok(ModuleArguments {
            spool: spool.ok_or(ArgumentError::Missing { name: SPOOL })?,
            key: key.ok_or(ArgumentError::Missing { name: KEY })?,
            debug,
            reject_on_failure,
        })
    }
}

/// Whether `reject_on_failure` is among the arguments, read on its own so that the flag holds
/// even when the other arguments are broken: an operator who asked for a closed failure
/// must not get an open one because of a typo elsewhere on the line.
pub fn rejects_on_failure(arguments: &[&CStr]) -> bool {
    arguments.iter().any(|argument| argument.to_bytes() == REJECT_ON_FAILURE)
}

fn value_of<'a>(argument: &'a [u8], name: &str) -> Option<&'a [u8]> {
    argument.strip_prefix(name.as_bytes())?.strip_prefix(b"=")
}

fn set_path(slot: &mut Option<PathBuf>, name: &'static str, value: &[u8]) -> Result<(), ArgumentError> {
    if slot.is_some() {
        return Err(ArgumentError::Repeated { name });
    }
    // Paths are bytes on Linux; a non-UTF-8 directory name is still a valid spool.
    let path = Path::new(OsStr::from_bytes(value));
    if !path.is_absolute() {
        return Err(ArgumentError::NotAbsolute { name, value: lossy(value) });
    }
    *slot = Some(path.to_owned());
    Ok(())
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_line() {
        let parsed = ModuleArguments::parse(&[
            c"spool=/var/spool/pwsync",
            c"key=/etc/pwsync/spool.pub",
            c"debug",
            c"reject_on_failure",
        ])
        .unwrap();
        assert_eq!(
            parsed,
            ModuleArguments {
                spool: PathBuf::from("/var/spool/pwsync"),
                key: PathBuf::from("/etc/pwsync/spool.pub"),
                debug: true,
                reject_on_failure: true,
            }
        );
    }

    #[test]
    fn flags_are_off_unless_given_and_order_does_not_matter() {
        let parsed = ModuleArguments::parse(&[c"key=/k", c"spool=/s"]).unwrap();
        assert_eq!(parsed.spool, PathBuf::from("/s"));
        assert_eq!(parsed.key, PathBuf::from("/k"));
        assert!(!parsed.debug);
        assert!(!parsed.reject_on_failure);
    }

    #[test]
    fn accepts_a_non_utf8_path() {
        let argument = c"spool=/var/spool/pw\xffsync";
        let parsed = ModuleArguments::parse(&[argument, c"key=/k"]).unwrap();
        assert_eq!(parsed.spool.as_os_str().as_bytes(), b"/var/spool/pw\xffsync");
    }

    #[test]
    fn refuses_an_unknown_argument() {
        let error = ModuleArguments::parse(&[c"spool=/s", c"key=/k", c"spoll=/x"]).unwrap_err();
        assert_eq!(error, ArgumentError::Unknown { argument: "spoll=/x".into() });
        // A bare name without `=` is not the path argument either.
        let error = ModuleArguments::parse(&[c"spool", c"key=/k"]).unwrap_err();
        assert_eq!(error, ArgumentError::Unknown { argument: "spool".into() });
        assert!(error.to_string().contains("expected spool=DIR"), "{error}");
    }

    #[test]
    fn refuses_missing_paths() {
        assert_eq!(
            ModuleArguments::parse(&[c"key=/k"]).unwrap_err(),
            ArgumentError::Missing { name: "spool" }
        );
        assert_eq!(
            ModuleArguments::parse(&[c"spool=/s", c"debug"]).unwrap_err(),
            ArgumentError::Missing { name: "key" }
        );
    }

    #[test]
    fn refuses_relative_or_empty_paths() {
        assert_eq!(
            ModuleArguments::parse(&[c"spool=spool", c"key=/k"]).unwrap_err(),
            ArgumentError::NotAbsolute { name: "spool", value: "spool".into() }
        );
        assert_eq!(
            ModuleArguments::parse(&[c"spool=/s", c"key="]).unwrap_err(),
            ArgumentError::NotAbsolute { name: "key", value: String::new() }
        );
    }

    #[test]
    fn refuses_a_repeated_path() {
        assert_eq!(
            ModuleArguments::parse(&[c"spool=/a", c"key=/k", c"spool=/b"]).unwrap_err(),
            ArgumentError::Repeated { name: "spool" }
        );
    }

    #[test]
    fn reject_on_failure_is_seen_even_when_the_rest_is_broken() {
        let broken = [c"spoll=/x", c"reject_on_failure"];
        assert!(ModuleArguments::parse(&broken).is_err());
        assert!(rejects_on_failure(&broken));
        assert!(!rejects_on_failure(&[c"spool=/s", c"key=/k", c"debug"]));
        assert!(!rejects_on_failure(&[c"reject_on_failure=no"]));
    }
}
