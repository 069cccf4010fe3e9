//! pwsync's Windows LSA password filter: a notification package DLL that lsass loads on a
//! domain controller and calls after every password change, and that seals each change —
//! account, new password, time, this DC — into the pwsync spool, in exactly the record
//! format of the Linux hooks (pwsync-seal, pwsync-spool). The pwsync client daemon then
//! delivers it. Installation: docs/deploy-windows.md.
//!
//! Exports (`exports`): `InitializeChangeNotify` (loads the configuration from
//! `HKLM\SOFTWARE\pwsync\PasswordFilter` or `pwsync-filter.conf` next to the DLL),
//! `PasswordFilter` (always accepts), `PasswordChangeNotify` (captures; see `capture` for
//! why synchronously). Everything is logged to `pwsync-filter.log` and, for warnings and
//! errors, the Application event log.
//!
//! Architecture invariants — this DLL lives inside lsass, so it must never: let a panic
//! unwind out of an export (each body is guarded), make a password change fail or wait long,
//! refuse to load because of its configuration, log or keep an unwiped copy of a password,
//! or write a record that differs from what LSA passed (an unpaired surrogate or a bad
//! UNICODE_STRING is logged and skipped, never repaired). It is built with Debian's rustc
//! 1.63 for x86_64-pc-windows-gnu only (`build.sh`).

#![cfg(windows)]
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod capture;
mod config;
mod config_file;
mod event_log;
mod exports;
mod guard;
mod log;
mod lsa_text;
mod module_path;
mod origin;
mod registry;
mod settings;
mod spool_dir;
mod state;
#[cfg(test)]
mod test_dir;
mod time_text;
mod unicode_string;
mod utf16;
mod win32;
