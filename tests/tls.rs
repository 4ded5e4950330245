//! `[server.tls]` with the real binary and real clients: curl and ffmpeg over https with a
//! Basic-auth login (the self-signed pair of `testdata/tls/`), and a certificate changed on disk
//! (then a broken one, then SIGHUP) while a stream stays open.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::users::cheap_hash;
use common::{decode_jpeg, ServerProcess, TempDir};

const TLS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/tls");

fn testdata(name: &str) -> String {
    format!("{TLS_DIR}/{name}")
}

/// A config serving the test pattern over https with the pair copied into `dir`, and one
/// user `alice` (password `alice-pw`).
fn start(dir: &TempDir) -> ServerProcess {
    std::fs::copy(testdata("cert.pem"), dir.path().join("cert.pem")).unwrap();
    std::fs::copy(testdata("key.pem"), dir.path().join("key.pem")).unwrap();
    let config = dir.write(
        "config.toml",
        &format!(
            r#"[server.tls]
cert = "cert.pem"
key = "key.pem"
[logging]
dir = "logs"
console = true
[[stream]]
id = "main"
source = "test"
[stream.test]
width = 160
height = 120
fps = 20
[[user]]
name = "alice"
password_hash = "{}"
view = true
status = true
"#,
            cheap_hash("alice-pw")
        ),
    );
    ServerProcess::spawn(dir.path(), &["--config", config.to_str().unwrap()])
}

/// Runs curl with `args`; (exit code, stdout).
fn curl(args: &[&str]) -> (i32, String) {
    let out = Command::new("curl")
        .args(["--silent", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs (scripts/deps.sh test installs it)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The status code of `url` with the CA file `ca`, or curl's exit code as a negative number.
fn status_with_ca(ca: &str, url: &str) -> i32 {
    let (code, out) = curl(&[
        "--cacert",
        &testdata(ca),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        url,
    ]);
    if code == 0 {
        out.trim().parse().unwrap()
    } else {
        -code
    }
}

#[test]
fn curl_and_ffmpeg_fetch_over_https_with_a_login() {
    let dir = TempDir::new("tls-clients");
    let server = start(&dir);
    let port = server.addr.port();
    let base = format!("https://127.0.0.1:{port}");
    let ca = testdata("cert.pem");

    let snap = dir.path().join("snap.jpg");
    let (code, status) = curl(&[
        "--cacert",
        &ca,
        "-u",
        "alice:alice-pw",
        "-o",
        snap.to_str().unwrap(),
        "-w",
        "%{http_code}",
        &format!("{base}/snapshot.jpg"),
    ]);
    assert_eq!((code, status.as_str()), (0, "200"), "{}", server.stderr());
    assert_eq!(decode_jpeg(&std::fs::read(&snap).unwrap()), (160, 120));
    assert_eq!(
        status_with_ca("cert.pem", &format!("{base}/snapshot.jpg")),
        401
    );
    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let (code, _) = curl(&[
        "-o",
        "/dev/null",
        &format!("http://127.0.0.1:{port}/snapshot.jpg"),
    ]);
    assert_ne!(code, 0, "plain http must not be served");

    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "mjpeg",
        ])
        .args([
            "-i",
            &format!("https://alice:alice-pw@127.0.0.1:{port}/stream.mjpg"),
        ])
        .args(["-frames:v", "10", "-f", "framemd5", "-"])
        .output()
        .expect("ffmpeg runs (scripts/deps.sh test installs it)");
    let frames = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(frames, 10, "ffmpeg decoded 10 frames over https");
}

/// A TLS client that accepts only the certificate in `ca` (pinned: webpki would refuse a
/// self-signed certificate as its own root), reading a stream; counts JPEG parts.
struct TlsStream(rustls::StreamOwned<rustls::ClientConnection, TcpStream>);

#[derive(Debug)]
struct Pinned(
    rustls::pki_types::CertificateDer<'static>,
    Arc<rustls::crypto::CryptoProvider>,
);

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_ref() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the pinned certificate".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = &self.1.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = &self.1.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.1.signature_verification_algorithms.supported_schemes()
    }
}

