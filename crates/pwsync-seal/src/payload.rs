//! The payload: the versioned binary encoding of a [`Change`] that is encrypted inside a
//! record, and the field limits both sealing and opening enforce.
//!
//! Layout (integers big-endian, strings UTF-8 with a u16 length prefix):
//! `version u8 (=1) | change id [16] | account str | upn flag u8 (0/1) [| upn str] |
//! password str | captured_at_ns i64 | origin str | origin_seq u64 | source u8`.
//! Decoding is strict: unknown version, unknown source, a bad flag or any trailing byte is
//! an error. It must never put field content into an error (errors name the field and the
//! problem only), and the buffers that hold the password are wiped on drop.

use std::fmt;

use zeroize::Zeroizing;

use crate::{Change, ChangeId, Password, SourceKind};

/// Payload encoding version written by this crate.
pub const PAYLOAD_VERSION: u8 = 1;
/// Longest account in bytes.
pub const MAX_ACCOUNT_LEN: usize = 256;
/// Longest user principal name in bytes.
pub const MAX_UPN_LEN: usize = 1024;
/// Longest password in bytes (UTF-8).
pub const MAX_PASSWORD_LEN: usize = 1024;
/// Longest origin name in bytes.
pub const MAX_ORIGIN_LEN: usize = 255;

/// Smallest valid payload: one-byte account, password and origin, no UPN.
pub(crate) const MIN_PAYLOAD_LEN: usize = 1 + 16 + (2 + 1) + 1 + (2 + 1) + 8 + (2 + 1) + 8 + 1;

/// A field of the payload, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadField {
    /// The payload version byte.
    Version,
    /// The change id.
    ChangeId,
    /// The account name.
    Account,
    /// The user principal name (or its presence flag).
    Upn,
    /// The password.
    Password,
    /// The capture time.
    CapturedAt,
    /// The origin host name.
    Origin,
    /// The origin sequence number.
    OriginSeq,
    /// The source kind byte.
    Source,
    /// The end of the payload (trailing bytes).
    End,
}

impl PayloadField {
    /// The field's snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadField::Version => "version",
            PayloadField::ChangeId => "change_id",
            PayloadField::Account => "account",
            PayloadField::Upn => "upn",
            PayloadField::Password => "password",
            PayloadField::CapturedAt => "captured_at_ns",
            PayloadField::Origin => "origin",
            PayloadField::OriginSeq => "origin_seq",
            PayloadField::Source => "source",
            PayloadField::End => "end",
        }
    }
}

impl fmt::Display for PayloadField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with a payload field. Describes the problem, never the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    /// The payload ends inside this field.
    #[error("is cut short")]
    CutShort,
    /// The field is empty but must not be.
    #[error("is empty")]
    Empty,
    /// The field is longer than allowed.
    #[error("is {len} bytes, more than the limit of {max}")]
    TooLong {
        /// Actual length in bytes.
        len: usize,
        /// Limit in bytes.
        max: usize,
    },
    /// The field contains a NUL character.
    #[error("contains a NUL character")]
    ContainsNul,
    /// The field is not valid UTF-8.
    #[error("is not valid UTF-8")]
    NotUtf8,
    /// The payload version is not one this crate reads.
    #[error("has unknown payload version {version}")]
    UnknownVersion {
        /// The version found.
        version: u8,
    },
    /// The UPN presence flag is neither 0 nor 1.
    #[error("has presence flag {flag}, expected 0 or 1")]
    BadPresenceFlag {
        /// The flag found.
        flag: u8,
    },
    /// The source kind code is unknown.
    #[error("has unknown source kind code {code}")]
    UnknownSourceKind {
        /// The code found.
        code: u8,
    },
    /// Bytes follow the last field.
    #[error("has {count} unexpected trailing bytes")]
    TrailingBytes {
        /// Number of extra bytes.
        count: usize,
    },
}

