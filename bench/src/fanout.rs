//! `streamserver-bench fanout`: the real release server binary as a child process on the test
//! pattern (640×480 @ 30 fps by default), loaded by `streamserver probe … --json` in separate
//! processes (so the clients' CPU is not counted), while the server's CPU time (utime + stime)
//! and RSS are read from `/proc`. Each scenario gets a fresh server: first an idle baseline with
//! no clients (the capture thread's own encoding cost), then the load. Rendering and the verdicts
//! on the targets are in [`super::fanout_report`].

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::proc::{cpu_time, ProcError, RssSummary, Sampler};
use streamserver::probe::ProbeReport;

const READY_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const RSS_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    #[error("server binary {0} not found: build it first (cargo build --release --bins)")]
    NoServer(PathBuf),
    #[error("cannot {what}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("the server did not accept connections on {0} within {READY_TIMEOUT:?} (log in {1})")]
    NotReady(SocketAddr, PathBuf),
    #[error("probe failed ({status}): {stderr}")]
    Probe { status: String, stderr: String },
    #[error("probe printed no valid JSON report")]
    ProbeJson(#[source] serde_json::Error),
    #[error(transparent)]
    Proc(#[from] ProcError),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> FanoutError {
    let what = what.into();
    move |source| FanoutError::Io { what, source }
}

/// One load: fast readers, slow readers (`slow_fps` frames/s each), stalled connections.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub clients: usize,
    pub slow: usize,
    pub slow_fps: f64,
    pub stalled: usize,
    pub duration: Duration,
}

impl Scenario {
    pub fn new(name: impl Into<String>, clients: usize, duration: Duration) -> Self {
        Self {
            name: name.into(),
            clients,
            slow: 0,
            slow_fps: 1.0,
            stalled: 0,
            duration,
        }
    }

    /// The scenarios: 1/100/200 clients, 500 with 100 never reading, 200 with 50 at
    /// 1 fps, and a long run of the 500 for memory flatness.
    pub fn suite(duration: Duration, long: Duration) -> Vec<Scenario> {
        let stalled = |name: &str, d| Scenario {
            stalled: 100,
            ..Scenario::new(name, 400, d)
        };
        vec![
            Scenario::new("1 client", 1, duration),
            Scenario::new("100 clients", 100, duration),
            Scenario::new("200 clients", 200, duration),
            stalled("500 clients, 100 never reading", duration),
            Scenario {
                slow: 50,
                ..Scenario::new("200 clients, 50 reading 1 fps", 150, duration)
            },
            stalled("500 clients, 100 never reading, long run", long),
        ]
    }
}

/// Server and stream settings shared by the scenarios.
#[derive(Debug, Clone)]
pub struct FanoutOptions {
    /// The `streamserver` binary.
    pub server: PathBuf,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Idle measurement before the clients start.
    pub idle: Duration,
}

/// What one scenario measured.
#[derive(Debug, Clone)]
pub struct FanoutResult {
    pub scenario: Scenario,
    /// Server CPU per second with no clients (capture + encode).
    pub idle_cpu_per_s: Duration,
    /// Server CPU during the load run.
    pub cpu: Duration,
    /// Wall time of the load run (probe processes' lifetime).
    pub elapsed: Duration,
    pub rss: RssSummary,
    pub fast: ProbeReport,
    pub slow: Option<ProbeReport>,
}

impl FanoutResult {
    pub fn frames(&self) -> u64 {
        self.fast.frames + self.slow.as_ref().map_or(0, |s| s.frames)
    }
    /// Server CPU µs per delivered frame, all of it.
    pub fn cpu_us_per_frame(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.frames().max(1) as f64
    }
    /// Server CPU µs per delivered frame above the idle baseline (the fan-out's own cost).
    pub fn cpu_us_per_frame_above_idle(&self) -> f64 {
        let idle = self.idle_cpu_per_s.as_secs_f64() * self.elapsed.as_secs_f64();
        (self.cpu.as_secs_f64() - idle).max(0.0) * 1e6 / self.frames().max(1) as f64
    }
}

