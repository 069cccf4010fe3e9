//! The default origin name of a capture: this host's name.
//!
//! Read from the kernel on Linux and from the environment on Windows, so that no platform call
//! is needed; it must never fail the capture (an unknown host still captures).

pub fn this_host() -> String {
    #[cfg(target_os = "linux")]
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let name = name.trim();
        if !name.is_empty() {
            return name.to_string();
        }
    }
    for variable in ["COMPUTERNAME", "HOSTNAME"] {
        if let Ok(name) = std::env::var(variable) {
            if !name.trim().is_empty() {
                return name.trim().to_string();
            }
        }
    }
    "unknown-host".to_string()
}
