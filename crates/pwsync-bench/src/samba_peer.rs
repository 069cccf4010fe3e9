//! Scenario `peers` (b): Samba's own password sync beside pwsync, on the same DC in the same
//! run. A throwaway Samba 4.17 AD DC (pwsync-testbed) runs `pwsync-capture --samba` as its
//! check password script (pwsync: hook → spool → client, which confirms the commit over LDAPS →
//! server → dry-run target), while `samba-tool user syncpasswords` runs its DirSync/notification
//! loop with a `--script` on the same DC. Each run is one administrator reset over LDAP; both
//! latencies are measured from the instant before the LDAP modify: to the script's start for
//! Samba, to the ledger's settle time (the target applied) for pwsync.
//!
//! Cleartext for the script: Samba 4.17 hands the script `virtualClearTextUTF8` only from
//! `Primary:CLEARTEXT` (or from `Primary:SambaGPG` with `--decrypt-samba-gpg` and a GPG key). The
//! scenario turns on the domain's "store passwords using reversible encryption"
//! (`passwordsettings set --store-plaintext=on`), so the script does receive the cleartext, and
//! records whether it did. The script never keeps it: it notes the time, the account name and
//! whether a cleartext attribute was present.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use pwsync_testbed::samba_ad::{self, SambaDc, SambaOptions, BASE_DN};
use serde::Serialize;

use crate::binaries::Binaries;
use crate::daemon::Daemon;
use crate::deployment::{Deployment, TargetSpec};
use crate::load;
use crate::proc_stats::load_average;
use crate::quantiles::Percentiles;
use crate::system;
use crate::table::{ms, Table};

#[derive(Debug, Serialize)]
pub struct SambaPeerReport {
    pub runs: usize,
    pub script_got_cleartext: bool,
    pub ldap_modify: Percentiles,
    pub samba_syncpasswords_change_to_script: Percentiles,
    pub pwsync_change_to_target: Percentiles,
    pub load_average: f64,
}

pub fn run(bins: &Binaries, dir: &Path, runs: usize) -> anyhow::Result<Option<SambaPeerReport>> {
    let deployment = Deployment::create(dir)?;
    deployment.write_server_config(&[TargetSpec::DryRun])?;
    let (mut server, address) = system::start_server(bins, &deployment)?;
    let spool = dir.join("spool-dc1");
    let hook = format!(
        "{} --samba --spool {} --key {} --origin dc1",
        bins.capture.display(),
        spool.display(),
        deployment.public_key.display()
    );
    let Some(dc) =
        SambaDc::start_with(SambaOptions { check_password_script: Some(hook), ..SambaOptions::default() })
    else {
        return Ok(None);
    };
    dc.samba_tool(&[
        "domain",
        "passwordsettings",
        "set",
        "--min-pwd-age=0",
        "--max-pwd-age=0",
        "--history-length=0",
        "--store-plaintext=on",
    ]);
    // Samba keeps Primary:CLEARTEXT only when the domain stores reversible passwords and the
    // account allows it (ENCRYPTED_TEXT_PWD_ALLOWED, 0x80, beside NORMAL_ACCOUNT, 0x200).
    ldap_replace(&dc, "alice", "userAccountControl", b"640")?;
    let bind_password_file = dir.join("scope-bind.secret");
    std::fs::write(&bind_password_file, format!("{}\n", samba_ad::ADMIN_PASSWORD))?;
    std::fs::set_permissions(&bind_password_file, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let scope = format!(
        "\n[scope]\nkind = \"ldap\"\nurl = {:?}\nca_file = {:?}\nbind_dn = {:?}\nbind_password_file = {:?}\n\
         base_dn = {BASE_DN:?}\nfilter = \"(&(objectCategory=person)(objectClass=user))\"\n",
        dc.ldaps_url(),
        dc.ca_file(),
        samba_ad::ADMIN_DN,
        bind_password_file,
    );
    let setup = deployment.add_client("dc1", &address, &scope)?;
    let mut client = system::start_client(bins, &setup)?;

    let arrivals = dir.join("syncpasswords-arrivals.txt");
    let mut sync_loop = start_syncpasswords(&dc, dir, &arrivals)?;
    // The loop's first pass hands every existing account to the script; wait until it has.
    wait_until(Duration::from_secs(60), "syncpasswords' first pass", || {
        sync_loop.check_alive()?;
        Ok(!arrivals_for(&arrivals, "alice")?.is_empty())
    })?;
    std::thread::sleep(Duration::from_secs(1));

    let mut ldap = Vec::new();
    let mut samba = Vec::new();
    let mut pwsync = Vec::new();
    let mut cleartext = true;
    for _ in 0..runs {
        let seen_by_script = arrivals_for(&arrivals, "alice")?.len();
        let applied_before = applied(&deployment.ledger)?.0;
        let password = load::password();
        let started_ns = now_ns();
        let started = Instant::now();
        let quoted_text = zeroize::Zeroizing::new(format!("\"{}\"", password.as_str()));
        let quoted = zeroize::Zeroizing::new(
            quoted_text.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>(),
        );
        ldap_replace(&dc, "alice", "unicodePwd", &quoted)?;
        ldap.push(started.elapsed());
        wait_until(Duration::from_secs(30), "the syncpasswords script", || {
            sync_loop.check_alive()?;
            Ok(arrivals_for(&arrivals, "alice")?.len() > seen_by_script)
        })?;
        wait_until(Duration::from_secs(30), "pwsync's target", || {
            client.check_alive()?;
            Ok(applied(&deployment.ledger)?.0 > applied_before)
        })?;
        let arrival = arrivals_for(&arrivals, "alice")?[seen_by_script];
        cleartext &= arrival.1;
        samba.push(arrival.0 - started_ns);
        pwsync.push(applied(&deployment.ledger)?.1 - started_ns);
    }
    sync_loop.stop(Duration::from_secs(5));
    client.stop(Duration::from_secs(10));
    server.stop(Duration::from_secs(10));
    drop(dc);
    load::assert_no_leak(dir)?;
    Ok(Some(SambaPeerReport {
        runs,
        script_got_cleartext: cleartext,
        ldap_modify: Percentiles::of_durations(&ldap),
        samba_syncpasswords_change_to_script: Percentiles::of_nanos(&samba),
        pwsync_change_to_target: Percentiles::of_nanos(&pwsync),
        load_average: load_average(),
    }))
}

fn start_syncpasswords(dc: &SambaDc, dir: &Path, arrivals: &Path) -> anyhow::Result<Daemon> {
    let script = dir.join("syncpasswords-script.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n# One object's LDIF on stdin: note when it came, whose it was and whether a cleartext\n\
             # came with it; never keep the LDIF itself.\nnow=$(date +%s%N)\n\
             awk -v now=\"$now\" '/^sAMAccountName:/ {{name=$2}} /^virtualClearTextUTF8:/ {{clear=1}} \
             END {{printf \"%s %s %d\\n\", now, name, clear}}' >> {arrivals:?}\necho 'DONE-EXIT: noted'\n"
        ),
    )?;
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let conf = dc.smb_conf();
    let output = Command::new("samba-tool")
        .args(["user", "syncpasswords", "--cache-ldb-initialize", "-s"])
        .arg(&conf)
        .arg("--attributes=objectGUID,sAMAccountName,pwdLastSet,virtualClearTextUTF8")
        .arg(format!("--script={}", script.display()))
        .output()
        .context("cannot run samba-tool user syncpasswords")?;
    if !output.status.success() {
        bail!(
            "samba-tool user syncpasswords --cache-ldb-initialize failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let conf = conf.to_string_lossy().into_owned();
    Daemon::start(
        "samba-tool user syncpasswords",
        Path::new("/usr/bin/samba-tool"),
        &["user", "syncpasswords", "-s", &conf],
        &dir.join("syncpasswords.log"),
    )
}

/// (arrival time in ns, cleartext present) of each script call for `account`, in order.
fn arrivals_for(file: &Path, account: &str) -> anyhow::Result<Vec<(i64, bool)>> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(error) => return Err(error.into()),
    };
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let at = fields.next()?.parse().ok()?;
            (fields.next()? == account).then(|| (at, fields.next() == Some("1")))
        })
        .collect())
}

