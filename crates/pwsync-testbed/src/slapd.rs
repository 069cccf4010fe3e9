//! A throwaway OpenLDAP server for the LDAP target's tests: mdb database, the ppolicy overlay
//! (minimum length 8), TLS with a certificate from a throwaway pwsync CA (SAN IP:127.0.0.1),
//! listening on random free ports of 127.0.0.1 only.
//!
//! The guard stops slapd and removes its directory when dropped, also when a test fails. Its
//! passwords are test fixtures, not secrets.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BASE_DN: &str = "dc=example,dc=org";
pub const PEOPLE_DN: &str = "ou=people,dc=example,dc=org";
pub const BIND_DN: &str = "cn=pwsync,dc=example,dc=org";
pub const BIND_PASSWORD: &str = "bind-Secret-1";
/// The password every test user starts with.
pub const INITIAL_PASSWORD: &str = "Initial-Secret-1";
/// Users created under `PEOPLE_DN`, all with surname "Example". `a*` and `ab` let a test show
/// that a metacharacter in an account name matches nothing but itself.
pub const USERS: [&str; 4] = ["alice", "bob", "a*", "ab"];

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";

pub struct Slapd {
    pub dir: PathBuf,
    pub ldap_port: u16,
    pub ldaps_port: u16,
    child: Option<Child>,
}

impl Slapd {
    /// Sets up and starts a server, or — when slapd is not installed — returns `None` after
    /// saying why (and fails instead when the environment variable CI is set).
    pub fn start() -> Option<Slapd> {
        if !Path::new(SLAPD).exists() || !Path::new(SLAPADD).exists() {
            let why =
                "slapd is not installed (apt-get install slapd ldap-utils; scripts/test-all.sh does it)";
            if std::env::var_os("CI").is_some() {
                panic!("{why}");
            }
            eprintln!("skipping: {why}");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("pwsync-slapd-{}", rand::random::<u64>()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let (ldap_port, ldaps_port) = free_ports();
        let mut slapd = Slapd { dir, ldap_port, ldaps_port, child: None };
        slapd.write_files();
        slapd.run();
        Some(slapd)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca").join("ca.pem")
    }

    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// Stops the server (SIGKILL: mdb is crash-safe, and a test wants it gone at once).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again on the same ports, with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    fn write_files(&self) {
        let ca_dir = self.dir.join("ca");
        pwsync_tls::init_ca(&ca_dir, "pwsync LDAP test CA", pwsync_tls::Validity::days(1)).unwrap();
        let server = pwsync_tls::issue_server(
            &ca_dir,
            "slapd",
            &["127.0.0.1".to_string()],
            &self.dir,
            pwsync_tls::Validity::days(1),
        )
        .unwrap();
        let dir = self.dir.display();
        let config = format!(
            r#"include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
TLSCACertificateFile {ca}
TLSCertificateFile {certificate}
TLSCertificateKeyFile {key}
database mdb
maxsize 16777216
suffix "{BASE_DN}"
rootdn "cn=root,{BASE_DN}"
rootpw root-Secret-1
directory {dir}/data
access to attrs=userPassword
  by dn.exact="{BIND_DN}" write
  by anonymous auth
  by * none
access to *
  by * read
overlay ppolicy
ppolicy_hash_cleartext
ppolicy_default "cn=default,ou=policies,{BASE_DN}"
"#,
            ca = self.ca_file().display(),
            certificate = server.certificate.display(),
            key = server.private_key.display(),
        );
        std::fs::write(self.dir.join("slapd.conf"), config).unwrap();
        let mut ldif = format!(
            "dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
             dn: {PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: ou=policies,{BASE_DN}\nobjectClass: organizationalUnit\nou: policies\n\n\
             dn: cn=default,ou=policies,{BASE_DN}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: default\n\
             pwdAttribute: userPassword\npwdMinLength: 8\npwdCheckQuality: 2\n\n\
             dn: {BIND_DN}\nobjectClass: person\ncn: pwsync\nsn: pwsync\nuserPassword: {BIND_PASSWORD}\n\n"
        );
        for user in USERS {
            ldif.push_str(&format!(
                "dn: uid={user},{PEOPLE_DN}\nobjectClass: inetOrgPerson\nuid: {user}\ncn: {user}\nsn: Example\n\
                 userPassword: {INITIAL_PASSWORD}\n\n"
            ));
        }
        std::fs::write(self.dir.join("base.ldif"), ldif).unwrap();
        let output = Command::new(SLAPADD)
            .arg("-f")
            .arg(self.dir.join("slapd.conf"))
            .arg("-l")
            .arg(self.dir.join("base.ldif"))
            .output()
            .unwrap();
        assert!(output.status.success(), "slapadd failed: {}", String::from_utf8_lossy(&output.stderr));
    }

    fn run(&mut self) {
        let log = std::fs::File::create(self.dir.join("slapd.log")).unwrap();
        // -d keeps slapd in the foreground, so that the guard owns the process.
        let child = Command::new(SLAPD)
            .arg("-f")
            .arg(self.dir.join("slapd.conf"))
            .arg("-h")
            .arg(format!("{}/ {}/", self.ldap_url(), self.ldaps_url()))
            .args(["-d", "0"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let log = std::fs::read_to_string(self.dir.join("slapd.log")).unwrap_or_default();
                panic!("slapd exited with {status}: {log}");
            }
            let ready = [self.ldap_port, self.ldaps_port]
                .iter()
                .all(|port| std::net::TcpStream::connect(("127.0.0.1", *port)).is_ok());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "slapd did not listen within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Two ports free right now (a tiny race with other programs is accepted in tests).
fn free_ports() -> (u16, u16) {
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let second = TcpListener::bind("127.0.0.1:0").unwrap();
    (first.local_addr().unwrap().port(), second.local_addr().unwrap().port())
}
