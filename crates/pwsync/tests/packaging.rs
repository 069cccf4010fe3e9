//! The Debian packages as an administrator gets them, built by packaging/build-debs.sh
//! (cargo-deb) from the binaries of this test run: lintian finds no error and no warning that
//! is not overridden with a reason; the binaries are stripped and their debug information is
//! in pwsync-dbg under their build ids; every command and subcommand has its manual page; the
//! copyright file is the one Cargo.lock gives. Then, in a clean Debian root made for the test:
//! installation (account, directories, token, units enabled), the administrator's first steps
//! of the shipped configurations' comments checked by `pwsync check-config`, an upgrade from
//! the same binaries packaged as an older version (revision 0: the maintainer scripts' upgrade
//! path, not a change of program), with the configuration kept and running services
//! restarted (asked of systemd: a recording stand-in, as no systemd runs in the root); removal
//! and purge. It never installs anything on this machine itself: every dpkg runs in the root.
//!
//! Tools it needs (lintian, mmdebstrap, cargo-deb, root for chroot) are installed by
//! scripts/test-all.sh. Without one it says SKIPPED on stderr, and on CI (CI=true) it fails
//! instead: CI must never pass a packaging it did not test.

mod common;
#[path = "packaging/debian_root.rs"]
mod debian_root;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use debian_root::DebianRoot;

const PACKAGES: [&str; 4] = ["pwsync", "pwsync-dbg", "pwsync-server", "pwsync-client"];

fn repository() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Says loudly that a part is skipped, or fails on CI.
fn skip(what: &str, why: &str) {
    let message = format!("packaging: SKIPPED {what}: {why}");
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{message} (CI must run it: scripts/test-all.sh installs what it needs)");
    }
    eprintln!("{message}");
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn stdout(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The packages of this build (revision 1) and the same binaries as an older version
/// (revision 0) to upgrade from, built once for all tests of this file.
struct Builds {
    _dir: TestDir,
    current: BTreeMap<&'static str, PathBuf>,
    previous: BTreeMap<&'static str, PathBuf>,
}

fn builds() -> Option<&'static Builds> {
    static BUILDS: OnceLock<Option<Builds>> = OnceLock::new();
    BUILDS
        .get_or_init(|| {
            for (tool, why) in [("objcopy", "binutils"), ("dpkg-shlibdeps", "dpkg-dev")] {
                if !have(tool) {
                    skip("building the packages", &format!("{tool} is missing (Debian package {why})"));
                    return None;
                }
            }
            let dir = TestDir::new("packaging");
            // The manuals come from the library function the packaging's pwsync-man runs.
            let manuals = dir.path.join("man");
            std::fs::create_dir_all(&manuals).unwrap();
            pwsync_man::write_manuals(&manuals).unwrap();
            let bin_dir = Path::new(env!("CARGO_BIN_EXE_pwsync")).parent().unwrap();
            let build = |revision: &str| {
                let out = dir.path.join(format!("debs-{revision}"));
                let deb_version = format!("{}-{revision}", version());
                let printed = stdout(
                    Command::new(repository().join("packaging/build-debs.sh"))
                        .arg("--bin-dir")
                        .arg(bin_dir)
                        .arg("--man-dir")
                        .arg(&manuals)
                        .arg("--out")
                        .arg(&out)
                        .args(["--fast", "--deb-version", &deb_version]),
                );
                let arch = stdout(Command::new("dpkg").arg("--print-architecture"));
                PACKAGES
                    .into_iter()
                    .map(|name| {
                        let deb = out.join(format!("{name}_{deb_version}_{}.deb", arch.trim()));
                        assert!(printed.contains(&deb.display().to_string()), "{printed}");
                        (name, deb)
                    })
                    .collect::<BTreeMap<_, _>>()
            };
            let previous = build("0");
            let current = build("1");
            Some(Builds { _dir: dir, current, previous })
        })
        .as_ref()
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    stdout(Command::new("dpkg-deb").args(args).arg(deb))
}

