//! [`SourceKind`]: which kind of capture hook recorded a change.
//!
//! The numeric codes are part of the record format and must never be renumbered; an
//! unknown code is an error, not a default.

use std::fmt;
use std::str::FromStr;

/// The capture hook that produced a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// Any other producer (tests, manual injection, scripts). Code 1.
    Generic,
    /// Samba AD `check password script`. Code 2.
    Samba,
    /// Windows LSA password filter DLL. Code 3.
    WindowsLsa,
    /// Linux PAM module. Code 4.
    Pam,
}

/// Why a name or code is not a [`SourceKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceKindParseError {
    /// The name is not one of `generic`, `samba`, `windows-lsa`, `pam`.
    #[error("unknown source kind {name:?} (expected generic, samba, windows-lsa or pam)")]
    UnknownName {
        /// The rejected name.
        name: String,
    },
}

impl SourceKind {
    /// All kinds, in code order.
    pub const ALL: [SourceKind; 4] =
        [SourceKind::Generic, SourceKind::Samba, SourceKind::WindowsLsa, SourceKind::Pam];

    /// The stable name: `generic`, `samba`, `windows-lsa` or `pam`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Generic => "generic",
            SourceKind::Samba => "samba",
            SourceKind::WindowsLsa => "windows-lsa",
            SourceKind::Pam => "pam",
        }
    }

    /// The byte stored in a record.
    pub fn code(self) -> u8 {
        match self {
            SourceKind::Generic => 1,
            SourceKind::Samba => 2,
            SourceKind::WindowsLsa => 3,
            SourceKind::Pam => 4,
        }
    }

    /// The kind stored as `code`, if the code is known.
    pub fn from_code(code: u8) -> Option<SourceKind> {
        SourceKind::ALL.iter().copied().find(|kind| kind.code() == code)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceKind {
    type Err = SourceKindParseError;

    fn from_str(name: &str) -> Result<SourceKind, SourceKindParseError> {
        SourceKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| SourceKindParseError::UnknownName { name: name.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for kind in SourceKind::ALL {
            assert_eq!(kind.as_str().parse::<SourceKind>(), Ok(kind));
            assert_eq!(SourceKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(SourceKind::WindowsLsa.as_str(), "windows-lsa");
        assert_eq!(SourceKind::Pam.code(), 4);
    }

    #[test]
    fn unknown_names_and_codes_are_refused() {
        assert!(matches!("Samba".parse::<SourceKind>(), Err(SourceKindParseError::UnknownName { .. })));
        assert_eq!(SourceKind::from_code(0), None);
        assert_eq!(SourceKind::from_code(5), None);
    }
}
