//! UTC timestamps for log lines, `2026-11-24T20:11:03.127Z`, from the system clock without a
//! date crate (the civil-from-days conversion is Howard Hinnant's public-domain algorithm).
//!
//! Must never panic, whatever the clock says: a time before 1970 prints as the epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as an ISO 8601 UTC timestamp with milliseconds.
pub fn now_utc() -> String {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format_utc(since_epoch.as_secs(), since_epoch.subsec_millis())
}

/// `seconds` after the Unix epoch (plus `millis`) as an ISO 8601 UTC timestamp.
pub fn format_utc(seconds: u64, millis: u32) -> String {
    let days = (seconds / 86_400) as i64;
    let second_of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        year,
        month,
        day,
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        millis
    )
}

/// (year, month 1-12, day 1-31) of the day `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_utc(0, 0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (a leap day of a century leap year) 12:34:56.
        assert_eq!(format_utc(951_827_696, 7), "2000-02-29T12:34:56.007Z");
        // 2026-11-24 20:11:03.
        assert_eq!(format_utc(1_795_551_063, 127), "2026-11-24T20:11:03.127Z");
        // 2100-03-01, the day after a non-leap February 28 of a century year.
        assert_eq!(format_utc(4_107_542_400, 999), "2100-03-01T00:00:00.999Z");
    }

    #[test]
    fn now_looks_like_a_timestamp() {
        let now = now_utc();
        assert_eq!(now.len(), 24, "{}", now);
        assert!(now.starts_with("20") && now.ends_with('Z'), "{}", now);
    }
}