/// (mode string, owner, path) of every entry of a package.
fn contents(deb: &Path) -> Vec<(String, String, String)> {
    dpkg_deb(&["--contents"], deb)
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields[0].to_string(), fields[1].to_string(), fields[5].trim_start_matches('.').to_string())
        })
        .collect()
}

fn entry<'a>(entries: &'a [(String, String, String)], path: &str) -> &'a (String, String, String) {
    entries.iter().find(|(_, _, name)| name == path).unwrap_or_else(|| panic!("{path} is not in the package"))
}

fn field(deb: &Path, name: &str) -> String {
    dpkg_deb(&["--field"], deb)
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")).map(str::to_string))
        .unwrap_or_default()
}

/// The manual page names of a command and its subcommands at every depth (`pwsync-pki-init`).
fn page_names(command: &clap::Command, prefix: &str, names: &mut Vec<String>) {
    let name = if prefix.is_empty() {
        command.get_name().to_string()
    } else {
        format!("{prefix}-{}", command.get_name())
    };
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        page_names(sub, &name, names);
    }
    names.push(name);
}

#[test]
fn the_packages_pass_lintian_and_hold_stripped_binaries_manuals_and_the_copyright() {
    let Some(builds) = builds() else { return };
    let deb = |name: &str| &builds.current[name];
    let v = version();

    // The copyright file is the one Cargo.lock gives today.
    let status =
        Command::new(repository().join("packaging/debian/copyright.py")).arg("--check").status().unwrap();
    assert!(status.success(), "packaging/debian/copyright is stale: run packaging/debian/copyright.py");

    // Control fields: a real maintainer, the three packages at one upstream version.
    for name in PACKAGES {
        assert_eq!(field(deb(name), "Package"), name);
        assert_eq!(field(deb(name), "Version"), format!("{v}-1"));
        assert_eq!(field(deb(name), "Maintainer"), "pwsync maintainers <maintainers@pwsync.example>");
    }
    // The bounds in Cargo.toml must follow the version's bumps (cargo-deb sorts the Depends).
    let (major_minor, patch) = v.rsplit_once('.').unwrap();
    let next = format!("{major_minor}.{}", patch.parse::<u32>().unwrap() + 1);
    let same_upstream = format!("pwsync (<< {next}~), pwsync (>= {v})");
    for name in ["pwsync-dbg", "pwsync-server", "pwsync-client"] {
        assert!(
            field(deb(name), "Depends").contains(&same_upstream),
            "{name}: {}",
            field(deb(name), "Depends")
        );
    }
    assert!(field(deb("pwsync-server"), "Depends").contains("adduser"));
    assert!(field(deb("pwsync"), "Depends").contains("libc6"));
    assert_eq!(field(deb("pwsync-dbg"), "Section"), "debug");

    // Binaries: stripped, their debug information in pwsync-dbg under their build ids.
    let unpacked = builds.current["pwsync"].parent().unwrap().join("unpacked");
    for name in PACKAGES {
        let status = Command::new("dpkg-deb").arg("-x").arg(deb(name)).arg(&unpacked).status().unwrap();
        assert!(status.success());
    }
    let binaries = contents(deb("pwsync"));
    let debug_files = contents(deb("pwsync-dbg"));
    for program in ["/usr/bin/pwsync", "/usr/bin/pwsync-capture"] {
        let (mode, owner, _) = entry(&binaries, program);
        assert_eq!((mode.as_str(), owner.as_str()), ("-rwxr-xr-x", "0/0"), "{program} (root:root)");
        let binary = unpacked.join(program.trim_start_matches('/'));
        let sections = stdout(Command::new("readelf").arg("--section-headers").arg(&binary));
        for section in [".debug_info", ".debug_line", ".symtab"] {
            assert!(!sections.contains(section), "{program} is not stripped: it has {section}");
        }
        let notes = stdout(Command::new("readelf").arg("--notes").arg(&binary));
        let build_id = notes.lines().find_map(|l| l.trim().strip_prefix("Build ID: ")).expect("a build id");
        let debug = format!("/usr/lib/debug/.build-id/{}/{}.debug", &build_id[..2], &build_id[2..]);
        assert_eq!(entry(&debug_files, &debug).0, "-rw-r--r--", "{debug}");
        let debug_sections =
            stdout(Command::new("readelf").arg("--section-headers").arg(unpacked.join(&debug[1..])));
        assert!(debug_sections.contains(".debug_line"), "{debug} lacks the line tables");
    }
    let output = Command::new(unpacked.join("usr/bin/pwsync")).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap().trim(), format!("pwsync {v}"));

    // A manual page for pwsync, each of its subcommands and pwsync-capture (the page of
    // `pwsync capture`, which takes the same arguments).
    let mut pages = Vec::new();
    page_names(&pwsync::command(), "", &mut pages);
    assert!(pages.len() > 15, "{pages:?}");
    for page in pages {
        entry(&binaries, &format!("/usr/share/man/man1/{page}.1.gz"));
    }
    entry(&binaries, "/usr/share/doc/pwsync/examples/pwsync-alerts.yml");
    entry(&binaries, "/usr/share/doc/pwsync/metrics.md");
    for name in PACKAGES {
        let package = contents(deb(name));
        entry(&package, &format!("/usr/share/doc/{name}/copyright"));
        entry(&package, &format!("/usr/share/doc/{name}/changelog.Debian.gz"));
    }

    // Units (the verified ones), default configurations (conffiles that load).
    for unit in ["pwsync-server.service", "pwsync-client.service"] {
        assert_eq!(
            std::fs::read(unpacked.join("usr/lib/systemd/system").join(unit)).unwrap(),
            std::fs::read(repository().join("packaging/systemd").join(unit)).unwrap()
        );
    }
    for (name, conffile) in
        [("pwsync-server", "/etc/pwsync/server.toml"), ("pwsync-client", "/etc/pwsync/client.toml")]
    {
        let control = unpacked.parent().unwrap().join(format!("{name}-control"));
        let status = Command::new("dpkg-deb").arg("--control").arg(deb(name)).arg(&control).status().unwrap();
        assert!(status.success());
        assert_eq!(std::fs::read_to_string(control.join("conffiles")).unwrap().trim(), conffile);
        let scripts =
            ["postinst", "prerm", "postrm"].map(|s| std::fs::read_to_string(control.join(s)).unwrap());
        // systemd through debhelper's helpers, never systemctl start/stop by hand.
        assert!(
            scripts[0].contains("deb-systemd-helper enable")
                && scripts[0].contains("deb-systemd-invoke try-restart")
        );
        assert!(scripts[1].contains("deb-systemd-invoke stop"));
        assert!(scripts[2].contains("deb-systemd-helper purge"));
    }
    let server_config =
        pwsync_server::config::ServerConfig::load(&unpacked.join("etc/pwsync/server.toml")).unwrap();
    assert_eq!(server_config.operator.unwrap().listen.ip().to_string(), "127.0.0.1", "console on loopback");
    let client_config =
        pwsync_client::config::ClientConfig::load(&unpacked.join("etc/pwsync/client.toml")).unwrap();
    assert_eq!(client_config.client.spool, Path::new("/var/spool/pwsync"));

    // Every lintian override says why, on the comment lines before it.
    for name in PACKAGES {
        let overrides =
            std::fs::read_to_string(repository().join("packaging/debian/lintian").join(name)).unwrap();
        let mut reason = false;
        for line in overrides.lines() {
            if line.starts_with('#') {
                reason = true;
            } else if !line.trim().is_empty() {
                assert!(reason, "{name}: the override {line:?} has no reason above it");
                reason = false;
            }
        }
    }

    if !have("lintian") {
        return skip("lintian", "lintian is missing (Debian package lintian)");
    }
    let debs: Vec<&PathBuf> = builds.current.values().collect();
    let output = Command::new("lintian")
        .args(["--pedantic", "--display-info", "--show-overrides"])
        .args(debs)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    // Shown on every run: the informational tags left are explained in docs/operations.md.
    eprintln!("lintian:\n{report}{}", String::from_utf8_lossy(&output.stderr));
    let findings: Vec<&str> =
        report.lines().filter(|l| l.starts_with("E: ") || l.starts_with("W: ")).collect();
    assert!(findings.is_empty(), "lintian errors or warnings: {findings:#?}");
    assert!(report.lines().any(|l| l.starts_with("O: ")), "the overrides were not read: {report}");
}

