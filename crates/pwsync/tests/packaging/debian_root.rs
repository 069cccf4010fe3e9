//! A clean Debian root in a directory, made for one test run: the cached minbase tarball of
//! packaging/debian-root.sh unpacked, entered with chroot. No systemd runs in it; a stand-in
//! `systemctl` records what the maintainer scripts ask of systemd, so that "restart on upgrade"
//! and "stop on removal" can be checked.
//!
//! It must never mount anything inside the root: the directory is removed with
//! `remove_dir_all`, which would follow a bind mount into the machine's own files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where the stand-in systemctl writes one line per call (its arguments).
pub const SYSTEMCTL_LOG: &str = "/var/log/systemctl-calls";

pub struct DebianRoot {
    pub path: PathBuf,
}

impl DebianRoot {
    /// Unpacks `tarball` into `path` (which must not exist).
    pub fn unpack(tarball: &Path, path: PathBuf) -> DebianRoot {
        std::fs::create_dir_all(&path).unwrap();
        let status = Command::new("tar")
            .args(["--extract", "--numeric-owner", "--file"])
            .arg(tarball)
            .arg("--directory")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success(), "unpacking {}", tarball.display());
        let root = DebianRoot { path };
        // deb-systemd-invoke acts only where systemd runs (/run/systemd/system), and calls
        // systemctl for every action: the stand-in answers "enabled" and "active" and records.
        std::fs::create_dir_all(root.path.join("run/systemd/system")).unwrap();
        root.write(
            "/usr/local/sbin/systemctl",
            &format!(
                "#!/bin/sh\n# Stand-in for the packaging test: no systemd runs in this root.\n\
                 echo \"$*\" >> {SYSTEMCTL_LOG}\n\
                 case \"$*\" in *is-enabled*) echo enabled ;; esac\nexit 0\n"
            ),
            0o755,
        );
        root
    }

    pub fn write(&self, path: &str, contents: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let host = self.host_path(path);
        std::fs::create_dir_all(host.parent().unwrap()).unwrap();
        std::fs::write(&host, contents).unwrap();
        std::fs::set_permissions(&host, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// The path on this machine of `path` inside the root.
    pub fn host_path(&self, path: &str) -> PathBuf {
        self.path.join(path.trim_start_matches('/'))
    }

    /// Runs `script` with /bin/sh inside the root, as root, with no terminal and no input (so
    /// that a conffile question would fail the run instead of waiting).
    pub fn run(&self, script: &str) -> Output {
        Command::new("chroot")
            .arg(&self.path)
            .args(["/bin/sh", "-ec", script])
            .env_clear()
            .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", "/root")
            .env("LC_ALL", "C.UTF-8")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs `script` and returns its stdout and stderr together; panics with both on failure.
    pub fn ok(&self, script: &str) -> String {
        let output = self.run(script);
        let text =
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "in the Debian root: {script}\n{text}");
        text
    }

    /// The calls the maintainer scripts made to systemctl since the last call of this function.
    pub fn take_systemctl_calls(&self) -> Vec<String> {
        let log = self.host_path(SYSTEMCTL_LOG);
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        calls.lines().map(str::to_string).collect()
    }
}
