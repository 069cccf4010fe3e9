//! The console's pages, rendered on the server from the ledger (read-only): overview,
//! clients, changes (search by account, one change in detail) and failures.
//!
//! Every value from the ledger is escaped. The ledger holds no password, so no page can show
//! one; rejection reasons were already scrubbed of the password when they were recorded.

use std::fmt::Write;

use crate::ledger::{ChangeView, ClientSeen, LedgerError, LedgerReader};

use super::chart;
use super::html::{badge, esc, page};
use super::session::ConsoleUser;
use crate::when::{ago, duration, now_ns, timestamp};

/// A client not heard from for this long is marked silent.
pub const SILENT_AFTER_NS: i64 = 5 * 60 * 1_000_000_000;
/// The chart covers this much time, in buckets of [`CHART_BUCKET_NS`].
const CHART_SPAN_NS: i64 = 6 * 3600 * 1_000_000_000;
const CHART_BUCKET_NS: i64 = 5 * 60 * 1_000_000_000;

fn card(value: &str, label: &str, class: &str) -> String {
    format!(
        "<div class=\"card\"><div class=\"v {class}\">{}</div><div class=\"k\">{}</div></div>",
        esc(value),
        esc(label)
    )
}

fn quantile_text(sorted: &[i64], q: f64) -> String {
    crate::ledger::quantile(sorted, q).map_or("–".into(), duration)
}

pub fn overview(
    reader: &LedgerReader,
    ledger: &std::path::Path,
    user: &ConsoleUser,
) -> Result<String, LedgerError> {
    let summary = crate::ledger::summarize(ledger)?;
    let now = now_ns();
    let recent = reader.throughput(now - 5 * 60 * 1_000_000_000, now, 5 * 60 * 1_000_000_000)?;
    let settled_recently: u64 = recent.iter().map(|b| b.applied + b.rejected + b.superseded).sum();
    let mut body = String::from("<h1>Overview</h1><div class=\"cards\">");
    body.push_str(&card(
        &format!("{:.1}", settled_recently as f64 / 5.0),
        "changes per minute (last 5 min)",
        "",
    ));
    body.push_str(&card(&summary.applied.to_string(), "applied", "ok"));
    body.push_str(&card(
        &summary.rejected.to_string(),
        "rejected",
        if summary.rejected > 0 { "bad" } else { "" },
    ));
    body.push_str(&card(
        &summary.pending.to_string(),
        "pending",
        if summary.pending > 0 { "warn" } else { "" },
    ));
    body.push_str(&card(&summary.superseded.to_string(), "superseded", "muted"));
    body.push_str(&card(
        &quantile_text(&summary.applied_latencies_ns, 0.5),
        "latency p50 (capture → applied)",
        "",
    ));
    body.push_str(&card(&quantile_text(&summary.applied_latencies_ns, 0.9), "latency p90", ""));
    body.push_str(&card(&quantile_text(&summary.applied_latencies_ns, 0.99), "latency p99", ""));
    body.push_str("</div><h2>Throughput and latency, last 6 hours</h2>");
    let buckets = reader.throughput(now - CHART_SPAN_NS, now, CHART_BUCKET_NS)?;
    body.push_str(&chart::svg(&buckets, "5 minutes"));
    body.push_str("<p class=\"muted\">Bars: changes settled per 5 minutes (green applied, red rejected). Lines: median (solid) and 99th percentile (dashed) of capture → applied.</p>");

    body.push_str("<h2>Targets</h2><div class=\"scroll\"><table><tr><th>Target</th><th>Health</th><th>Applied</th><th>Rejected</th><th>Waiting for retry</th><th>429 pauses</th><th>Last problem</th></tr>");
    let pauses = crate::metrics::throttle_pauses();
    for target in reader.target_health()? {
        let health = if target.healthy() {
            "<span class=\"ok\">healthy</span>"
        } else {
            "<span class=\"bad\">failing</span>"
        };
        let problem = match (&target.last_problem, target.last_problem_at_ns) {
            (Some(reason), Some(at)) => {
                format!("{} <span class=\"muted\">({})</span>", esc(reason), esc(&ago(Some(at))))
            }
            _ => "–".into(),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{health}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"wrap\">{problem}</td></tr>",
            esc(&target.target),
            target.applied,
            target.rejected,
            target.retry,
            pauses.get(&target.target).copied().unwrap_or(0)
        );
    }
    body.push_str("</table></div>");
    let clients = reader.clients()?;
    let silent = clients.iter().filter(|client| is_silent(client, now)).count();
    let _ = write!(
        body,
        "<h2>Clients</h2><p>{} client(s) seen{}. <a href=\"/clients\">Details</a></p>",
        clients.len(),
        if silent > 0 { format!(", <span class=\"bad\">{silent} silent</span>") } else { String::new() }
    );
    Ok(page("Overview", "/", Some(&user.csrf), true, &body))
}