#[test]
fn install_first_steps_upgrade_remove_and_purge_in_a_clean_debian_root() {
    let Some(builds) = builds() else { return };
    if unsafe { libc::geteuid() } != 0 {
        return skip("installing into a Debian root", "chroot needs root");
    }
    if !have("mmdebstrap") {
        return skip("installing into a Debian root", "mmdebstrap is missing (Debian package mmdebstrap)");
    }
    let tarball = stdout(&mut Command::new(repository().join("packaging/debian-root.sh")));
    let dir = TestDir::new("packaging-root");
    let root = DebianRoot::unpack(Path::new(tarball.trim()), dir.path.join("root"));
    for (set, debs) in [("previous", &builds.previous), ("current", &builds.current)] {
        for (name, deb) in debs {
            let target = root.host_path(&format!("/tmp/debs/{set}/{name}.deb"));
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(deb, target).unwrap();
        }
    }
    let install = |set: &str| {
        root.ok(&format!(
            "cd /tmp/debs/{set} && dpkg -i pwsync.deb pwsync-dbg.deb pwsync-server.deb pwsync-client.deb"
        ))
    };

    // Installation of the older version: quiet, the account, the directories, the units enabled.
    let log = install("previous");
    assert!(!log.to_lowercase().contains("warn"), "installation warned:\n{log}");
    assert!(root.ok("getent passwd pwsync").contains(":/var/lib/pwsync:"));
    assert_eq!(root.ok("stat -c '%U:%G %a' /var/lib/pwsync").trim(), "pwsync:pwsync 750");
    assert_eq!(root.ok("stat -c '%U:%G %a' /etc/pwsync/operator.token").trim(), "pwsync:pwsync 600");
    assert_eq!(
        root.ok("stat -c '%U:%G %a' /var/spool/pwsync /var/spool/pwsync/failed").trim(),
        "root:root 700\nroot:root 700"
    );
    for unit in ["pwsync-server.service", "pwsync-client.service"] {
        assert!(
            root.host_path(&format!("/etc/systemd/system/multi-user.target.wants/{unit}")).is_symlink(),
            "{unit} not enabled"
        );
    }
    let calls = root.take_systemctl_calls();
    assert!(
        !calls.iter().any(|c| c.contains("start")),
        "a service was started before it was configured: {calls:?}"
    );
    // The manuals are where man looks.
    assert_eq!(root.ok("man -w pwsync").trim(), "/usr/share/man/man1/pwsync.1.gz");
    assert!(root.ok("MANWIDTH=80 man -P cat pwsync-pki-issue-server").contains("--san"));
    assert!(root.ok("MANWIDTH=80 man -P cat pwsync-capture").contains("--spool"));

    // The administrator's first steps, as the comments at the top of the configurations say.
    let steps = "
        pwsync pki init --dir /root/pwsync-ca
        pwsync pki issue-server --ca-dir /root/pwsync-ca --name sync1 --san sync1.corp.example --out /etc/pwsync
        cp /root/pwsync-ca/ca.pem /etc/pwsync/ && chown pwsync: /etc/pwsync/sync1.key
        sed -i 's|/etc/pwsync/server.pem|/etc/pwsync/sync1.pem|; s|/etc/pwsync/server.key|/etc/pwsync/sync1.key|' /etc/pwsync/server.toml
        pwsync keygen --out /etc/pwsync
        pwsync pki issue-client --ca-dir /root/pwsync-ca --name dc1 --domain corp.example --out /etc/pwsync
        sed -i 's|/etc/pwsync/client.pem|/etc/pwsync/dc1.pem|; s|/etc/pwsync/client.key|/etc/pwsync/dc1.key|' /etc/pwsync/client.toml
    ";
    root.ok(steps);
    // As the units run them: the server's check as its account, the client's as root.
    let check = "runuser -u pwsync -- pwsync check-config /etc/pwsync/server.toml && pwsync check-config /etc/pwsync/client.toml";
    let checked = root.ok(check);
    assert!(
        checked.contains("valid server configuration") && checked.contains("valid client configuration"),
        "{checked}"
    );
    let kept = "md5sum /etc/pwsync/server.toml /etc/pwsync/client.toml /etc/pwsync/operator.token /etc/pwsync/spool.key";
    let before = root.ok(kept);

    // Upgrade: no question, the configuration kept, the services restarted if they run.
    let log = install("current");
    assert!(!log.to_lowercase().contains("warn"), "the upgrade warned:\n{log}");
    assert_eq!(root.ok(kept), before, "the upgrade changed the configuration");
    let versions = root.ok("dpkg-query -W -f '${Package} ${Version}\\n' 'pwsync*'");
    for name in PACKAGES {
        assert!(versions.contains(&format!("{name} {}-1\n", version())), "{versions}");
    }
    let calls = root.take_systemctl_calls();
    for unit in ["pwsync-server.service", "pwsync-client.service"] {
        assert!(
            calls.iter().any(|c| c.ends_with(&format!("try-restart {unit}"))),
            "{unit} not restarted: {calls:?}"
        );
    }
    assert!(root.ok(check).contains("valid server configuration"));

    // Removal: services stopped, programs gone, configuration kept.
    root.ok("dpkg --remove pwsync-client pwsync-server pwsync-dbg pwsync");
    let calls = root.take_systemctl_calls();
    for unit in ["pwsync-server.service", "pwsync-client.service"] {
        assert!(calls.iter().any(|c| c.ends_with(&format!("stop {unit}"))), "{unit} not stopped: {calls:?}");
    }
    assert!(!root.host_path("/usr/bin/pwsync").exists());
    assert_eq!(root.ok(kept), before, "removal touched the configuration");

    // Purge: the package's configuration, token and unit state gone; the ledger directory, the
    // spool and the administrator's own keys kept, as docs/operations.md says.
    root.ok("dpkg --purge pwsync-client pwsync-server pwsync-dbg pwsync");
    for gone in [
        "/etc/pwsync/server.toml",
        "/etc/pwsync/client.toml",
        "/etc/pwsync/operator.token",
        "/etc/systemd/system/multi-user.target.wants/pwsync-server.service",
        "/etc/systemd/system/multi-user.target.wants/pwsync-client.service",
        "/usr/share/man/man1/pwsync.1.gz",
    ] {
        assert!(
            !root.host_path(gone).exists() && !root.host_path(gone).is_symlink(),
            "{gone} left after purge"
        );
    }
    for left in ["/var/lib/pwsync", "/var/spool/pwsync", "/etc/pwsync/spool.key", "/etc/pwsync/sync1.key"] {
        assert!(root.host_path(left).exists(), "{left} removed by purge");
    }
    assert!(
        root.ok("getent passwd pwsync").contains(":/var/lib/pwsync:"),
        "the account's files may remain: it stays"
    );
    assert_eq!(root.ok("dpkg-query -W -f '${db:Status-Abbrev}\\n' 'pwsync*' 2>/dev/null || true").trim(), "");
}
