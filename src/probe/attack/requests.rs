//! The drills that abuse requests: [`malformed`] heads of every kind ([`Malformed`]), and
//! [`wrong_passwords`] from one address.

use std::time::Duration;

use base64::Engine;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::connections::join;
use super::{connect_from, read_status, AttackTarget, DrillReport, IO_TIMEOUT};

/// The kinds of bad request [`malformed`] sends, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Random bytes (a seeded generator), ended by a blank line.
    RandomBytes,
    /// One header of 64 KiB.
    HugeHeader,
    /// 500 header lines.
    ManyHeaders,
    /// A request line of 64 KiB.
    HugeTarget,
    /// A method no one knows.
    BadMethod,
    /// `%zz`, `%`, overlong UTF-8 and NUL in the target and query.
    BadPercentEncoding,
    /// `GET /` without a version (HTTP/0.9).
    Http09,
    /// 64 requests in one write, most of them never read.
    Pipelined,
    /// A stream request followed by pipelined garbage.
    StreamThenGarbage,
    /// `Content-Length` of 2^63 and a body that never comes.
    AbsurdLength,
    /// A chunked body with a chunk size that is not a number.
    BadChunked,
    /// Control characters and bare CRs in a header.
    ControlCharacters,
}

impl Malformed {
    pub const ALL: [Malformed; 12] = [
        Malformed::RandomBytes,
        Malformed::HugeHeader,
        Malformed::ManyHeaders,
        Malformed::HugeTarget,
        Malformed::BadMethod,
        Malformed::BadPercentEncoding,
        Malformed::Http09,
        Malformed::Pipelined,
        Malformed::StreamThenGarbage,
        Malformed::AbsurdLength,
        Malformed::BadChunked,
        Malformed::ControlCharacters,
    ];

    /// The bytes of the `n`-th request of this kind (random parts from `seed` and `n`).
    pub fn bytes(self, seed: u64, n: u64) -> Vec<u8> {
        const HOST: &str = "Host: streamserver\r\n";
        match self {
            Malformed::RandomBytes => {
                let mut rng = XorShift::new(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let len = 16 + (rng.next() % 2048) as usize;
                let mut out: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                out.extend_from_slice(b"\r\n\r\n");
                out
            }
            Malformed::HugeHeader => format!(
                "GET / HTTP/1.1\r\n{HOST}X-Big: {}\r\n\r\n",
                "a".repeat(64 * 1024)
            )
            .into_bytes(),
            Malformed::ManyHeaders => {
                let lines: String = (0..500).map(|i| format!("X-H{i}: {i}\r\n")).collect();
                format!("GET /health HTTP/1.1\r\n{HOST}{lines}\r\n").into_bytes()
            }
            Malformed::HugeTarget => {
                format!("GET /{} HTTP/1.1\r\n{HOST}\r\n", "x".repeat(64 * 1024)).into_bytes()
            }
            Malformed::BadMethod => {
                format!("BREW /stream.mjpg HTTP/1.1\r\n{HOST}\r\n").into_bytes()
            }
            Malformed::BadPercentEncoding => {
                let targets = [
                    "/stream.mjpg?fps=%zz&token=%",
                    "/%ff%fe%00/../../etc/passwd",
                    "/streams/%c0%ae%c0%ae/stream.mjpg",
                    "/?action=%",
                    "/snapshot.jpg?token=%00%0d%0a",
                ];
                let target = targets[(n % targets.len() as u64) as usize];
                format!("GET {target} HTTP/1.1\r\n{HOST}\r\n").into_bytes()
            }
            Malformed::Http09 => b"GET /\r\n\r\n".to_vec(),
            Malformed::Pipelined => format!("GET /health HTTP/1.1\r\n{HOST}\r\n")
                .repeat(64)
                .into_bytes(),
            Malformed::StreamThenGarbage => {
                let mut out = format!("GET /stream.mjpg HTTP/1.1\r\n{HOST}\r\n").into_bytes();
                out.extend_from_slice(&[0xFF; 256]);
                out.extend_from_slice(b"\r\n\r\nGET /health HTTP/1.1\r\n\r\n");
                out
            }
            Malformed::AbsurdLength => {
                format!("GET / HTTP/1.1\r\n{HOST}Content-Length: 9223372036854775807\r\n\r\nx")
                    .into_bytes()
            }
            Malformed::BadChunked => {
                format!("POST / HTTP/1.1\r\n{HOST}Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n")
                    .into_bytes()
            }
            Malformed::ControlCharacters => {
                b"GET / HTTP/1.1\r\nHost: a\x01b\rX-Bad: \x00\x7f\r\n\r\n".to_vec()
            }
        }
    }
}

/// A small deterministic generator for the random heads (no dependency, reproducible runs).
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// `count` bad requests, each on its own connection, `concurrency` at a time, the kinds of
/// [`Malformed`] in turn, from the sources in turn. Each reads the answer's status (or sees the
/// connection closed), then closes.
pub async fn malformed(
    target: &AttackTarget,
    count: u64,
    concurrency: usize,
    seed: u64,
) -> DrillReport {
    let started = Instant::now();
    let per_task = count.div_ceil(concurrency.max(1) as u64);
    let mut tasks = JoinSet::new();
    for t in 0..concurrency as u64 {
        let target = target.clone();
        tasks.spawn(async move {
            let mut report = DrillReport::default();
            for k in 0..per_task {
                let n = t * per_task + k;
                if n >= count {
                    break;
                }
                let kind = Malformed::ALL[(n % Malformed::ALL.len() as u64) as usize];
                one_request(&target, n as usize, &kind.bytes(seed, n), &mut report).await;
            }
            report
        });
    }
    join(tasks, started).await
}

/// `count` logins as `user` with wrong passwords (all different), from the first source only,
/// `concurrency` at a time, each on a new connection; the answers are 401 until the address is
/// throttled, then 429.
pub async fn wrong_passwords(
    target: &AttackTarget,
    user: &str,
    count: u64,
    concurrency: usize,
) -> DrillReport {
    let started = Instant::now();
    let one = AttackTarget {
        addr: target.addr,
        sources: vec![target.sources[0]],
    };
    let per_task = count.div_ceil(concurrency.max(1) as u64);
    let mut tasks = JoinSet::new();
    for t in 0..concurrency as u64 {
        let (target, user) = (one.clone(), user.to_string());
        tasks.spawn(async move {
            let mut report = DrillReport::default();
            for k in 0..per_task {
                let n = t * per_task + k;
                if n >= count {
                    break;
                }
                let login =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:guess-{n}"));
                let request = format!(
                    "GET /api/state HTTP/1.1\r\nHost: streamserver\r\nAuthorization: Basic \
                     {login}\r\nConnection: close\r\n\r\n"
                );
                one_request(&target, 0, request.as_bytes(), &mut report).await;
            }
            report
        });
    }
    join(tasks, started).await
}

/// Connects from the `i`-th source, sends `bytes`, reads the status (or the close).
async fn one_request(target: &AttackTarget, i: usize, bytes: &[u8], report: &mut DrillReport) {
    let Ok(mut stream) = connect_from(target.source(i), target.addr).await else {
        report.connect_errors += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
        return;
    };
    report.connections += 1;
    // The server may answer (431, 400) and close before a long head is written: that is fine.
    if let Ok(Ok(())) = tokio::time::timeout(IO_TIMEOUT, stream.write_all(bytes)).await {
        report.requests += 1;
    }
    report.answered(read_status(&mut stream, 64 * 1024).await);
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
}
