//! Test support: throw-away directories, a small deployment PKI, raw rustls configurations that
//! bypass pwsync's load-time checks, and one real TLS handshake over 127.0.0.1.
//!
//! Must never be used outside tests; the raw configurations deliberately skip our own checks so
//! that the *server's* refusal can be observed.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pwsync_tls::{IssuedFiles, Validity};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection, StreamOwned};

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "pwsync-tls-test-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA with a server certificate for 127.0.0.1 and one client certificate `dc1`.
pub struct Pki {
    pub dir: TempDir,
    pub ca_dir: PathBuf,
    pub ca_cert: PathBuf,
    pub server: IssuedFiles,
    pub client: IssuedFiles,
}

impl Pki {
    pub fn new(ca_name: &str) -> Pki {
        let dir = TempDir::new();
        let ca_dir = dir.path().join("ca");
        let ca = pwsync_tls::init_ca(&ca_dir, ca_name, Validity::default()).unwrap();
        let server = pwsync_tls::issue_server(
            &ca_dir,
            "sync",
            &["localhost".to_owned(), "127.0.0.1".to_owned()],
            &dir.path().join("server"),
            Validity::default(),
        )
        .unwrap();
        let client = pwsync_tls::issue_client(
            &ca_dir,
            "dc1.corp.example.com",
            &["Corp.Example.com".to_owned(), "child.corp.example.com".to_owned()],
            &dir.path().join("clients"),
            Validity::default(),
        )
        .unwrap();
        Pki { ca_cert: ca.certificate, dir, ca_dir, server, client }
    }

    pub fn server_config(&self) -> Arc<ServerConfig> {
        pwsync_tls::server_config(&self.server.certificate, &self.server.private_key, &self.ca_cert).unwrap()
    }

    /// Issues another client certificate from this CA.
    pub fn issue_client(&self, name: &str, validity: Validity) -> IssuedFiles {
        pwsync_tls::issue_client(
            &self.ca_dir,
            name,
            &["corp.example.com".to_owned()],
            &self.dir.path().join("clients"),
            validity,
        )
        .unwrap()
    }
}

/// A client configuration built with rustls alone: it trusts `ca`, presents `identity` if given,
/// and speaks only `versions` — none of pwsync's load-time checks apply.
pub fn raw_client_config(
    ca: &Path,
    identity: Option<&IssuedFiles>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(certificate.unwrap()).unwrap();
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots);
    let config = match identity {
        Some(files) => {
            let chain = CertificateDer::pem_file_iter(&files.certificate)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_file(&files.private_key).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// What the server saw of one connection.
#[derive(Debug)]
pub enum ServerSaw {
    /// Handshake completed and "ping" was answered with "pong".
    Accepted { peer_certificate: Option<Vec<u8>>, alpn: Option<Vec<u8>> },
    /// rustls refused the handshake with this error.
    Refused(rustls::Error),
    /// Something other than TLS failed (a test-harness problem).
    Io(std::io::Error),
}

/// Runs one handshake between `server` and `client` over 127.0.0.1 TCP: the client sends
/// "ping", the server answers "pong". Returns what the server saw, and whether the client got
/// its "pong".
pub fn handshake(server: Arc<ServerConfig>, client: Arc<ClientConfig>) -> (ServerSaw, bool) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let address = listener.local_addr().unwrap();
    let server_thread = thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let connection = ServerConnection::new(server).unwrap();
        let mut tls = StreamOwned::new(connection, socket);
        let mut ping = [0u8; 4];
        if let Err(error) = tls.read_exact(&mut ping) {
            return match error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                Some(tls_error) => ServerSaw::Refused(tls_error.clone()),
                None => ServerSaw::Io(error),
            };
        }
        assert_eq!(&ping, b"ping");
        tls.write_all(b"pong").unwrap();
        tls.flush().unwrap();
        tls.conn.send_close_notify();
        let _ = tls.conn.complete_io(&mut tls.sock);
        ServerSaw::Accepted {
            peer_certificate: tls
                .conn
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|certificate| certificate.to_vec()),
            alpn: tls.conn.alpn_protocol().map(<[u8]>::to_vec),
        }
    });

    let socket = TcpStream::connect(address).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let server_name = ServerName::IpAddress(Ipv4Addr::LOCALHOST.into());
    let connection = ClientConnection::new(client, server_name).unwrap();
    let mut tls = StreamOwned::new(connection, socket);
    let mut pong = [0u8; 4];
    let client_got_pong =
        tls.write_all(b"ping").is_ok() && tls.read_exact(&mut pong).is_ok() && &pong == b"pong";
    drop(tls);
    (server_thread.join().unwrap(), client_got_pong)
}
