//! `pwsync capture`: the generic capture hook. Reads the new password from stdin, seals it to
//! the spool public key and writes it durably into the spool.
//!
//! It runs inside somebody's password-change path, so it starts no runtime, reads no
//! configuration file, talks to no network, and finishes in milliseconds. It must never print
//! the password, and never exit 0 without the record on disk unless told `--on-failure allow`.

use std::io::Read;
use std::process::ExitCode;

use pwsync_seal::{Password, PublicKey, SourceKind};
use pwsync_spool::{CaptureInput, Spool};
use zeroize::Zeroizing;

use crate::cli::{CaptureArgs, OnFailure};

/// sysexits.h codes, documented in `pwsync capture --help`.
const EXIT_DATAERR: u8 = 65;
const EXIT_IOERR: u8 = 74;
const EXIT_CONFIG: u8 = 78;

struct Failure {
    code: u8,
    message: String,
}

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
        origin: args.origin.clone().unwrap_or_else(crate::hostname::this_host),
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
