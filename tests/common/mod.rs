//! Shared helpers of the integration tests.
//!
//! - Start the real server in this process from a [`Config`] built in code ([`start`], [`stop`]),
//!   always on `127.0.0.1:0` with small frames and short timeouts.
//! - Run the real binary ([`ServerProcess`]) on a free loopback port in a temporary directory.
//! - [`client`] and [`mjpeg`]: a small HTTP/1 client and multipart reader over a raw tokio
//!   `TcpStream`, written apart from the server's code so the tests judge the wire format
//!   independently.
//!
//! Every wait here is bounded in time.

#![allow(dead_code)] // each test binary uses a different subset

pub mod client;
pub mod mjpeg;
pub mod sources;
pub mod upstream;
pub mod users;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use streamserver::app::{self, Running};
use streamserver::config::{Config, SourceConfig, StreamConfig, StreamId, TestPatternConfig};
use streamserver::shutdown::Shutdown;

/// A default config for in-process tests: loopback, one `main` test-pattern stream `w`×`h` at
/// `fps`, short timeouts.
pub fn config(width: usize, height: usize, fps: u32) -> Config {
    let mut c = Config::default();
    c.server.listen = "127.0.0.1:0".parse().unwrap();
    c.server.shutdown_timeout = Duration::from_secs(2);
    c.server.header_timeout = Duration::from_secs(2);
    c.server.snapshot_timeout = Duration::from_secs(3);
    c.streams = vec![test_stream("main", width, height, fps)];
    c
}

/// A test-pattern stream.
pub fn test_stream(id: &str, width: usize, height: usize, fps: u32) -> StreamConfig {
    let mut s = StreamConfig::test_pattern();
    s.id = StreamId(id.into());
    s.source = SourceConfig::Test(TestPatternConfig {
        width,
        height,
        fps,
        ..TestPatternConfig::default()
    });
    s
}

/// Starts the real server in this process.
pub async fn start(config: Config) -> Running {
    app::start(config, Shutdown::new())
        .await
        .expect("the server starts")
}

/// Triggers a graceful shutdown and waits (bounded) for everything to stop.
pub async fn stop(running: Running) {
    running.shutdown.trigger();
    let deadline = running.state.config.shutdown_timeout * 2 + Duration::from_secs(5);
    tokio::time::timeout(deadline, running.wait())
        .await
        .expect("the server stops within its deadline")
        .expect("the server stops cleanly");
}

/// The resident set size of this process in bytes (`VmRSS` of `/proc/self/status`).
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kb * 1024
}

/// Decodes a JPEG with libjpeg-turbo and returns its size; panics if it does not decode.
pub fn decode_jpeg(jpeg: &[u8]) -> (usize, usize) {
    let img = turbojpeg::decompress(jpeg, turbojpeg::PixelFormat::RGB)
        .unwrap_or_else(|e| panic!("JPEG of {} bytes does not decode: {e}", jpeg.len()));
    (img.width, img.height)
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A loopback port that is free now and that nothing else on this machine is likely to take
/// before the server binds it.
///
/// A port read from a `:0` bind comes from the kernel's ephemeral range (32768–60999 by
/// default), where every outgoing connection and every other test's `:0` server draws its ports
/// too: one of them could take it in the moment before our server binds, and the test would
/// then talk to a stranger. So the port is picked below that range instead, from an offset that
/// differs per process and per call, and checked free by binding it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000; // 20000..32000, below the default ephemeral range
    let base = std::process::id().wrapping_mul(7919);
    for _ in 0..COUNT {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + base.wrapping_add(n.wrapping_mul(13)) % COUNT) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {FIRST}..{}", FIRST + COUNT);
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "streamserver-it-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `name` in the directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `streamserver` binary cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_streamserver")
}

/// The real binary serving on a free loopback port; killed on drop if still running.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    pub stderr_path: PathBuf,
}

impl ServerProcess {
    /// Runs `streamserver <args> --listen 127.0.0.1:<free port>` in `dir` and waits until the
    /// port accepts connections (at most 10 s). Stderr goes to `dir/stderr.txt`.
    pub fn spawn(dir: &Path, args: &[&str]) -> Self {
        Self::spawn_with_env(dir, args, &[])
    }

    /// [`spawn`](Self::spawn) with extra environment variables.
    pub fn spawn_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let stderr_path = dir.join("stderr.txt");
        let child = Command::new(bin())
            .args(args)
            .args(["--listen", &addr.to_string()])
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .expect("the streamserver binary runs");
        let mut p = ServerProcess {
            child,
            addr,
            stderr_path,
        };
        let t0 = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            if let Some(status) = p.child.try_wait().unwrap() {
                panic!("streamserver exited early ({status}): {}", p.stderr());
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "streamserver did not listen on {addr} within 10 s: {}",
                p.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        p
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the process.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        wait_child(&mut self.child, limit)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `child` until it exits or `limit` passes.
pub fn wait_child(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if t0.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
