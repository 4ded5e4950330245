//! The attack drills of `streamserver-bench attack`, CI-sized (bounded counts, a few seconds
//! each) against the real server on 127.0.0.1, from other loopback addresses
//! (127.0.0.2, …): slowloris, connection flood, malformed requests, wrong passwords, one
//! address opening streams until refused. Asserted are the qualitative properties — the
//! healthy client on 127.0.0.1 keeps streaming through every drill, a new viewer who logs in
//! during each drill is served, the server still answers, and afterwards its descriptors are
//! back where they started — not figures (those are the benchmark's, in BENCHMARKS.md).
//!
//! One test in this binary: it counts the open descriptors of the whole process.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::client::get;
use common::mjpeg::MjpegClient;
use common::users::{basic, cheap_hash, parse_users, TOKEN};
use common::{config, start, stop};
use streamserver::probe::attack::{self, AttackTarget, DrillReport};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Reads the stream on its own task, noting when each part arrived, until stopped.
struct Healthy {
    arrivals: Arc<Mutex<Vec<Instant>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Healthy {
    async fn start(addr: std::net::SocketAddr) -> Healthy {
        let mut client = MjpegClient::open(addr, "/stream.mjpg", false).await;
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (arrivals.clone(), stop.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                match client.next_part().await {
                    Some(_) => a.lock().unwrap().push(Instant::now()),
                    None => return,
                }
            }
        });
        Healthy {
            arrivals,
            stop,
            task,
        }
    }

    /// Parts that arrived since `since`, and the longest gap between two of them.
    fn since(&self, since: Instant) -> (usize, Duration) {
        let a = self.arrivals.lock().unwrap();
        let recent: Vec<Instant> = a.iter().copied().filter(|t| *t >= since).collect();
        let gap = (recent.windows(2))
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(Duration::MAX);
        (recent.len(), gap)
    }
}

/// A viewer logging in (argon2 and all) while a drill runs: it must get a frame.
async fn new_viewer(addr: std::net::SocketAddr) -> Duration {
    let t0 = Instant::now();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut c = common::client::HttpConn::from_stream(stream);
    let login = basic("alice:alice-pw");
    c.send(format!("GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n{login}\r\n").as_bytes())
        .await;
    let head = c.read_head().await;
    assert_eq!(head.status, 200, "the new viewer is let in");
    let part = c.body_until(b"\xFF\xD9", 1 << 20).await;
    assert!(part.is_some(), "the new viewer got a frame");
    t0.elapsed()
}

/// Runs `drill` while the healthy client streams and a new viewer arrives halfway; checks
/// both, then waits (bounded) for the descriptors to come back to `baseline`.
async fn during<F: std::future::Future<Output = DrillReport>>(
    name: &str,
    addr: std::net::SocketAddr,
    healthy: &Healthy,
    baseline: usize,
    half: Duration,
    drill: F,
) -> DrillReport {
    let t0 = Instant::now();
    let viewer = async {
        tokio::time::sleep(half).await;
        new_viewer(addr).await
    };
    let (report, first_frame) = tokio::join!(drill, viewer);
    let (parts, gap) = healthy.since(t0);
    eprintln!(
        "{name}: {report:?}; healthy {parts} parts in {:?}, longest gap {gap:?}; new viewer's first frame after {first_frame:?}",
        t0.elapsed()
    );
    assert!(
        parts > 0 && gap < Duration::from_secs(2),
        "{name}: the healthy client stalled"
    );
    assert_eq!(
        get(addr, "/health").await.head.status,
        200,
        "{name}: server still answers"
    );
    let settle = Instant::now();
    while open_fds() > baseline {
        assert!(
            settle.elapsed() < Duration::from_secs(15),
            "{name}: {} descriptors open, {baseline} before",
            open_fds()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_shrugs_off_every_drill() {
    let mut c = config(160, 120, 30);
    c.server.max_clients = 40;
    c.server.max_connections_per_address = 8;
    c.server.max_pending_connections = 16;
    c.server.header_timeout = Duration::from_secs(2);
    let users = format!(
        "[[user]]\nname = \"anonymous\"\nallow = [\"127.0.0.1\"]\nview = true\nstatus = true\nhealth = true\n\
         [[user]]\nname = \"alice\"\npassword_hash = \"{}\"\nview = true\n\
         [[user]]\nname = \"robot\"\ntoken = \"{TOKEN}\"\nview = true\n",
        cheap_hash("alice-pw")
    );
    c.users = parse_users(&c, &users);
    let running = start(c).await;
    let addr = running.addr;
    let healthy = Healthy::start(addr).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The healthy client, its task and the server's listener are open now: the baseline.
    let baseline = open_fds();
    let target = AttackTarget::new(addr, AttackTarget::loopback_sources(2, 4)).unwrap();
    let half = Duration::from_millis(1500);

    let r = during(
        "slowloris",
        addr,
        &healthy,
        baseline,
        half,
        attack::slowloris(
            &target,
            100,
            Duration::from_secs(3),
            Duration::from_millis(200),
        ),
    )
    .await;
    assert!(r.connections >= 100, "{r:?}");

    let r = during(
        "flood",
        addr,
        &healthy,
        baseline,
        half,
        attack::flood(&target, Duration::from_secs(3), 16),
    )
    .await;
    assert!(r.connections > 100, "{r:?}");

    let r = during(
        "malformed",
        addr,
        &healthy,
        baseline,
        half,
        attack::malformed(&target, 600, 8, 1),
    )
    .await;
    assert_eq!(r.connections + r.connect_errors, 600, "{r:?}");
    assert!(
        r.count(400) + r.count(431) > 0,
        "bad requests get 4xx: {r:?}"
    );
    assert_eq!(
        r.count(200),
        0,
        "no bad request from an unknown address was served: {r:?}"
    );

    let r = during(
        "wrong passwords",
        addr,
        &healthy,
        baseline,
        half,
        attack::wrong_passwords(&target, "alice", 300, 4),
    )
    .await;
    assert!(r.count(429) > 250, "the guesser is throttled: {r:?}");
    assert_eq!(r.count(200), 0);

    let path = format!("/stream.mjpg?token={TOKEN}");
    let r = during(
        "one address until refused",
        addr,
        &healthy,
        baseline,
        half,
        attack::until_refused(&target, &path, 40, Duration::from_secs(2)),
    )
    .await;
    assert_eq!(
        r.accepted_before_refusal,
        Some(8),
        "max_connections_per_address: {r:?}"
    );

    healthy.stop.store(true, Ordering::Relaxed);
    healthy.task.abort();
    stop(running).await;
}
