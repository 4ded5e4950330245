//! Shutdown: open multipart streams end promptly (with the terminating chunk) when shutdown
//! starts, in process and in the real binary on SIGTERM (exit 0); a second signal during a
//! shutdown stuck on a stalled client exits at once.

mod common;

use std::time::{Duration, Instant};

use common::client::{BodyEnd, HttpConn};
use common::mjpeg::MjpegClient;
use common::{config, start, ServerProcess, TempDir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_ends_open_streams_within_the_deadline() {
    let running = start(config(160, 120, 30)).await;
    let deadline = running.state.config.shutdown_timeout;
    let mut clients = Vec::new();
    for path in ["/stream.mjpg", "/?action=stream", "/stream.mjpg?fps=2"] {
        let mut c = MjpegClient::open(running.addr, path, false).await;
        c.next_part().await.expect("a part");
        clients.push(c);
    }
    let t0 = Instant::now();
    running.shutdown.trigger();
    let ends = read_to_end(clients).await;
    let client_time = t0.elapsed();
    for end in ends {
        assert_eq!(
            end,
            Some(BodyEnd::Complete),
            "each stream ends with the terminating chunk"
        );
    }
    assert!(
        client_time < Duration::from_secs(1),
        "streams took {client_time:?} to end"
    );
    tokio::time::timeout(deadline + Duration::from_secs(1), running.wait())
        .await
        .expect("wait() returns within shutdown_timeout + 1 s")
        .expect("clean shutdown");
    assert!(t0.elapsed() < deadline + Duration::from_secs(1));
}

/// Reads every client to its end concurrently (bounded).
async fn read_to_end(clients: Vec<MjpegClient>) -> Vec<Option<BodyEnd>> {
    let mut set = tokio::task::JoinSet::new();
    let n = clients.len();
    for (i, mut c) in clients.into_iter().enumerate() {
        set.spawn(async move { (i, c.until_end(Duration::from_secs(3)).await) });
    }
    let mut out = vec![None; n];
    while let Some(res) = set.join_next().await {
        let (i, end) = res.unwrap();
        out[i] = end;
    }
    out
}

#[test]
fn binary_exits_0_on_sigterm_and_ends_the_stream() {
    let dir = TempDir::new("sigterm");
    let mut server = ServerProcess::spawn(dir.path(), &["--source", "test"]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = MjpegClient::open(server.addr, "/stream.mjpg", false).await;
        assert_eq!(c.head.status, 200);
        c.next_part().await.expect("a part");
        let t0 = Instant::now();
        server.signal(libc::SIGTERM);
        let end = c.until_end(Duration::from_secs(5)).await;
        assert_eq!(end, Some(BodyEnd::Complete), "the stream ends on SIGTERM");
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    });
    let status = server
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no exit within 5 s of SIGTERM: {}", server.stderr()));
    assert_eq!(
        status.code(),
        Some(0),
        "exit status; stderr: {}",
        server.stderr()
    );
    assert!(
        dir.path().join("logs").is_dir(),
        "the default log dir was created"
    );
}

/// A stream client that never reads, on a socket with tiny buffers at both ends: the server's
/// write of its first frame blocks, so graceful draining has to wait for the shutdown deadline
/// (the write timeout is longer).
fn stuck_stream(server: &ServerProcess, rt: &tokio::runtime::Runtime) -> HttpConn {
    rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(2048).unwrap();
        let stream = sock.connect(server.addr).await.unwrap();
        let mut c = HttpConn::from_stream(stream);
        c.send_get("/stream.mjpg", false).await;
        tokio::time::sleep(Duration::from_millis(1500)).await; // a frame is being written
        c
    })
}

const STUCK_CONFIG: &str = r#"[server]
shutdown_timeout = "3s"
write_timeout = "30s"
send_buffer_bytes = 4096

[logging]
console = false

[[stream]]
id = "main"
source = "test"

[stream.test]
width = 640
height = 480
"#;

#[test]
fn second_signal_exits_at_once_during_a_stuck_shutdown() {
    let dir = TempDir::new("sigterm2");
    let cfg = dir.write("config.toml", STUCK_CONFIG);
    let cfg = cfg.to_str().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // One signal: the blocked stream write holds the drain until the 3 s deadline.
    let mut server = ServerProcess::spawn(dir.path(), &["--config", cfg]);
    let stuck = stuck_stream(&server, &rt);
    let t0 = Instant::now();
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(10)).expect("exits");
    let graceful = t0.elapsed();
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    assert!(
        graceful >= Duration::from_millis(2500),
        "the pending request did not hold the drain ({graceful:?}); the next check would prove nothing"
    );
    drop(stuck);

    // Two signals: exit at once.
    let mut server = ServerProcess::spawn(dir.path(), &["--config", cfg]);
    let stuck = stuck_stream(&server, &rt);
    let t0 = Instant::now();
    server.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(100));
    server.signal(libc::SIGTERM);
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("exits after the second signal");
    let immediate = t0.elapsed();
    assert!(
        immediate < Duration::from_millis(1500),
        "second signal: exit took {immediate:?} (graceful took {graceful:?})"
    );
    assert!(status.code().is_some(), "exited, not killed: {status}");
    eprintln!("one signal: {graceful:?}; two signals: {immediate:?} ({status})");
    drop(stuck);
}
