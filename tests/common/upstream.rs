//! A misbehaving snapshot server on 127.0.0.1:0 for the http source tests.
//!
//! Plain std threads: an accept loop (non-blocking, stops with the value) and one thread per
//! connection. What it answers is switchable at any time ([`Upstream::set`]); it counts
//! requests per behaviour and the largest number of requests in flight at once. Every write
//! and wait is bounded, so a test never hangs on it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub enum Behaviour {
    /// 200 with this body and content type.
    Serve(&'static str, Vec<u8>),
    /// Waits this long, then serves the body as `image/jpeg`.
    Slow(Duration, Vec<u8>),
    /// 500 Internal Server Error.
    Error500,
    /// Announces the whole body, sends half, closes.
    Truncated(Vec<u8>),
    /// Header lines without end (up to 4 MB or until the client hangs up).
    EndlessHeader,
    /// A 50 MB "frame".
    Huge,
    /// Sends the head and half the body, then stalls (up to 5 s) with the socket open.
    StallMidFrame(Vec<u8>),
    /// Requires this `Authorization` value; 401 otherwise. Then serves the JPEG.
    Auth(String, Vec<u8>),
    /// `/rN` redirects to `/r(N-1)`; `/r0` (or any other path) serves the JPEG.
    Redirects(Vec<u8>),
}

impl Behaviour {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Serve(..) => "serve",
            Self::Slow(..) => "slow",
            Self::Error500 => "500",
            Self::Truncated(_) => "truncated",
            Self::EndlessHeader => "endless-header",
            Self::Huge => "huge",
            Self::StallMidFrame(_) => "stall",
            Self::Auth(..) => "auth",
            Self::Redirects(_) => "redirects",
        }
    }
}

