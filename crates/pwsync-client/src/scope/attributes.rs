//! Decoding the directory attributes the scope fetches: `objectGUID` (16 bytes in Microsoft's
//! mixed-endian GUID layout) into its usual text form, `pwdLastSet` (100 ns ticks since 1601)
//! and `whenChanged` (GeneralizedTime) into Unix nanoseconds.
//!
//! Every decoder answers `None` for a value it does not understand rather than guessing.

/// Seconds from 1601-01-01 to 1970-01-01, the offset of Windows FILETIME.
const FILETIME_UNIX_OFFSET_SECONDS: i64 = 11_644_473_600;

/// `objectGUID` bytes as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lowercase): the first three
/// fields are stored little-endian, the last two as they are — how AD tools print it.
pub fn guid_text(bytes: &[u8]) -> Option<String> {
    let bytes: &[u8; 16] = bytes.try_into().ok()?;
    let hex = |range: &[u8]| range.iter().map(|byte| format!("{byte:02x}")).collect::<String>();
    let reversed = |range: &[u8]| hex(&range.iter().rev().copied().collect::<Vec<u8>>());
    Some(format!(
        "{}-{}-{}-{}-{}",
        reversed(&bytes[0..4]),
        reversed(&bytes[4..6]),
        reversed(&bytes[6..8]),
        hex(&bytes[8..10]),
        hex(&bytes[10..16])
    ))
}

/// `pwdLastSet` as Unix nanoseconds. 0 (the user must change the password at next logon) and
/// values outside any plausible time are `None`.
pub fn filetime_ns(text: &str) -> Option<i64> {
    let ticks: i64 = text.trim().parse().ok()?;
    if ticks <= 0 {
        return None;
    }
    let unix_ticks = ticks.checked_sub(FILETIME_UNIX_OFFSET_SECONDS * 10_000_000)?;
    unix_ticks.checked_mul(100)
}

/// GeneralizedTime as AD writes it (`20261124214209.0Z`) as Unix nanoseconds.
pub fn generalized_time_ns(text: &str) -> Option<i64> {
    let digits = text.get(..14)?;
    if !digits.bytes().all(|byte| byte.is_ascii_digit()) || !text.ends_with('Z') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| digits[range].parse::<u32>().ok();
    let month = time::Month::try_from(number(4..6)? as u8).ok()?;
    let date = time::Date::from_calendar_date(number(0..4)? as i32, month, number(6..8)? as u8).ok()?;
    let time =
        time::Time::from_hms(number(8..10)? as u8, number(10..12)? as u8, number(12..14)? as u8).ok()?;
    let seconds = date.with_time(time).assume_utc().unix_timestamp();
    seconds.checked_mul(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guid_prints_as_ad_tools_print_it() {
        let bytes =
            [0xe0, 0x04, 0x25, 0x3f, 0x89, 0x4f, 0xd3, 0x11, 0x9a, 0x0c, 0x03, 0x05, 0xe8, 0x2c, 0x33, 0x01];
        assert_eq!(guid_text(&bytes).unwrap(), "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
        assert_eq!(guid_text(&bytes[..15]), None);
    }

    #[test]
    fn pwd_last_set_becomes_unix_time() {
        // Measured on a Samba DC: 134400300828988950 is 2026-11-24 21:41:22.898895 UTC.
        assert_eq!(filetime_ns("134400300828988950"), Some(1_795_556_482_898_895_000));
        assert_eq!(filetime_ns("0"), None);
        assert_eq!(filetime_ns("-1"), None);
        assert_eq!(filetime_ns("soon"), None);
    }

    #[test]
    fn when_changed_becomes_unix_time() {
        assert_eq!(generalized_time_ns("20261124214209.0Z"), Some(1_795_556_529_000_000_000));
        assert_eq!(generalized_time_ns("20261324214209.0Z"), None);
        assert_eq!(generalized_time_ns("2026"), None);
    }
}
