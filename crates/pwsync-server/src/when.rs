//! Times and durations as an operator reads them: UTC timestamps (`2026-11-24 21:40:26Z`) and
//! short ages (`3.2 s`, `5 min`, `2 h 10 min`). Shared by the operator console and the
//! `status`, `failed` and `changes` commands, so that both show a time the same way.

/// Now, in Unix nanoseconds.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos() as i64
}

/// A Unix-nanosecond time as UTC, to the second.
pub fn timestamp(ns: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()
        .and_then(|at| at.format(&format).ok())
        .unwrap_or_else(|| format!("{ns} ns"))
}

/// A duration in nanoseconds, short.
pub fn duration(ns: i64) -> String {
    let ns = ns.max(0);
    let ms = ns as f64 / 1e6;
    if ms < 1.0 {
        format!("{:.0} µs", ns as f64 / 1e3)
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms < 3_600_000.0 {
        format!("{:.0} min", ms / 60_000.0)
    } else {
        let minutes = (ms / 60_000.0) as i64;
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}

/// How long ago `ns` was, e.g. `5 min ago`; `never` for none.
pub fn ago(ns: Option<i64>) -> String {
    match ns {
        Some(ns) => format!("{} ago", duration(now_ns() - ns)),
        None => "never".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(1_500), "2 µs");
        assert_eq!(duration(2_500_000), "2.5 ms");
        assert_eq!(duration(3_200_000_000), "3.2 s");
        assert_eq!(duration(300_000_000_000), "5 min");
        assert_eq!(duration(7_800_000_000_000), "2 h 10 min");
        assert_eq!(timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(timestamp(1_700_000_000_000_000_000), "2023-11-14 22:13:20Z");
        assert_eq!(timestamp(951_782_400_000_000_000), "2000-02-29 00:00:00Z");
    }
}
