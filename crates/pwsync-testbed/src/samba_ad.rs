//! A throwaway Samba AD domain controller for tests (the `ldap` target's `active-directory`
//! mode, the Samba capture hook end to end): provisioned
//! in a temporary directory, serving LDAPS with a certificate from a throwaway pwsync CA, on a
//! random loopback address (127.x.y.z, not 127.0.0.1: AD's ports are fixed, and another test
//! may run a DC on 127.0.0.1 at the same time). Samba listens only on addresses an interface
//! has, so the address is added to `lo` for the test's duration.
//!
//! A second DC of the same domain can join the first ([`SambaDc::join`]), on its own address and
//! optionally on a clock shifted by libfaketime; replication between them is pulled on demand
//! ([`SambaDc::replicate_from`]), so that a test decides exactly when each side learns a change.
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
/// libfaketime as Debian's `faketime` package installs it.
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
/// The domain's naming context.
pub const BASE_DN: &str = "DC=example,DC=test";
const SAMBA_TOOL: &str = "/usr/bin/samba-tool";
const LDAPSEARCH: &str = "/usr/bin/ldapsearch";

pub struct SambaDc {
    pub dir: PathBuf,
    pub ip: String,
    /// The DC's host (and NetBIOS) name: `dc1` for the first DC of the domain.
    pub host_name: String,
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
    /// Run Samba (and so its check password script) on a clock shifted by this many seconds
    /// (libfaketime, Debian package `faketime`): a DC whose clock is off.
    pub clock_offset_s: Option<i64>,
}

impl SambaDc {
    /// Provisions and starts a DC with the user `alice`, or — when Samba is not installed —
    /// returns `None` after saying why (and fails instead when the variable CI is set).
    pub fn start() -> Option<SambaDc> {
        SambaDc::start_with(SambaOptions::default())
    }

    /// As [`SambaDc::start`], with a check password script and services of choice.
    pub fn start_with(options: SambaOptions) -> Option<SambaDc> {
        if let Err(why) = prerequisites(&options) {
            if std::env::var_os("CI").is_some() {
                panic!("{why}");
            }
            eprintln!("skipping: {why}");
            return None;
        }
        let mut dc = SambaDc::prepare("dc1", options);
        dc.provision();
        dc.run();
        dc.samba_tool(&["user", "create", "alice", USER_INITIAL_PASSWORD]);
        Some(dc)
    }

    /// Joins a second DC (`host_name`, e.g. `dc2`) to this DC's domain with `samba-tool domain
    /// join`, on its own loopback address, and starts it. Everything the first DC holds is
    /// replicated to it during the join; later changes only by [`SambaDc::replicate_from`].
    pub fn join(&self, host_name: &str, options: SambaOptions) -> SambaDc {
        if let Err(why) = prerequisites(&options) {
            panic!("{why}");
        }
        let mut dc = SambaDc::prepare(host_name, options);
        let tls = dc.issue_tls();
        let empty = dc.dir.join("empty.conf");
        std::fs::write(&empty, "").unwrap();
        let output = Command::new(SAMBA_TOOL)
            .args(["domain", "join", "EXAMPLE.TEST", "DC", "-s"])
            .arg(&empty)
            .arg(format!("--targetdir={}", dc.dir.join("dc").display()))
            .arg(format!("--server={}", self.ip))
            .args(["-U", &format!("EXAMPLE\\administrator%{ADMIN_PASSWORD}"), "--dns-backend=NONE"])
            .arg(format!("--option=netbios name={}", host_name.to_uppercase()))
            .args(dc.common_options())
            .output()
            .unwrap();
        assert!(output.status.success(), "join failed: {}", String::from_utf8_lossy(&output.stderr));
        dc.configure_after_setup(&tls);
        dc.run();
        dc
    }