fn is_silent(client: &ClientSeen, now: i64) -> bool {
    client.last_contact_ns().is_none_or(|at| now - at > SILENT_AFTER_NS)
}

pub fn clients(reader: &LedgerReader, user: &ConsoleUser) -> Result<String, LedgerError> {
    let now = now_ns();
    let mut body = String::from(
        "<h1>Clients</h1><div class=\"scroll\"><table><tr><th>Client</th><th>Version</th><th>Last contact</th>\
<th>Spool depth</th><th>Oldest pending</th><th>Failed records</th><th>Changes sent</th></tr>",
    );
    let clients = reader.clients()?;
    if clients.is_empty() {
        body.push_str("<tr><td colspan=\"7\" class=\"muted\">No client has been heard from yet.</td></tr>");
    }
    for client in &clients {
        let silent = is_silent(client, now);
        let mark = if silent {
            " <span class=\"bad\" title=\"not heard from for over 5 minutes\">● silent</span>"
        } else {
            ""
        };
        let oldest = match (client.spool_depth, client.oldest_pending_captured_at_ns) {
            (Some(_), Some(at)) => ago(Some(at)),
            (Some(_), None) => "none".into(),
            _ => "–".into(),
        };
        let _ = write!(
            body,
            "<tr class=\"{}\"><td>{}{mark}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if silent { "silent" } else { "" },
            esc(&client.name),
            esc(client.version.as_deref().unwrap_or("–")),
            esc(&ago(client.last_contact_ns())),
            client.spool_depth.map_or("–".into(), |depth| depth.to_string()),
            esc(&oldest),
            client.failed.map_or("–".into(), |failed| failed.to_string()),
            client.changes
        );
    }
    body.push_str("</table></div><p class=\"muted\">Clients report their spool every 30 s by default; one not heard from for 5 minutes is marked silent.</p>");
    Ok(page("Clients", "/clients", Some(&user.csrf), true, &body))
}

fn targets_cell(change: &ChangeView) -> String {
    let mut cell = String::new();
    for target in &change.targets {
        let _ = write!(
            cell,
            "<div>{} {} <span class=\"muted\">{} · {} attempt(s)</span>{}</div>",
            esc(&target.target),
            badge(&target.state),
            esc(&duration(target.latency_us * 1000)),
            target.attempts,
            target.reason.as_deref().map(|reason| format!(" — {}", esc(reason))).unwrap_or_default()
        );
    }
    if cell.is_empty() {
        cell.push_str("<span class=\"muted\">no target call</span>");
    }
    cell
}

fn changes_table(changes: &[ChangeView]) -> String {
    let mut table = String::from(
        "<div class=\"scroll\"><table><tr><th>Account</th><th>State</th><th>Captured</th><th>Where</th>\
<th>Capture → settled</th><th>Targets</th><th>Reason</th></tr>",
    );
    if changes.is_empty() {
        table.push_str("<tr><td colspan=\"7\" class=\"muted\">No change found.</td></tr>");
    }
    for change in changes {
        let _ = write!(
            table,
            "<tr data-change=\"{id}\"><td><a href=\"/changes/{id}\">{}\\{}</a></td><td>{}</td><td>{}{}</td><td>{} <span class=\"muted\">via {}</span></td><td>{}</td><td class=\"wrap\">{}</td><td class=\"wrap\">{}</td></tr>",
            esc(&change.domain),
            esc(&change.account),
            badge(&change.state),
            esc(&timestamp(change.captured_at_ns)),
            change
                .directory_version
                .map_or(String::new(), |version| format!(" <span class=\"muted\">version {version}</span>")),
            esc(&change.origin),
            esc(&change.client),
            change.latency_ns().map_or("–".into(), duration),
            targets_cell(change),
            esc(change.reason.as_deref().unwrap_or("")),
            id = esc(&change.id),
        );
    }
    table.push_str("</table></div>");
    table
}

pub fn changes(
    reader: &LedgerReader,
    user: &ConsoleUser,
    account: Option<&str>,
) -> Result<String, LedgerError> {
    let query = account.map(str::trim).filter(|query| !query.is_empty());
    let mut body = format!(
        "<h1>Changes</h1><form method=\"get\" action=\"/changes\"><input type=\"search\" name=\"account\" \
placeholder=\"account, e.g. alice or corp\\alice\" value=\"{}\"> <button class=\"primary\">Search</button></form>",
        esc(query.unwrap_or(""))
    );
    let changes = match query {
        Some(query) => {
            let _ = write!(body, "<h2>Changes of accounts matching “{}”</h2>", esc(query));
            reader.changes_of_account(query, false, 200)?
        }
        None => {
            body.push_str("<h2>Most recent changes</h2>");
            reader.recent_changes(50)?
        }
    };
    body.push_str(&changes_table(&changes));
    Ok(page("Changes", "/changes", Some(&user.csrf), false, &body))
}