pub struct Upstream {
    pub addr: SocketAddr,
    behaviour: Arc<Mutex<Behaviour>>,
    counts: Arc<Mutex<HashMap<&'static str, usize>>>,
    in_flight: Arc<AtomicUsize>,
    pub max_in_flight: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Upstream {
    pub fn start(initial: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let up = Self {
            addr: listener.local_addr().unwrap(),
            behaviour: Arc::new(Mutex::new(initial)),
            counts: Arc::default(),
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
            stop: Arc::default(),
        };
        let (b, c, f, m, s) = (
            up.behaviour.clone(),
            up.counts.clone(),
            up.in_flight.clone(),
            up.max_in_flight.clone(),
            up.stop.clone(),
        );
        std::thread::spawn(move || {
            while !s.load(SeqCst) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        let (b, c, f, m, s) =
                            (b.clone(), c.clone(), f.clone(), m.clone(), s.clone());
                        std::thread::spawn(move || {
                            let now = f.fetch_add(1, SeqCst) + 1;
                            m.fetch_max(now, SeqCst);
                            let behaviour = b.lock().unwrap().clone();
                            *c.lock().unwrap().entry(behaviour.name()).or_insert(0) += 1;
                            let mut counted = true;
                            let _ = answer(tcp, behaviour, &s, &mut || {
                                if std::mem::take(&mut counted) {
                                    f.fetch_sub(1, SeqCst);
                                }
                            });
                            if counted {
                                f.fetch_sub(1, SeqCst);
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        up
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set(&self, b: Behaviour) {
        *self.behaviour.lock().unwrap() = b;
    }

    /// Requests answered with behaviour `name` so far.
    pub fn count(&self, name: &str) -> usize {
        self.counts.lock().unwrap().get(name).copied().unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.counts.lock().unwrap().values().sum()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, SeqCst);
    }
}

/// Reads the request head (bounded) and returns (path, authorization header).
fn read_head(tcp: &mut TcpStream) -> std::io::Result<(String, Option<String>)> {
    tcp.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && buf.len() < 16 * 1024 {
        if tcp.read(&mut byte)? == 0 {
            break;
        }
        buf.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&buf);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let auth = text
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        })
        .map(|(_, v)| v.trim().to_string());
    Ok((path, auth))
}

/// Waits up to `limit`; true when the client hung up first (so "in flight" ends with it).
fn wait_or_hangup(tcp: &TcpStream, limit: Duration, stop: &AtomicBool) -> std::io::Result<bool> {
    tcp.set_nonblocking(true)?;
    let until = Instant::now() + limit;
    let mut byte = [0u8; 1];
    let hung_up = loop {
        match tcp.peek(&mut byte) {
            Ok(0) => break true,
            Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => break true,
            _ => {}
        }
        if Instant::now() >= until || stop.load(SeqCst) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    tcp.set_nonblocking(false)?;
    Ok(hung_up)
}

fn head(status: &str, ctype: &str, len: usize) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
}

/// Answers one request; `done` is called just before the last byte of a complete answer, so
/// the client cannot start its next request while this one still counts as in flight.
fn answer(
    mut tcp: TcpStream,
    b: Behaviour,
    stop: &AtomicBool,
    done: &mut dyn FnMut(),
) -> std::io::Result<()> {
    tcp.set_write_timeout(Some(Duration::from_secs(5)))?;
    let (path, auth) = read_head(&mut tcp)?;
    let mut serve = |tcp: &mut TcpStream, body: &[u8]| -> std::io::Result<()> {
        tcp.write_all(head("200 OK", "image/jpeg", body.len()).as_bytes())?;
        let (most, last) = body.split_at(body.len().saturating_sub(1));
        tcp.write_all(most)?;
        done();
        tcp.write_all(last)
    };
    match b {
        Behaviour::Serve("image/jpeg", body) => serve(&mut tcp, &body),
        Behaviour::Serve(ctype, body) => {
            tcp.write_all(head("200 OK", ctype, body.len()).as_bytes())?;
            tcp.write_all(&body)
        }
        Behaviour::Slow(wait, body) => {
            if wait_or_hangup(&tcp, wait, stop)? {
                return Ok(());
            }
            serve(&mut tcp, &body)
        }
        Behaviour::Error500 => tcp.write_all(head("500 Internal Server Error", "text/plain", 4).as_bytes()).and_then(|_| tcp.write_all(b"oops")),
        Behaviour::Truncated(body) => {
            tcp.write_all(head("200 OK", "image/jpeg", body.len()).as_bytes())?;
            tcp.write_all(&body[..body.len() / 2])
        }
        Behaviour::EndlessHeader => {
            tcp.write_all(b"HTTP/1.1 200 OK\r\n")?;
            for i in 0..100_000 {
                tcp.write_all(format!("X-Filler-{i}: {}\r\n", "a".repeat(30)).as_bytes())?;
            }
            Ok(())
        }
        Behaviour::Huge => {
            const LEN: usize = 50 * 1024 * 1024;
            tcp.write_all(head("200 OK", "image/jpeg", LEN).as_bytes())?;
            let chunk = vec![0xAB; 64 * 1024];
            for _ in 0..LEN / chunk.len() {
                tcp.write_all(&chunk)?;
            }
            Ok(())
        }
        Behaviour::StallMidFrame(body) => {
            tcp.write_all(head("200 OK", "image/jpeg", body.len()).as_bytes())?;
            tcp.write_all(&body[..body.len() / 2])?;
            wait_or_hangup(&tcp, Duration::from_secs(5), stop).map(drop)
        }
        Behaviour::Auth(want, body) => {
            if auth.as_deref() == Some(want.as_str()) {
                serve(&mut tcp, &body)
            } else {
                tcp.write_all(
                    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
            }
        }
        Behaviour::Redirects(body) => match path.strip_prefix("/r").and_then(|n| n.parse::<u32>().ok()) {
            Some(n) if n > 0 => tcp.write_all(
                format!("HTTP/1.1 302 Found\r\nLocation: /r{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", n - 1)
                    .as_bytes(),
            ),
            _ => serve(&mut tcp, &body),
        },
    }
}

/// An HTTPS snapshot server with the self-signed certificate in `testdata/tls/`, serving
/// `body` as `image/jpeg` to every request. Stops when dropped.
pub struct TlsUpstream {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

/// A TLS server configuration with the self-signed test certificate of `testdata/tls/`.
pub fn test_tls_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/tls");
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(format!("{dir}/cert.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    )
}

impl TlsUpstream {
    pub fn start(body: Vec<u8>) -> Self {
        let config = test_tls_config();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            while !s.load(SeqCst) {
                let Ok((tcp, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                let _ = tcp.set_nonblocking(false);
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = tcp.set_write_timeout(Some(Duration::from_secs(2)));
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut request = Vec::new();
                let mut byte = [0u8; 1];
                while !request.ends_with(b"\r\n\r\n") && request.len() < 16 * 1024 {
                    match tls.read(&mut byte) {
                        Ok(1) => request.push(byte[0]),
                        _ => break,
                    }
                }
                if request.ends_with(b"\r\n\r\n") {
                    let _ = tls.write_all(head("200 OK", "image/jpeg", body.len()).as_bytes());
                    let _ = tls.write_all(&body);
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
            }
        });
        Self { addr, stop }
    }
}

impl Drop for TlsUpstream {
    fn drop(&mut self) {
        self.stop.store(true, SeqCst);
    }
}
