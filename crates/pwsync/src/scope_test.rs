//! `pwsync client test-scope`: runs the client's scope search for one account and shows how it
//! decided, so that an administrator can check a filter before a real change depends on it.
//! It changes nothing and involves no password.

use anyhow::bail;
use pwsync_client::scope::ScopeDecision;

use crate::cli::ClientCommand;

pub fn run(command: ClientCommand) -> anyhow::Result<()> {
    let ClientCommand::TestScope { account, config } = command;
    let config = pwsync_client::config::ClientConfig::load(&config)?;
    let scope = pwsync_client::directory_scope(&config)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let test = runtime.block_on(scope.test(&account, None));
    println!("directory: {}", test.url);
    println!("base:      {}", test.base_dn);
    println!("query:     {}", test.query);
    match test.decision {
        ScopeDecision::InScope { identity, evidence } => {
            println!("result:    IN SCOPE: changes of {account:?} are forwarded");
            let show = |name: &str, value: Option<String>| {
                println!("  {name:<20} {}", value.unwrap_or_else(|| "(none)".into()));
            };
            show("dn", identity.distinguished_name);
            show("userPrincipalName", identity.user_principal_name);
            show("objectGUID", identity.object_guid);
            show("mail", identity.mail);
            let last_set = evidence.and_then(|evidence| evidence.password_last_set_ns);
            show("pwdLastSet", last_set.map(format_ns));
            Ok(())
        }
        ScopeDecision::OutOfScope { reason } => {
            println!("result:    OUT OF SCOPE: {reason}");
            match test.entry_outside_filter {
                Some(dn) => println!("note:      the account exists ({dn}) but the filter excludes it"),
                None => println!("note:      no entry has this account name at all"),
            }
            bail!("{account:?} is out of scope: its changes are not forwarded")
        }
        ScopeDecision::Unavailable { reason } => {
            println!("result:    UNDECIDED: {reason}");
            bail!("the directory could not decide; the daemon would keep such changes and ask again")
        }
    }
}

fn format_ns(ns: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()
        .and_then(|time| time.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("{ns} ns since 1970"))
}
