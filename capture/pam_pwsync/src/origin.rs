//! The origin name recorded with each change: this host's name.
//!
//! Read from the kernel, so no resolver or network is involved; it must never fail the capture
//! (a host without a readable name still captures, as `unknown-host`).

use std::path::Path;

const KERNEL_HOSTNAME: &str = "/proc/sys/kernel/hostname";
const UNKNOWN: &str = "unknown-host";

/// This host's name.
pub fn this_host() -> String {
    host_name_from(Path::new(KERNEL_HOSTNAME))
}

fn host_name_from(file: &Path) -> String {
    match std::fs::read_to_string(file) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => UNKNOWN.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernel_host_name() {
        let name = this_host();
        assert!(!name.is_empty() && !name.contains('\n'), "{name:?}");
    }

    #[test]
    fn falls_back_when_the_name_cannot_be_read() {
        assert_eq!(host_name_from(Path::new("/nonexistent/pwsync/hostname")), UNKNOWN);
    }
}