pub fn change(reader: &LedgerReader, user: &ConsoleUser, id: &str) -> Result<Option<String>, LedgerError> {
    let Some(change) = reader.change(id)? else { return Ok(None) };
    let mut body = format!("<h1>Change {}</h1><div class=\"scroll\"><table>", esc(&change.id));
    let rows = [
        ("Account", format!("{}\\{}", esc(&change.domain), esc(&change.account))),
        ("State", badge(&change.state)),
        (
            "Captured",
            format!(
                "{} at {} ({} hook)",
                esc(&timestamp(change.captured_at_ns)),
                esc(&change.origin),
                esc(&change.source)
            ),
        ),
        (
            "Directory version",
            change
                .directory_version
                .map_or("– (ordered by capture time)".into(), |version| version.to_string()),
        ),
        ("Sent by", esc(&change.client)),
        ("Received", esc(&timestamp(change.received_at_ns))),
        ("Settled", change.settled_at_ns.map_or("not yet".into(), |at| esc(&timestamp(at)))),
        ("Capture → settled", change.latency_ns().map_or("–".into(), duration)),
        ("Reason", esc(change.reason.as_deref().unwrap_or("–"))),
        (
            "Superseded by",
            change
                .superseded_by
                .as_deref()
                .map_or("–".into(), |by| format!("<a href=\"/changes/{0}\">{0}</a>", esc(by))),
        ),
    ];
    for (label, value) in rows {
        let _ = write!(body, "<tr><th>{label}</th><td class=\"wrap\">{value}</td></tr>");
    }
    body.push_str("</table></div><h2>Targets</h2><div class=\"scroll\"><table><tr><th>Target</th><th>Outcome</th><th>Attempts</th><th>Last call</th><th>When</th><th>Reason</th></tr>");
    for target in &change.targets {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"wrap\">{}</td></tr>",
            esc(&target.target),
            badge(&target.state),
            target.attempts,
            esc(&duration(target.latency_us * 1000)),
            esc(&timestamp(target.updated_at_ns)),
            esc(target.reason.as_deref().unwrap_or("–"))
        );
    }
    body.push_str("</table></div>");
    Ok(Some(page("Change", "/changes", Some(&user.csrf), false, &body)))
}

pub fn failures(
    reader: &LedgerReader,
    user: &ConsoleUser,
    notice: Option<&str>,
) -> Result<String, LedgerError> {
    let mut body = String::from("<h1>Failures</h1>");
    if let Some(notice) = notice {
        let _ = write!(body, "<p class=\"notice\">{}</p>", esc(notice));
    }
    let retries = reader.operator_retries()?;
    let failures = reader.failures(200)?;
    body.push_str(
        "<div class=\"scroll\"><table><tr><th>Account</th><th>State</th><th>Captured</th><th>Client</th>\
<th>Targets</th><th>Action</th></tr>",
    );
    if failures.is_empty() {
        body.push_str("<tr><td colspan=\"6\" class=\"muted\">Nothing has failed.</td></tr>");
    }
    for change in &failures {
        let action = if change.state == "rejected" {
            let queued = retries.get(&change.id).map(|retry| match retry.delivered_at_ns {
                Some(at) if at >= retry.requested_at_ns => {
                    format!(
                        "<div class=\"muted\">retry handed to {} {}</div>",
                        esc(&retry.client),
                        esc(&ago(Some(at)))
                    )
                }
                _ => format!(
                    "<div class=\"muted\">retry queued for {} {}</div>",
                    esc(&retry.client),
                    esc(&ago(Some(retry.requested_at_ns)))
                ),
            });
            format!(
                "<form class=\"inline retry\" method=\"post\" action=\"/failures/{id}/retry\" data-change=\"{id}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button class=\"primary\" type=\"submit\">Retry</button></form>{}",
                queued.unwrap_or_default(),
                id = esc(&change.id),
                csrf = esc(&user.csrf),
            )
        } else {
            "<span class=\"muted\">retried automatically</span>".into()
        };
        let _ = write!(
            body,
            "<tr data-change=\"{id}\"><td><a href=\"/changes/{id}\">{}\\{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"wrap\">{}</td><td>{action}</td></tr>",
            esc(&change.domain),
            esc(&change.account),
            badge(&change.state),
            esc(&timestamp(change.captured_at_ns)),
            esc(&change.client),
            targets_cell(change),
            id = esc(&change.id),
        );
    }
    body.push_str(
        "</table></div><p class=\"muted\">A rejected change waits as a failed record on its client. Retry queues it: \
the client moves the record back with its next status report and sends it again, and the targets that refused it \
get another attempt (the others are not called again). Pending changes with a transient failure are retried by \
the client on its own.</p>",
    );
    Ok(page("Failures", "/failures", Some(&user.csrf), true, &body))
}