impl TlsStream {
    fn open(addr: SocketAddr, ca: &str, request: &str) -> TlsStream {
        use rustls::pki_types::pem::PemObject;
        let pinned = rustls::pki_types::CertificateDer::from_pem_file(testdata(ca)).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned(pinned, provider)))
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut s = rustls::StreamOwned::new(conn, tcp);
        s.write_all(request.as_bytes()).unwrap();
        TlsStream(s)
    }

    /// JPEG parts (`image/jpeg` part headers) read within `limit`.
    fn parts_within(&mut self, limit: Duration) -> usize {
        let t0 = Instant::now();
        let (mut buf, mut seen, mut n) = (vec![0u8; 64 * 1024], Vec::new(), 0);
        while t0.elapsed() < limit {
            let got = self.0.read(&mut buf).expect("the stream keeps going");
            assert!(got > 0, "the stream ended");
            seen.extend_from_slice(&buf[..got]);
            n += count(&seen, b"Content-Type: image/jpeg");
            let keep = seen.len().saturating_sub(32);
            seen.drain(..keep);
        }
        n
    }
}

fn count(hay: &[u8], pat: &[u8]) -> usize {
    hay.windows(pat.len()).filter(|w| *w == pat).count()
}

/// Waits (at most `limit`) until `url` answers 200 when trusting `ca`.
fn wait_for_ca(ca: &str, url: &str, limit: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if status_with_ca(ca, url) == 200 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[test]
fn a_changed_certificate_is_used_for_new_connections_and_open_streams_keep_going() {
    let dir = TempDir::new("tls-reload");
    let server = start(&dir);
    let addr = server.addr;
    let url = format!("https://127.0.0.1:{}/health", addr.port());
    let login = "Authorization: Basic YWxpY2U6YWxpY2UtcHc=\r\n"; // alice:alice-pw
    let mut stream = TlsStream::open(
        addr,
        "cert.pem",
        &format!("GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n{login}\r\n"),
    );
    assert!(stream.parts_within(Duration::from_millis(500)) > 0);
    assert_eq!(status_with_ca("cert.pem", &url), 200);

    // A renewal writes the new pair: new connections get it within a few seconds.
    let install = |cert: &str, key: &str| {
        std::fs::copy(testdata(cert), dir.path().join("cert.pem")).unwrap();
        std::fs::copy(testdata(key), dir.path().join("key.pem")).unwrap();
    };
    install("cert2.pem", "key2.pem");
    assert!(
        wait_for_ca("cert2.pem", &url, Duration::from_secs(10)),
        "{}",
        server.stderr()
    );
    assert!(
        status_with_ca("cert.pem", &url) < 0,
        "the old certificate is gone"
    );
    // The stream was left unread while the test waited: the server's pacer took it for a slow
    // reader, probes it less often the longer it reads nothing (up to every 2 s) and gives it
    // parts at about its read interval until it is seen keeping up again; then the full 20
    // fps. Measured here: 2 parts in the first second after a 2 s pause, and after the ~5 s
    // pause below 2 parts and then none for ~2 s. So count over four seconds.
    assert!(
        stream.parts_within(Duration::from_secs(4)) > 10,
        "the open stream kept going"
    );

    // A broken certificate is refused: the previous pair stays in use.
    std::fs::write(
        dir.path().join("cert.pem"),
        "-----BEGIN CERTIFICATE-----\ngarbage\n",
    )
    .unwrap();
    let t0 = Instant::now();
    while !server.stderr().contains("TLS certificate not reloaded") {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status_with_ca("cert2.pem", &url), 200);

    // SIGHUP reloads at once and does not stop the server.
    install("cert.pem", "key.pem");
    server.signal(libc::SIGHUP);
    assert!(
        wait_for_ca("cert.pem", &url, Duration::from_secs(10)),
        "{}",
        server.stderr()
    );
    assert!(
        stream.parts_within(Duration::from_secs(4)) > 10,
        "still streaming"
    );
    assert!(server.stderr().contains("TLS certificate reloaded"));
}