    /// Pulls what `source` has and this DC lacks of the domain partition, now (DRS replication
    /// into this DC's database, as `samba-tool drs replicate --local`).
    pub fn replicate_from(&self, source: &SambaDc) {
        let output = Command::new(SAMBA_TOOL)
            .args(["drs", "replicate", &self.ip, &source.ip, BASE_DN, "--local", "-s"])
            .arg(self.conf())
            .args(["-U", &format!("administrator%{ADMIN_PASSWORD}")])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "replication {} <- {} failed: {}",
            self.host_name,
            source.host_name,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A directory and a fresh loopback address for a DC, nothing provisioned yet.
    fn prepare(host_name: &str, options: SambaOptions) -> SambaDc {
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
        SambaDc { dir, ip, host_name: host_name.into(), options, child: None }
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
        let tls = self.issue_tls();
        let empty = self.dir.join("empty.conf");
        std::fs::write(&empty, "").unwrap();
        let output = Command::new(SAMBA_TOOL)
            .args(["domain", "provision", "-s"])
            .arg(&empty)
            .arg(format!("--targetdir={}", self.dir.join("dc").display()))
            .args(["--realm=EXAMPLE.TEST", "--domain=EXAMPLE", "--server-role=dc", "--dns-backend=NONE"])
            .args([&format!("--host-name={}", self.host_name), &format!("--host-ip={}", self.ip)])
            .arg(format!("--adminpass={ADMIN_PASSWORD}"))
            .args(self.common_options())
            .output()
            .unwrap();
        assert!(output.status.success(), "provision failed: {}", String::from_utf8_lossy(&output.stdout));
        self.configure_after_setup(&tls);
    }

    /// A throwaway CA of the DC's own and an LDAPS certificate for its address.
    fn issue_tls(&self) -> pwsync_tls::IssuedFiles {
        let ca_dir = self.dir.join("ca");
        pwsync_tls::init_ca(&ca_dir, "pwsync Samba test CA", pwsync_tls::Validity::days(1)).unwrap();
        pwsync_tls::issue_server(
            &ca_dir,
            "samba",
            std::slice::from_ref(&self.ip),
            &self.dir,
            pwsync_tls::Validity::days(1),
        )
        .unwrap()
    }

    /// The smb.conf options of provision and join: this DC's address and directories only,
    /// the services the tests need, and the check password script.
    fn common_options(&self) -> Vec<String> {
        let dc = self.dir.join("dc");
        let dc = dc.display();
        let services = if self.options.smb {
            "--option=server services=-dns -nbt -wrepl -drepl -kcc -dnsupdate -ntp_signd"
        } else {
            "--option=server services=-dns -nbt -wrepl -drepl -kcc -dnsupdate -ntp_signd -s3fs"
        };
        let mut options = vec![
            format!("--option=interfaces={}", self.ip),
            "--option=bind interfaces only=yes".into(),
            format!("--option=log file={dc}/log.%m"),
            format!("--option=pid directory={dc}/run"),
            format!("--option=ncalrpc dir={dc}/run/ncalrpc"),
            format!("--option=ntp signd socket directory={dc}/run/ntp_signd"),
            services.into(),
            "--option=prefork children=1".into(),
        ];
        options.extend(
            self.options
                .check_password_script
                .iter()
                .map(|script| format!("--option=check password script={script}")),
        );
        options
    }

    /// Provision and join drop these options; they go right after [global] by hand. The old
    /// password stays valid for 60 minutes by default (as in Windows AD): off, so that the
    /// test can show the old password failing.
    fn configure_after_setup(&self, tls: &pwsync_tls::IssuedFiles) {
        let conf = std::fs::read_to_string(self.conf()).unwrap();
        let extra = format!(
            "[global]\n\tldap server require strong auth = no\n\told password allowed period = 0\n\ttls enabled = yes\n\ttls keyfile = {}\n\
             \ttls certfile = {}\n\ttls cafile = {}\n",
            tls.private_key.display(),
            tls.certificate.display(),
            self.ca_file().display()
        );
        std::fs::write(self.conf(), conf.replacen("[global]\n", &extra, 1)).unwrap();
    }

    /// Starts the DC's processes and waits until LDAP answers (also after [`SambaDc::stop`]).
    pub fn run(&mut self) {
        let log = std::fs::File::create(self.dir.join("samba.out")).unwrap();
        let mut command = Command::new(SAMBA);
        if let Some(offset) = self.options.clock_offset_s {
            // Every process of the DC, the check password script included, reads the shifted clock.
            command
                .env("LD_PRELOAD", LIBFAKETIME)
                .env("FAKETIME", format!("{offset:+}"))
                .env("FAKETIME_NO_CACHE", "1");
        }
        let child = command
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

/// Why a DC with `options` cannot run on this machine, if it cannot.
fn prerequisites(options: &SambaOptions) -> Result<(), String> {
    if ![SAMBA, SAMBA_TOOL, LDAPSEARCH].iter().all(|program| Path::new(program).exists()) {
        return Err("Samba AD is not installed (apt-get install samba samba-ad-dc winbind ldap-utils)".into());
    }
    if options.clock_offset_s.is_some() && !Path::new(LIBFAKETIME).exists() {
        return Err(format!("{LIBFAKETIME} is missing (apt-get install faketime)"));
    }
    Ok(())
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        self.stop();
        let _ = Command::new("ip").args(["address", "del", &format!("{}/32", self.ip), "dev", "lo"]).status();
        // PWSYNC_KEEP_SAMBA=1 keeps the DC's directory (smb.conf, logs) to look into a failure.
        if std::env::var_os("PWSYNC_KEEP_SAMBA").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