/// A field and what is wrong with it.
pub(crate) type FieldError = (PayloadField, FieldProblem);

/// Checks every limit of the record format on `change`.
pub(crate) fn validate(change: &Change) -> Result<(), FieldError> {
    check_text(PayloadField::Account, &change.account, MAX_ACCOUNT_LEN, true)?;
    if let Some(upn) = &change.upn {
        check_text(PayloadField::Upn, upn, MAX_UPN_LEN, true)?;
    }
    check_text(PayloadField::Password, change.password.expose(), MAX_PASSWORD_LEN, false)?;
    check_text(PayloadField::Origin, &change.origin, MAX_ORIGIN_LEN, true)?;
    Ok(())
}

fn check_text(field: PayloadField, text: &str, max: usize, refuse_nul: bool) -> Result<(), FieldError> {
    if text.is_empty() {
        return Err((field, FieldProblem::Empty));
    }
    if text.len() > max {
        return Err((field, FieldProblem::TooLong { len: text.len(), max }));
    }
    if refuse_nul && text.contains('\0') {
        return Err((field, FieldProblem::ContainsNul));
    }
    Ok(())
}

/// Encodes a validated change. The buffer holds the password and is wiped on drop.
pub(crate) fn encode(change: &Change) -> Result<Zeroizing<Vec<u8>>, FieldError> {
    validate(change)?;
    let upn_len = change.upn.as_ref().map_or(0, |upn| 2 + upn.len());
    let len = 1
        + 16
        + (2 + change.account.len())
        + 1
        + upn_len
        + (2 + change.password.len())
        + 8
        + (2 + change.origin.len())
        + 8
        + 1;
    // Exact capacity: growing the vector would leave copies of the password behind.
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.push(PAYLOAD_VERSION);
    out.extend_from_slice(change.id.as_bytes());
    put_text(&mut out, &change.account);
    match &change.upn {
        Some(upn) => {
            out.push(1);
            put_text(&mut out, upn);
        }
        None => out.push(0),
    }
    put_text(&mut out, change.password.expose());
    out.extend_from_slice(&change.captured_at_ns.to_be_bytes());
    put_text(&mut out, &change.origin);
    out.extend_from_slice(&change.origin_seq.to_be_bytes());
    out.push(change.source.code());
    debug_assert_eq!(out.len(), len);
    Ok(out)
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    let len = u16::try_from(text.len()).expect("validated lengths fit in u16");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// The payload decoder on its own: the bytes a record's decryption yields, to a [`Change`],
/// refused exactly as [`crate::open`] refuses them after decrypting (`MalformedPayload`).
/// Public so that a fuzz target reaches the decoder without paying an X25519 agreement and a
/// decryption per input; production code opens whole records.
pub fn decode_payload(bytes: &[u8]) -> Result<Change, crate::OpenError> {
    decode(bytes).map_err(|(field, problem)| crate::OpenError::MalformedPayload { field, problem })
}

/// The payload encoder on its own: what [`crate::seal`] encrypts (the buffer holds the
/// password and is wiped on drop).
pub fn encode_payload(change: &Change) -> Result<Zeroizing<Vec<u8>>, crate::SealError> {
    encode(change).map_err(|(field, problem)| crate::SealError::InvalidField { field, problem })
}

/// Decodes and validates a payload.
pub(crate) fn decode(bytes: &[u8]) -> Result<Change, FieldError> {
    let mut reader = Reader { bytes, at: 0 };
    let version = reader.fixed::<1>(PayloadField::Version)?[0];
    if version != PAYLOAD_VERSION {
        return Err((PayloadField::Version, FieldProblem::UnknownVersion { version }));
    }
    let id = ChangeId::from_bytes(reader.fixed::<16>(PayloadField::ChangeId)?);
    let account = reader.text(PayloadField::Account, MAX_ACCOUNT_LEN)?;
    let upn = match reader.fixed::<1>(PayloadField::Upn)?[0] {
        0 => None,
        1 => Some(reader.text(PayloadField::Upn, MAX_UPN_LEN)?),
        flag => return Err((PayloadField::Upn, FieldProblem::BadPresenceFlag { flag })),
    };
    let password = reader.password()?;
    let captured_at_ns = i64::from_be_bytes(reader.fixed::<8>(PayloadField::CapturedAt)?);
    let origin = reader.text(PayloadField::Origin, MAX_ORIGIN_LEN)?;
    let origin_seq = u64::from_be_bytes(reader.fixed::<8>(PayloadField::OriginSeq)?);
    let code = reader.fixed::<1>(PayloadField::Source)?[0];
    let source = SourceKind::from_code(code)
        .ok_or((PayloadField::Source, FieldProblem::UnknownSourceKind { code }))?;
    let trailing = bytes.len() - reader.at;
    if trailing != 0 {
        return Err((PayloadField::End, FieldProblem::TrailingBytes { count: trailing }));
    }
    let change = Change { id, account, upn, password, captured_at_ns, origin, origin_seq, source };
    validate(&change)?;
    Ok(change)
}

/// A cursor over the payload that names the field it was reading when it fails.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: PayloadField, len: usize) -> Result<&'a [u8], FieldError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or((field, FieldProblem::CutShort))?;
        let part = &self.bytes[self.at..end];
        self.at = end;
        Ok(part)
    }

    fn fixed<const N: usize>(&mut self, field: PayloadField) -> Result<[u8; N], FieldError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    /// The raw bytes of a length-prefixed string, with the length checked against `max`
    /// before anything is copied.
    fn prefixed(&mut self, field: PayloadField, max: usize) -> Result<&'a [u8], FieldError> {
        let len = usize::from(u16::from_be_bytes(self.fixed::<2>(field)?));
        if len > max {
            return Err((field, FieldProblem::TooLong { len, max }));
        }
        self.take(field, len)
    }

    fn text(&mut self, field: PayloadField, max: usize) -> Result<String, FieldError> {
        let raw = self.prefixed(field, max)?;
        std::str::from_utf8(raw).map(str::to_owned).map_err(|_| (field, FieldProblem::NotUtf8))
    }

    fn password(&mut self) -> Result<Password, FieldError> {
        let raw = self.prefixed(PayloadField::Password, MAX_PASSWORD_LEN)?;
        let mut copy = Vec::with_capacity(raw.len());
        copy.extend_from_slice(raw);
        Password::from_utf8(copy).map_err(|_| (PayloadField::Password, FieldProblem::NotUtf8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Change {
        Change {
            id: ChangeId::from_bytes([0xab; 16]),
            account: "alice".to_owned(),
            upn: Some("alice@example.test".to_owned()),
            password: Password::new("Pässwörd-密码-1!".to_owned()),
            captured_at_ns: 1_790_000_000_123_456_789,
            origin: "dc1.example.test".to_owned(),
            origin_seq: 42,
            source: SourceKind::Samba,
        }
    }

    #[test]
    fn round_trips_with_and_without_upn() {
        for upn in [Some("alice@example.test".to_owned()), None] {
            let mut change = sample();
            change.upn = upn.clone();
            let bytes = encode(&change).unwrap();
            let decoded = decode(&bytes).unwrap();
            assert_eq!(decoded.id, change.id);
            assert_eq!(decoded.account, "alice");
            assert_eq!(decoded.upn, upn);
            assert_eq!(decoded.password.expose(), "Pässwörd-密码-1!");
            assert_eq!(decoded.captured_at_ns, change.captured_at_ns);
            assert_eq!(decoded.origin, "dc1.example.test");
            assert_eq!(decoded.origin_seq, 42);
            assert_eq!(decoded.source, SourceKind::Samba);
        }
    }

    #[test]
    fn smallest_payload_has_the_documented_minimum_length() {
        let mut change = sample();
        change.account = "a".to_owned();
        change.upn = None;
        change.password = Password::new("p".to_owned());
        change.origin = "o".to_owned();
        assert_eq!(encode(&change).unwrap().len(), MIN_PAYLOAD_LEN);
    }

    #[test]
    fn validation_names_field_and_problem() {
        type BreakField = fn(&mut Change);
        let cases: Vec<(BreakField, FieldError)> = vec![
            (|c| c.account.clear(), (PayloadField::Account, FieldProblem::Empty)),
            (
                |c| c.account = "a".repeat(257),
                (PayloadField::Account, FieldProblem::TooLong { len: 257, max: 256 }),
            ),
            (|c| c.account = "a\0b".to_owned(), (PayloadField::Account, FieldProblem::ContainsNul)),
            (|c| c.upn = Some(String::new()), (PayloadField::Upn, FieldProblem::Empty)),
            (
                |c| c.upn = Some("u".repeat(1025)),
                (PayloadField::Upn, FieldProblem::TooLong { len: 1025, max: 1024 }),
            ),
            (|c| c.password = Password::new(String::new()), (PayloadField::Password, FieldProblem::Empty)),
            (
                |c| c.password = Password::new("p".repeat(1025)),
                (PayloadField::Password, FieldProblem::TooLong { len: 1025, max: 1024 }),
            ),
            (|c| c.origin.clear(), (PayloadField::Origin, FieldProblem::Empty)),
            (
                |c| c.origin = "o".repeat(256),
                (PayloadField::Origin, FieldProblem::TooLong { len: 256, max: 255 }),
            ),
        ];
        for (break_it, expected) in cases {
            let mut change = sample();
            break_it(&mut change);
            assert_eq!(validate(&change), Err(expected));
        }
        let mut at_limits = sample();
        at_limits.account = "a".repeat(256);
        at_limits.upn = Some("u".repeat(1024));
        at_limits.password = Password::new("p".repeat(1024));
        at_limits.origin = "o".repeat(255);
        assert_eq!(validate(&at_limits), Ok(()));
    }

    #[test]
    fn decoding_is_strict() {
        let good = encode(&sample()).unwrap().to_vec();

        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            decode(&trailing).unwrap_err(),
            (PayloadField::End, FieldProblem::TrailingBytes { count: 1 })
        );

        let mut version = good.clone();
        version[0] = 2;
        assert_eq!(
            decode(&version).unwrap_err(),
            (PayloadField::Version, FieldProblem::UnknownVersion { version: 2 })
        );

        let mut source = good.clone();
        *source.last_mut().unwrap() = 9;
        assert_eq!(
            decode(&source).unwrap_err(),
            (PayloadField::Source, FieldProblem::UnknownSourceKind { code: 9 })
        );

        let flag_at = 1 + 16 + 2 + "alice".len();
        let mut flag = good.clone();
        flag[flag_at] = 7;
        assert_eq!(
            decode(&flag).unwrap_err(),
            (PayloadField::Upn, FieldProblem::BadPresenceFlag { flag: 7 })
        );

        let mut not_utf8 = good.clone();
        not_utf8[1 + 16 + 2] = 0xff;
        assert_eq!(decode(&not_utf8).unwrap_err(), (PayloadField::Account, FieldProblem::NotUtf8));

        let mut too_long = good.clone();
        too_long[1 + 16..1 + 16 + 2].copy_from_slice(&300u16.to_be_bytes());
        assert_eq!(
            decode(&too_long).unwrap_err(),
            (PayloadField::Account, FieldProblem::TooLong { len: 300, max: 256 })
        );

        assert_eq!(
            decode(&good[..good.len() - 1]).unwrap_err(),
            (PayloadField::Source, FieldProblem::CutShort)
        );
        assert_eq!(decode(&[]).unwrap_err(), (PayloadField::Version, FieldProblem::CutShort));
    }
}
