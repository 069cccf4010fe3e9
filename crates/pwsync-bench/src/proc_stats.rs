//! What Linux knows about a running process: CPU time used (utime + stime from
//! `/proc/PID/stat`) and memory (VmRSS, VmHWM from `/proc/PID/status`).
//!
//! Read-only; it never signals or otherwise touches the process it looks at.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

/// CPU seconds (user + system) the process has used so far.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    Ok(cpu_ticks(pid)? as f64 / ticks_per_second())
}

/// CPU time in clock ticks (user + system).
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // The command name may hold spaces and parentheses; the fields follow the last ')'.
    let after = text.rsplit_once(')').map(|(_, rest)| rest).context("unexpected /proc stat format")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    Ok(utime + stime)
}

pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Memory {
    pub rss_mb: f64,
    pub peak_rss_mb: f64,
}

pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let field = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    Ok(Memory { rss_mb: field("VmRSS:"), peak_rss_mb: field("VmHWM:") })
}

/// The one-minute load average, for the record of each run.
pub fn load_average() -> f64 {
    std::fs::read_to_string(Path::new("/proc/loadavg"))
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        let busy: u64 = (0..5_000_000u64).fold(0, |a, b| a.wrapping_add(b * b));
        assert!(busy > 0);
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
        let memory = memory(pid).unwrap();
        assert!(memory.rss_mb > 0.0 && memory.peak_rss_mb >= memory.rss_mb);
        assert!(cpu_ticks(u32::MAX).is_err());
    }
}
