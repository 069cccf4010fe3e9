//! The generic capture hook (`pwsync-capture`, also `pwsync capture`): reads the new password
//! from stdin, seals it to the spool public key and writes it durably into the spool.
//!
//! It runs inside somebody's password-change path, so it starts no runtime, reads no
//! configuration file, talks to no network, and finishes in milliseconds. It must never print
//! the password, and never exit 0 without the record on disk unless told `--on-failure allow`.

mod core_dumps;
mod hostname;
mod syslog;

pub use core_dumps::forbid_core_dumps;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, ValueEnum};
use pwsync_seal::{Password, PublicKey, SourceKind};
use pwsync_spool::{CaptureInput, Spool};
use zeroize::Zeroizing;

#[derive(Args)]
#[command(after_long_help = "\
The new password is read from standard input (UTF-8; one trailing newline is removed unless \
--exact-stdin or --samba is given). It is never accepted as an argument or environment variable.

SAMBA AD DOMAIN CONTROLLERS
  With --samba the command speaks Samba's `check password script` protocol: the account is taken \
from SAMBA_CPS_ACCOUNT_NAME and the UPN from SAMBA_CPS_USER_PRINCIPAL_NAME (never from %u-style \
substitution in smb.conf), the password is standard input byte for byte, and the record is marked \
as coming from a pre-commit hook, so that the client forwards it only once the directory shows \
the change committed. In smb.conf:
    check password script = /usr/bin/pwsync-capture --samba --spool /var/spool/pwsync \
--key /etc/pwsync/spool.pub
  The default --on-failure is then `allow`: a change that cannot be captured still goes through, \
and the failure is reported on stderr, to syslog (facility authpriv) and in the spool's \
capture-failures journal, which the client reports. `--on-failure reject` makes Samba refuse a \
change that could not be captured instead, so the directory and the targets never diverge.

The record is sealed to the public key (HPKE, X25519 + ChaCha20-Poly1305), written to a temporary \
file, fsynced, renamed into the spool and the directory fsynced: when this command exits 0, the \
change survives a crash.

EXIT STATUS
  0   captured (or, with --on-failure allow, a failure was reported and noted)
  2   usage error (bad flags)
  64  --samba, but SAMBA_CPS_ACCOUNT_NAME is not set
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
    #[arg(long, required_unless_present = "samba", conflicts_with = "samba")]
    pub account: Option<String>,
    /// User principal name, when the capture point knows it.
    #[arg(long, conflicts_with = "samba")]
    pub upn: Option<String>,
    /// Run as Samba's `check password script`: account and UPN from SAMBA_CPS_* variables,
    /// password byte for byte, record marked pre-commit, default --on-failure allow.
    #[arg(long)]
    pub samba: bool,
    /// Name of this host in the ledger (default: the host name).
    #[arg(long)]
    pub origin: Option<String>,
    /// Keep standard input byte for byte (do not remove a trailing newline).
    #[arg(long)]
    pub exact_stdin: bool,
    /// What to do when the change cannot be captured: `reject` exits non-zero (a hook that
    /// refuses the change then keeps the systems in step); `allow` exits 0 after reporting.
    /// Default: `reject`, or `allow` with --samba.
    #[arg(long, value_enum)]
    pub on_failure: Option<OnFailure>,
    /// Print the change id on stdout after capturing.
    #[arg(long)]
    pub print_id: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnFailure {
    Allow,
    Reject,
}

/// Samba's `check password script` environment (never the password: that is on stdin).
const SAMBA_ACCOUNT_VARIABLE: &str = "SAMBA_CPS_ACCOUNT_NAME";
const SAMBA_UPN_VARIABLE: &str = "SAMBA_CPS_USER_PRINCIPAL_NAME";

/// sysexits.h codes, documented in `pwsync capture --help`.
const EXIT_USAGE: u8 = 64;
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

// The command line of the standalone `pwsync-capture` executable: here, beside the arguments, so
// that the manual generator renders the very definitions the executable parses. (Its doc comment
// is the executable's --help text.)
/// Capture one password change into the pwsync spool (the password is read from stdin).
#[derive(Parser)]
#[command(name = "pwsync-capture", version)]
pub struct StandaloneCli {
    #[command(flatten)]
    pub args: CaptureArgs,
}

/// The `pwsync-capture` command as clap sees it (for its manual page).
pub fn standalone_command() -> clap::Command {
    <StandaloneCli as clap::CommandFactory>::command()
}

/// Runs the hook and returns the documented exit status.
pub fn run(args: CaptureArgs) -> ExitCode {
    forbid_core_dumps();
    let call = match Call::from_args(&args) {
        Ok(call) => call,
        Err(failure) => return report_failure(&args, "(unknown)", &failure),
    };
    match capture(&args, &call) {
        Ok(id) => {
            if args.print_id {
                println!("{id}");
            }
            ExitCode::SUCCESS
        }
        Err(failure) => report_failure(&args, &call.account, &failure),
    }
}

/// What this invocation captures, from flags or (with --samba) from Samba's environment.
struct Call {
    account: String,
    upn: Option<String>,
    exact_stdin: bool,
    source: SourceKind,
}

impl Call {
    fn from_args(args: &CaptureArgs) -> Result<Call, Failure> {
        if !args.samba {
            return Ok(Call {
                account: args.account.clone().unwrap_or_default(),
                upn: args.upn.clone(),
                exact_stdin: args.exact_stdin,
                source: SourceKind::Generic,
            });
        }
        let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let account = variable(SAMBA_ACCOUNT_VARIABLE).ok_or_else(|| Failure {
            code: EXIT_USAGE,
            message: format!("--samba: {SAMBA_ACCOUNT_VARIABLE} is not set (is this run by Samba?)"),
        })?;
        Ok(Call { account, upn: variable(SAMBA_UPN_VARIABLE), exact_stdin: true, source: SourceKind::Samba })
    }
}

/// Reports a failure everywhere an operator may look, and turns it into the exit status the
/// --on-failure policy asks for.
fn report_failure(args: &CaptureArgs, account: &str, failure: &Failure) -> ExitCode {
    eprintln!("pwsync capture: {} (account {account:?})", failure.message);
    let policy = args.on_failure.unwrap_or(if args.samba { OnFailure::Allow } else { OnFailure::Reject });
    let consequence = match policy {
        OnFailure::Reject => "the password change is refused",
        OnFailure::Allow => "the password change goes ahead UNCAPTURED: targets will keep the old password",
    };
    syslog::error(&format!(
        "pwsync capture failed for account {account:?}: {}; {consequence}",
        failure.message
    ));
    if policy == OnFailure::Allow {
        eprintln!("pwsync capture: --on-failure allow: {consequence}");
        let noted = pwsync_spool::note_capture_failure(
            &args.spool,
            now_ns(),
            failure.code,
            account,
            &failure.message,
        );
        if let Err(error) = noted {
            eprintln!("pwsync capture: cannot note the failure in the spool's journal either: {error}");
        }
        return ExitCode::SUCCESS;
    }
    ExitCode::from(failure.code)
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as i64)
}

fn capture(args: &CaptureArgs, call: &Call) -> Result<String, Failure> {
    let password = read_password(call.exact_stdin)?;
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
        account: call.account.clone(),
        upn: call.upn.clone(),
        password,
        origin: args.origin.clone().unwrap_or_else(hostname::this_host),
        source: call.source,
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
