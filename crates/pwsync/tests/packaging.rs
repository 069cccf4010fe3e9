//! The Debian packages built by packaging/build-debs.sh: three packages with the right control
//! fields and dependencies, the units and default configurations at their places with the
//! right modes (spool 0700), conffiles declared, maintainer scripts that are valid shell and
//! create the service account, the state directory (pwsync:pwsync 0750) and a 0600 token; the
//! shipped configurations load, the shipped units are the verified ones, the binary runs.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn repository() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let output = Command::new("dpkg-deb").args(args).arg(deb).output().unwrap();
    assert!(output.status.success(), "dpkg-deb {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
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

#[test]
fn the_packages_hold_units_configs_and_directories_with_the_right_modes() {
    let dir = TestDir::new("packaging");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_pwsync")).parent().unwrap();
    let output = Command::new(repository().join("packaging/build-debs.sh"))
        .arg("--bin-dir")
        .arg(bin_dir)
        .arg("--out")
        .arg(&dir.path)
        .arg("--fast")
        .output()
        .unwrap();
    assert!(output.status.success(), "build-debs.sh: {}", String::from_utf8_lossy(&output.stderr));
    let version = env!("CARGO_PKG_VERSION");
    let arch =
        String::from_utf8(Command::new("dpkg").arg("--print-architecture").output().unwrap().stdout).unwrap();
    let deb = |name: &str| dir.path.join(format!("{name}_{version}_{}.deb", arch.trim()));
    let printed = String::from_utf8(output.stdout).unwrap();
    for name in ["pwsync", "pwsync-server", "pwsync-client"] {
        assert!(printed.contains(&deb(name).display().to_string()), "{printed}");
        let fields = dpkg_deb(&["--field"], &deb(name));
        assert!(
            fields.contains(&format!("Package: {name}\n"))
                && fields.contains(&format!("Version: {version}\n"))
        );
    }
    let depends = |name: &str| {
        dpkg_deb(&["--field"], &deb(name)).lines().find(|l| l.starts_with("Depends:")).unwrap().to_string()
    };
    assert!(
        depends("pwsync-server").contains(&format!("pwsync (= {version})"))
            && depends("pwsync-server").contains("adduser")
    );
    assert!(depends("pwsync-client").contains(&format!("pwsync (= {version})")));

    // Binaries.
    let binaries = contents(&deb("pwsync"));
    for program in ["/usr/bin/pwsync", "/usr/bin/pwsync-capture"] {
        let (mode, owner, _) = entry(&binaries, program);
        assert_eq!((mode.as_str(), owner.as_str()), ("-rwxr-xr-x", "root/root"), "{program}");
    }
    entry(&binaries, "/usr/share/doc/pwsync/examples/pwsync-alerts.yml");
    entry(&binaries, "/usr/share/doc/pwsync/metrics.md");

    // Server: unit, config (a conffile), scripts.
    let server = contents(&deb("pwsync-server"));
    assert_eq!(entry(&server, "/lib/systemd/system/pwsync-server.service").0, "-rw-r--r--");
    assert_eq!(entry(&server, "/etc/pwsync/server.toml").0, "-rw-r--r--");
    let control = dir.path.join("server-control");
    Command::new("dpkg-deb").arg("--control").arg(deb("pwsync-server")).arg(&control).status().unwrap();
    assert_eq!(std::fs::read_to_string(control.join("conffiles")).unwrap(), "/etc/pwsync/server.toml\n");
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    for line in [
        "adduser --system --group",
        "install -d -o pwsync -g pwsync -m 0750 /var/lib/pwsync",
        "chown pwsync:pwsync /etc/pwsync/operator.token",
        "chmod 0600 /etc/pwsync/operator.token",
    ] {
        assert!(postinst.contains(line), "postinst lacks {line:?}");
    }

    // Client: unit, config, a root-only spool.
    let client = contents(&deb("pwsync-client"));
    assert_eq!(entry(&client, "/lib/systemd/system/pwsync-client.service").0, "-rw-r--r--");
    assert_eq!(
        entry(&client, "/var/spool/pwsync/"),
        &("drwx------".into(), "root/root".into(), "/var/spool/pwsync/".into())
    );
    assert_eq!(entry(&client, "/var/spool/pwsync/failed/").0, "drwx------");
    let client_control = dir.path.join("client-control");
    Command::new("dpkg-deb")
        .arg("--control")
        .arg(deb("pwsync-client"))
        .arg(&client_control)
        .status()
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(client_control.join("conffiles")).unwrap(),
        "/etc/pwsync/client.toml\n"
    );

    // Every maintainer script is valid shell and executable.
    for control_dir in [&control, &client_control] {
        for script in ["postinst", "prerm", "postrm"] {
            let path = control_dir.join(script);
            let status = Command::new("sh").arg("-n").arg(&path).status().unwrap();
            assert!(status.success(), "{} is not valid shell", path.display());
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o755);
        }
    }

    // Unpacked: the units are the verified ones, the configurations load, the binary runs.
    let unpacked = dir.path.join("root");
    for name in ["pwsync", "pwsync-server", "pwsync-client"] {
        let status = Command::new("dpkg-deb").arg("-x").arg(deb(name)).arg(&unpacked).status().unwrap();
        assert!(status.success());
    }
    for unit in ["pwsync-server.service", "pwsync-client.service"] {
        assert_eq!(
            std::fs::read(unpacked.join("lib/systemd/system").join(unit)).unwrap(),
            std::fs::read(repository().join("packaging/systemd").join(unit)).unwrap()
        );
    }
    let server_config =
        pwsync_server::config::ServerConfig::load(&unpacked.join("etc/pwsync/server.toml")).unwrap();
    assert_eq!(server_config.operator.unwrap().listen.ip().to_string(), "127.0.0.1", "console on loopback");
    let client_config =
        pwsync_client::config::ClientConfig::load(&unpacked.join("etc/pwsync/client.toml")).unwrap();
    assert_eq!(client_config.client.spool, Path::new("/var/spool/pwsync"));
    let output = Command::new(unpacked.join("usr/bin/pwsync")).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap().trim(), format!("pwsync {version}"));
}
