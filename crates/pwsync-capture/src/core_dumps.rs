//! Keeps a process that holds passwords out of core dumps and out of reach of debuggers of the
//! same user: a core file size limit of zero, and (Linux) the process marked non-dumpable, which
//! also makes its /proc memory files root's only.
//!
//! Used by the hook and by the daemons. Must never fail its caller: where a call is missing or
//! refused, the process goes on as it is (the systemd units also set `LimitCORE=0`).

/// Forbids core dumps of this process for the rest of its life.
pub fn forbid_core_dumps() {
    #[cfg(unix)]
    {
        let zero = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: setrlimit(2) with a valid, initialised struct; it only lowers our own limit.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
        }
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(2) PR_SET_DUMPABLE with the constant 0 takes no pointer.
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
    }
}
