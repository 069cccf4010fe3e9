//! [`SecretString`]: a password in transit between client and server.
//!
//! It must never be printed: `Debug` shows a redaction and there is deliberately no `Display`.
//! The heap buffer is wiped when the value is dropped. (serde_json's own parsing buffers are
//! outside our control; the string is moved into this type as early as possible.)

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A UTF-8 secret that zeroizes on drop and never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn new(secret: String) -> Self {
        SecretString(Zeroizing::new(secret))
    }

    /// The clear text. Call it only where the password is handed to a target or sealed.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretString::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = SecretString::new("pwsync-canary-hunter2".into());
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(!format!("{:#?}", vec![secret]).contains("hunter2"));
    }

    #[test]
    fn round_trips_through_json_byte_exact() {
        let secret = SecretString::new("Pässwörd-密码-1!".into());
        let json = serde_json::to_string(&secret).unwrap();
        let back: SecretString = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), "Pässwörd-密码-1!");
    }
}
