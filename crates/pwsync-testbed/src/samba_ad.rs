//! A throwaway Samba AD domain controller for tests (the `ldap` target's `active-directory`
//! mode, the Samba capture hook end to end): provisioned
//! in a temporary directory, serving LDAPS with a certificate from a throwaway pwsync CA, on a
//! random loopback address (127.x.y.z, not 127.0.0.1: AD's ports are fixed, and another test
//! may run a DC on 127.0.0.1 at the same time). Samba listens only on addresses an interface
//! has, so the address is added to `lo` for the test's duration.
//!
//! The guard stops every Samba process of the DC, removes the address and the directory when
//! dropped, also when a test fails. Its passwords are test fixtures, not secrets.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_PASSWORD: &str = "Adm1nPass!2024";
pub const ADMIN_DN: &str = "CN=Administrator,CN=Users,DC=example,DC=test";
pub const USERS_DN: &str = "CN=Users,DC=example,DC=test";
pub const USER_INITIAL_PASSWORD: &str = "AlicePass1!";

const SAMBA: &str = "/usr/sbin/samba";
const SAMBA_TOOL: &str = "/usr/bin/samba-tool";
const LDAPSEARCH: &str = "/usr/bin/ldapsearch";

pub struct SambaDc {
    pub dir: PathBuf,
    pub ip: String,
    options: SambaOptions,
    child: Option<Child>,
}

/// What the DC runs beyond LDAP and Kerberos.
#[derive(Debug, Clone, Default)]
pub struct SambaOptions {
    /// The `check password script` line of smb.conf (a command run through `/bin/sh -c`).
    pub check_password_script: Option<String>,
    /// Run the SMB server too, for password changes over SAMR (`smbpasswd -r`).
    pub smb: bool,
}

impl SambaDc {
    /// Provisions and starts a DC with the user `alice`, or — when Samba is not installed —
    /// returns `None` after saying why (and fails instead when the variable CI is set).
    pub fn start() -> Option<SambaDc> {
        SambaDc::start_with(SambaOptions::default())
    }

    /// As [`SambaDc::start`], with a check password script and services of choice.
    pub fn start_with(options: SambaOptions) -> Option<SambaDc> {
        if ![SAMBA, SAMBA_TOOL, LDAPSEARCH].iter().all(|program| Path::new(program).exists()) {
            let why = "Samba AD is not installed (apt-get install samba samba-ad-dc winbind ldap-utils)";
            if std::env::var_os("CI").is_some() {
                panic!("{why}");
            }
            eprintln!("skipping: {why}");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("pwsync-samba-{}", rand::random::<u64>()));
        std::fs::create_dir_all(dir.join("dc").join("run")).unwrap();
        let ip = format!(
            "127.{}.{}.{}",
            rand::random_range(100..200),
            rand::random::<u8>(),
            rand::random_range(2..250)
        );
        let added = Command::new("ip").args(["address", "add", &format!("{ip}/32"), "dev", "lo"]).status();
        assert!(added.is_ok_and(|status| status.success()), "cannot add {ip} to lo (needs root)");
        let mut dc = SambaDc { dir, ip, options, child: None };
        dc.provision();
        dc.run();
        dc.samba_tool(&["user", "create", "alice", USER_INITIAL_PASSWORD]);
        Some(dc)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca").join("ca.pem")
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://{}", self.ip)
    }

    pub fn ldap_url(&self) -> String {
        format!("ldap://{}", self.ip)
    }

    /// The DC's smb.conf, for tools that run beside the DC (`samba-tool ... -s`).
    pub fn smb_conf(&self) -> PathBuf {
        self.conf()
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("dc").join("etc").join("smb.conf")
    }

