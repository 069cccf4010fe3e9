//! The few file-system operations whose durable or secure form differs by platform:
//! private directories and files, directory fsync, and an exclusive lock on a file.
//!
//! Everything else in the crate is portable std. Each platform module must offer the same
//! functions; where a platform has no equivalent, its module says so and does the best it
//! can, never silently something weaker on unix.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use self::unix::*;

#[cfg(not(unix))]
mod other;
#[cfg(not(unix))]
pub(crate) use self::other::*;