/// (changes applied, the latest settle time) in the ledger.
fn applied(ledger: &Path) -> anyhow::Result<(i64, i64)> {
    let connection =
        rusqlite::Connection::open_with_flags(ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    connection.busy_timeout(Duration::from_secs(5))?;
    Ok(connection.query_row(
        "SELECT COUNT(*), COALESCE(MAX(settled_at_ns), 0) FROM changes WHERE state = 'applied'",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?)
}

fn wait_until(
    timeout: Duration,
    what: &str,
    mut done: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while !done()? {
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// An administrator's change of one attribute (a reset when it is `unicodePwd`, the quoted
/// password in UTF-16LE), bound as Administrator over LDAP.
fn ldap_replace(dc: &SambaDc, account: &str, attribute: &str, value: &[u8]) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (connection, mut ldap) = ldap3::LdapConnAsync::new(&dc.ldap_url()).await?;
        tokio::spawn(connection.drive());
        ldap.simple_bind(samba_ad::ADMIN_DN, samba_ad::ADMIN_PASSWORD).await?.success()?;
        let replace = ldap3::Mod::Replace(attribute.as_bytes(), std::collections::HashSet::from([value]));
        let dn = format!("CN={account},CN=Users,{BASE_DN}");
        // The directory's refusal is reported by its code and text only: never the value.
        ldap.modify(&dn, vec![replace])
            .await?
            .success()
            .map_err(|error| anyhow::anyhow!("LDAP modify of {attribute} refused: {error}"))?;
        let _ = ldap.unbind().await;
        anyhow::Ok(())
    })
}

pub fn print(report: &SambaPeerReport) {
    let mut table = Table::new(
        &format!(
            "peers (b): one admin reset on a Samba AD DC, {} runs; latency from the LDAP modify (load {:.2})",
            report.runs, report.load_average
        ),
        &["path", "p50 ms", "p99 ms", "max ms"],
    );
    for (name, p) in [
        ("LDAP modify itself (the DC's password path)", &report.ldap_modify),
        ("samba-tool user syncpasswords: change -> script", &report.samba_syncpasswords_change_to_script),
        ("pwsync: change -> target applied", &report.pwsync_change_to_target),
    ] {
        table.row(vec![name.into(), ms(p.p50_ms), ms(p.p99_ms), ms(p.max_ms)]);
    }
    table.print();
    println!("  the syncpasswords script received the cleartext: {}", report.script_got_cleartext);
}