    fn provision(&self) {
        let ca_dir = self.dir.join("ca");
        pwsync_tls::init_ca(&ca_dir, "pwsync Samba test CA", pwsync_tls::Validity::days(1)).unwrap();
        let server = pwsync_tls::issue_server(
            &ca_dir,
            "samba",
            std::slice::from_ref(&self.ip),
            &self.dir,
            pwsync_tls::Validity::days(1),
        )
        .unwrap();
        let empty = self.dir.join("empty.conf");
        std::fs::write(&empty, "").unwrap();
        let dc = self.dir.join("dc");
        let dc = dc.display();
        let output = Command::new(SAMBA_TOOL)
            .args(["domain", "provision", "-s"])
            .arg(&empty)
            .arg(format!("--targetdir={dc}"))
            .args(["--realm=EXAMPLE.TEST", "--domain=EXAMPLE", "--server-role=dc", "--dns-backend=NONE"])
            .args(["--host-name=dc1", &format!("--host-ip={}", self.ip)])
            .arg(format!("--adminpass={ADMIN_PASSWORD}"))
            .arg(format!("--option=interfaces={}", self.ip))
            .arg("--option=bind interfaces only=yes")
            .arg(format!("--option=log file={dc}/log.%m"))
            .arg(format!("--option=pid directory={dc}/run"))
            .arg(format!("--option=ncalrpc dir={dc}/run/ncalrpc"))
            .arg(format!("--option=ntp signd socket directory={dc}/run/ntp_signd"))
            .arg(if self.options.smb {
                "--option=server services=-dns -nbt -wrepl -drepl -kcc -dnsupdate -ntp_signd"
            } else {
                "--option=server services=-dns -nbt -wrepl -drepl -kcc -dnsupdate -ntp_signd -s3fs"
            })
            .arg("--option=prefork children=1")
            .args(
                self.options
                    .check_password_script
                    .iter()
                    .map(|script| format!("--option=check password script={script}")),
            )
            .output()
            .unwrap();
        assert!(output.status.success(), "provision failed: {}", String::from_utf8_lossy(&output.stdout));
        // Provision drops these options; they go right after [global] by hand. The old
        // password stays valid for 60 minutes by default (as in Windows AD): off, so that the
        // test can show the old password failing.
        let conf = std::fs::read_to_string(self.conf()).unwrap();
        let extra = format!(
            "[global]\n\tldap server require strong auth = no\n\told password allowed period = 0\n\ttls enabled = yes\n\ttls keyfile = {}\n\
             \ttls certfile = {}\n\ttls cafile = {}\n",
            server.private_key.display(),
            server.certificate.display(),
            self.ca_file().display()
        );
        std::fs::write(self.conf(), conf.replacen("[global]\n", &extra, 1)).unwrap();
    }

    /// Starts the DC's processes and waits until LDAP answers (also after [`SambaDc::stop`]).
    pub fn run(&mut self) {
        let log = std::fs::File::create(self.dir.join("samba.out")).unwrap();
        let child = Command::new(SAMBA)
            .arg("-s")
            .arg(self.conf())
            .args(["-F", "--no-process-group", "--debug-stdout", "-d1", "--maximum-runtime=600"])
            // Its own process group, so that the guard can stop Samba's children with it.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let log = std::fs::read_to_string(self.dir.join("samba.out")).unwrap_or_default();
                panic!("samba exited with {status}: {log}");
            }
            let ready = Command::new(LDAPSEARCH)
                .args(["-x", "-H", &self.ldap_url(), "-s", "base", "-b", "", "namingContexts"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "samba did not answer LDAP within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `samba-tool ARGS` against the DC as Administrator and insists on success.
    pub fn samba_tool(&self, args: &[&str]) {
        let output = self.try_samba_tool(args);
        assert!(output.status.success(), "samba-tool {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// Runs `samba-tool ARGS` against the DC as Administrator.
    pub fn try_samba_tool(&self, args: &[&str]) -> std::process::Output {
        Command::new(SAMBA_TOOL)
            .args(args)
            .args(["-H", &self.ldap_url(), "-U", &format!("administrator%{ADMIN_PASSWORD}")])
            .output()
            .unwrap()
    }

    /// Sets (or with `None` removes) the check password script in smb.conf; it takes effect
    /// at the next [`SambaDc::run`].
    pub fn set_check_password_script(&mut self, script: Option<&str>) {
        let conf = std::fs::read_to_string(self.conf()).unwrap();
        let mut lines: Vec<String> = conf
            .lines()
            .filter(|line| !line.trim_start().starts_with("check password script"))
            .map(String::from)
            .collect();
        if let Some(script) = script {
            let global = lines.iter().position(|line| line.trim() == "[global]").unwrap();
            lines.insert(global + 1, format!("\tcheck password script = {script}"));
        }
        std::fs::write(self.conf(), lines.join("\n") + "\n").unwrap();
        self.options.check_password_script = script.map(String::from);
    }

    /// Stops every process of the DC (its data stays; [`SambaDc::run`] starts it again).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let group = format!("-{}", child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = child.wait();
        let dcerpcd = self.dir.join("dc").join("run").join("samba-dcerpcd.pid");
        if let Ok(pid) = std::fs::read_to_string(dcerpcd) {
            let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
        }
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        self.stop();
        let _ = Command::new("ip").args(["address", "del", &format!("{}/32", self.ip), "dev", "lo"]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
