//! The generic capture hook (`pwsync-capture`, also `pwsync capture`): reads the new password
//! from stdin, seals it to the spool public key and writes it durably into the spool.
//!
//! It runs inside somebody's password-change path, so it starts no runtime, reads no
//! configuration file, talks to no network, and finishes in milliseconds. It must never print
//! the password, and never exit 0 without the record on disk unless told `--on-failure allow`.

mod hostname;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use pwsync_seal::{Password, PublicKey, SourceKind};
use pwsync_spool::{CaptureInput, Spool};
use zeroize::Zeroizing;

#[derive(Args)]
#[command(after_long_help = "\
The new password is read from standard input (UTF-8; one trailing newline is removed unless \
--exact-stdin is given). It is never accepted as an argument or environment variable.

The record is sealed to the public key (HPKE, X25519 + ChaCha20-Poly1305), written to a temporary \
file, fsynced, renamed into the spool and the directory fsynced: when this command exits 0, the \
change survives a crash.

EXIT STATUS
  0   captured (or, with --on-failure allow, a failure was reported on stderr)
  2   usage error (bad flags)
  65  bad input: empty password, not UTF-8, a field too long
  74  the spool could not be written (permissions, disk full)
  78  the public key file is missing or not a pwsync spool public key")]
pub struct CaptureArgs {
    /// Spool directory (created with mode 0700 if missing).
    #[arg(long, value_name = "DIR")]
    pub spool: PathBuf,
    /// Spool public key file made by `pwsync keygen`.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Account (logon) name whose password changed.
    #[arg(long)]
    pub account: String,
    /// User principal name, when the capture point knows it.
    #[arg(long)]
    pub upn: Option<String>,
    /// Name of this host in the ledger (default: the host name).
    #[arg(long)]
    pub origin: Option<String>,
    /// Keep standard input byte for byte (do not remove a trailing newline).
    #[arg(long)]
    pub exact_stdin: bool,
    /// What to do when the change cannot be captured: `reject` exits non-zero (a hook that
    /// refuses the change then keeps the systems in step); `allow` exits 0 after reporting.
    #[arg(long, value_enum, default_value_t = OnFailure::Reject)]
    pub on_failure: OnFailure,
    /// Print the change id on stdout after capturing.
    #[arg(long)]
    pub print_id: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnFailure {
    Allow,
    Reject,
}

/// sysexits.h codes, documented in `pwsync capture --help`.
const EXIT_DATAERR: u8 = 65;
const EXIT_IOERR: u8 = 74;
const EXIT_CONFIG: u8 = 78;

struct Failure {
    code: u8,
    message: String,
}

/// Reports a command-line error without repeating what was typed: a password pasted onto the
/// command line by mistake must not also reach the hook's log through the error message.
pub fn usage_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        // These messages name flags only, never values.
        ErrorKind::MissingRequiredArgument | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitCode::from(2)
        }
        kind => {
            eprintln!("pwsync capture: usage error: {kind} (not repeated here, in case it was a password); see --help");
            ExitCode::from(2)
        }
    }
}

/// Runs the hook and returns the documented exit status.
pub fn run(args: CaptureArgs) -> ExitCode {
    match capture(&args) {
        Ok(id) => {
            if args.print_id {
                println!("{id}");
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("pwsync capture: {} (account {:?})", failure.message, args.account);
            match args.on_failure {
                OnFailure::Reject => ExitCode::from(failure.code),
                OnFailure::Allow => {
                    eprintln!(
                        "pwsync capture: --on-failure allow: the password change goes ahead uncaptured"
                    );
                    ExitCode::SUCCESS
                }
            }
        }
    }
}

fn capture(args: &CaptureArgs) -> Result<String, Failure> {
    let password = read_password(args.exact_stdin)?;
    let key_text = std::fs::read_to_string(&args.key).map_err(|error| Failure {
        code: EXIT_CONFIG,
        message: format!("cannot read the spool public key {}: {error}", args.key.display()),
    })?;
    let key = PublicKey::parse_file_text(&key_text).map_err(|error| Failure {
        code: EXIT_CONFIG,
        message: format!("{}: {error}", args.key.display()),
    })?;
    let spool =
        Spool::open(&args.spool).map_err(|error| Failure { code: EXIT_IOERR, message: error.to_string() })?;
    let input = CaptureInput {
        account: args.account.clone(),
        upn: args.upn.clone(),
        password,
        origin: args.origin.clone().unwrap_or_else(hostname::this_host),
        source: SourceKind::Generic,
    };
    let captured = spool.capture(&key, input).map_err(|error| Failure {
        code: match error {
            pwsync_spool::CaptureError::Seal(_) => EXIT_DATAERR,
            _ => EXIT_IOERR,
        },
        message: error.to_string(),
    })?;
    Ok(captured.id.to_string())
}

fn read_password(exact: bool) -> Result<Password, Failure> {
    let limit = pwsync_seal::MAX_PASSWORD_LEN as u64 + 2;
    let mut bytes = Zeroizing::new(Vec::with_capacity(128));
    std::io::stdin().lock().take(limit + 1).read_to_end(&mut bytes).map_err(|error| Failure {
        code: EXIT_IOERR,
        message: format!("cannot read the password from stdin: {error}"),
    })?;
    if !exact {
        if bytes.ends_with(b"\r\n") {
            let keep = bytes.len() - 2;
            bytes.truncate(keep);
        } else if bytes.ends_with(b"\n") {
            let keep = bytes.len() - 1;
            bytes.truncate(keep);
        }
    }
    if bytes.is_empty() {
        return Err(Failure { code: EXIT_DATAERR, message: "no password on stdin".into() });
    }
    if bytes.len() as u64 > pwsync_seal::MAX_PASSWORD_LEN as u64 {
        return Err(Failure {
            code: EXIT_DATAERR,
            message: format!("the password is longer than {} bytes", pwsync_seal::MAX_PASSWORD_LEN),
        });
    }
    Password::from_utf8(std::mem::take(&mut *bytes))
        .map_err(|error| Failure { code: EXIT_DATAERR, message: error.to_string() })
}
