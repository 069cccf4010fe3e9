//! `pwsync failed list|show|retry|purge`: the operator's handle on a client's `failed/`
//! directory. Records stay sealed: this reads only file names and reason files, so nothing
//! here can show a password.

use anyhow::{bail, Context};
use pwsync_spool::{FailedRecord, Spool};
use serde::Serialize;

use crate::cli::{FailedArgs, FailedCommand};
use pwsync_server::when;

#[derive(Serialize)]
struct FailedView<'a> {
    name: &'a str,
    change_id: String,
    captured_at_ns: i64,
    failed_at_ns: Option<i64>,
    code: &'a str,
    detail: &'a str,
}

impl<'a> From<&'a FailedRecord> for FailedView<'a> {
    fn from(record: &'a FailedRecord) -> Self {
        FailedView {
            name: &record.name,
            change_id: record.id.to_string(),
            captured_at_ns: record.captured_at_ns,
            failed_at_ns: record.failed_at_ns,
            code: &record.code,
            detail: &record.detail,
        }
    }
}

pub fn run(args: FailedArgs) -> anyhow::Result<()> {
    let Some(config) = &args.config else {
        bail!("--config FILE is required: the client configuration that names the spool");
    };
    let config = pwsync_client::config::ClientConfig::load(config)?;
    let spool = Spool::open(&config.client.spool)?;
    let failed = spool.list_failed()?;
    match args.command {
        FailedCommand::List => {
            if args.json {
                let views: Vec<FailedView> = failed.iter().map(FailedView::from).collect();
                println!("{}", serde_json::to_string_pretty(&views)?);
            } else if failed.is_empty() {
                println!("no failed records in {}", config.client.spool.display());
            } else {
                println!("{:<34} {:<21} {:<20} REASON", "CHANGE ID", "CAPTURED", "CODE");
                for record in &failed {
                    println!(
                        "{:<34} {:<21} {:<20} {}",
                        record.id.to_string(),
                        when::timestamp(record.captured_at_ns),
                        record.code,
                        record.detail
                    );
                }
                println!("{} failed record(s)", failed.len());
            }
        }
        FailedCommand::Show { record } => {
            let found = find(&failed, &record)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&FailedView::from(found))?);
            } else {
                println!("record:    {}", found.name);
                println!("change id: {}", found.id);
                println!(
                    "captured:  {} ({})",
                    when::timestamp(found.captured_at_ns),
                    when::ago(Some(found.captured_at_ns))
                );
                match found.failed_at_ns {
                    Some(at) => println!("failed:    {} ({})", when::timestamp(at), when::ago(Some(at))),
                    None => println!("failed:    unknown"),
                }
                println!("code:      {}", found.code);
                println!("reason:    {}", found.detail);
            }
        }
        FailedCommand::Retry { records, all } => {
            let chosen = choose(&failed, &records, all)?;
            for record in &chosen {
                spool.retry_failed(&record.name).with_context(|| format!("cannot retry {}", record.name))?;
                tracing::info!(change_id = %record.id, "failed record moved back for an operator retry");
            }
            report(args.json, "retried", &chosen)?;
        }
        FailedCommand::Purge { records, all } => {
            let chosen = choose(&failed, &records, all)?;
            for record in &chosen {
                spool.purge_failed(&record.name).with_context(|| format!("cannot purge {}", record.name))?;
                tracing::info!(change_id = %record.id, "failed record purged by the operator");
            }
            report(args.json, "purged", &chosen)?;
        }
    }
    Ok(())
}

fn report(json: bool, action: &str, records: &[&FailedRecord]) -> anyhow::Result<()> {
    if json {
        let ids: Vec<String> = records.iter().map(|record| record.id.to_string()).collect();
        println!("{}", serde_json::json!({ action: ids }));
    } else {
        for record in records {
            println!("{action} {}", record.id);
        }
        println!("{} record(s) {action}", records.len());
    }
    Ok(())
}

/// A record by file name or change id (case-insensitive hex).
fn find<'a>(failed: &'a [FailedRecord], wanted: &str) -> anyhow::Result<&'a FailedRecord> {
    let wanted = wanted.trim();
    failed
        .iter()
        .find(|record| record.name == wanted || record.id.to_string().eq_ignore_ascii_case(wanted))
        .with_context(|| format!("no failed record named {wanted:?} (see `pwsync failed list`)"))
}

fn choose<'a>(
    failed: &'a [FailedRecord],
    wanted: &[String],
    all: bool,
) -> anyhow::Result<Vec<&'a FailedRecord>> {
    if all {
        return Ok(failed.iter().collect());
    }
    // Every name is checked before anything moves: a typo leaves all records where they are.
    wanted.iter().map(|name| find(failed, name)).collect()
}