/// Runs one scenario against a fresh server; progress goes to stderr.
pub fn run(opts: &FanoutOptions, sc: &Scenario) -> Result<FanoutResult, FanoutError> {
    if !opts.server.is_file() {
        return Err(FanoutError::NoServer(opts.server.clone()));
    }
    let dir = std::env::temp_dir().join(format!(
        "streamserver-bench-fanout-{}-{}",
        std::process::id(),
        sc.name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ));
    std::fs::create_dir_all(&dir).map_err(io(format!("create {}", dir.display())))?;
    let mut server = Server::start(opts, &dir)?;
    let result = measure(opts, sc, &server);
    server.stop();
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn measure(
    opts: &FanoutOptions,
    sc: &Scenario,
    server: &Server,
) -> Result<FanoutResult, FanoutError> {
    let pid = server.child.id();
    eprintln!("fanout {}: idle baseline {:?}…", sc.name, opts.idle);
    let (c0, t0) = (cpu_time(pid)?, Instant::now());
    std::thread::sleep(opts.idle);
    let idle_cpu_per_s = (cpu_time(pid)? - c0).div_f64(t0.elapsed().as_secs_f64());

    eprintln!("fanout {}: {:?} of load…", sc.name, sc.duration);
    let url = format!("http://{}/stream.mjpg", server.addr);
    let sampler = Sampler::start(pid, RSS_INTERVAL);
    let (c1, t1) = (cpu_time(pid)?, Instant::now());
    let fast = spawn_probe(
        &opts.server,
        &url,
        sc.clients,
        None,
        sc.stalled,
        sc.duration,
    )?;
    let slow = match sc.slow {
        0 => None,
        n => Some(spawn_probe(
            &opts.server,
            &url,
            n,
            Some(sc.slow_fps),
            0,
            sc.duration,
        )?),
    };
    let fast = wait_probe(fast);
    let slow = slow.map(wait_probe).transpose();
    let (cpu, elapsed) = (cpu_time(pid)? - c1, t1.elapsed());
    let rss = sampler.finish();
    Ok(FanoutResult {
        scenario: sc.clone(),
        idle_cpu_per_s,
        cpu,
        elapsed,
        rss,
        fast: fast?,
        slow: slow?,
    })
}

fn spawn_probe(
    server_bin: &Path,
    url: &str,
    clients: usize,
    read_fps: Option<f64>,
    stalled: usize,
    duration: Duration,
) -> Result<Child, FanoutError> {
    let mut cmd = Command::new(server_bin);
    cmd.args(["probe", url, "--json", "--clients", &clients.to_string()]);
    cmd.args(["--duration", &duration.as_secs_f64().to_string()]);
    if let Some(fps) = read_fps {
        cmd.args(["--read-fps", &fps.to_string()]);
    }
    if stalled > 0 {
        cmd.args(["--stalled", &stalled.to_string()]);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().map_err(io("start the probe"))
}

/// Waits for a probe and parses its report (its exit status is 1 when some client got no
/// frame — e.g. a stalled server — which is a figure, not a benchmark failure).
fn wait_probe(child: Child) -> Result<ProbeReport, FanoutError> {
    let out = child.wait_with_output().map_err(io("wait for the probe"))?;
    serde_json::from_slice(&out.stdout).map_err(|err| {
        if out.stdout.is_empty() {
            FanoutError::Probe {
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        } else {
            FanoutError::ProbeJson(err)
        }
    })
}

/// The server child process; stopped with SIGTERM (then SIGKILL) by [`Server::stop`] or drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    stopped: bool,
}

impl Server {
    fn start(opts: &FanoutOptions, dir: &Path) -> Result<Self, FanoutError> {
        let addr = free_port()?;
        let config = dir.join("config.toml");
        let log = dir.join("server.log");
        let text = format!(
            "[server]\nlisten = \"{addr}\"\nmax_clients = 2000\n\n\
             [logging]\ndir = {logs:?}\nlevel = \"warn\"\nconsole = true\n\n\
             [[stream]]\nid = \"main\"\nsource = \"test\"\n\n\
             [stream.test]\nwidth = {}\nheight = {}\nfps = {}\n",
            opts.width,
            opts.height,
            opts.fps,
            logs = dir.join("logs").display().to_string(),
        );
        std::fs::File::create(&config)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(io(format!("write {}", config.display())))?;
        let log_file = std::fs::File::create(&log).map_err(io("create the server log"))?;
        let child = Command::new(&opts.server)
            .arg("--config")
            .arg(&config)
            .args(["--source", "test", "--listen", &addr.to_string()])
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(io(format!("start {}", opts.server.display())))?;
        let mut server = Self {
            child,
            addr,
            stopped: false,
        };
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if start.elapsed() > READY_TIMEOUT || server.child.try_wait().ok().flatten().is_some() {
                server.stop();
                return Err(FanoutError::NotReady(addr, log));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Let the source publish its first frames and the allocator settle.
        std::thread::sleep(Duration::from_secs(1));
        Ok(server)
    }

    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> Result<SocketAddr, FanoutError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io("bind a loopback port"))?;
    listener.local_addr().map_err(io("read the port"))
}
