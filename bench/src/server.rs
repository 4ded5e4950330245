//! The servers a fan-out run measures, as child processes on a loopback port, and the load
//! client that measures them.
//!
//! A [`Target`] is the floor server, our release `streamserver` with one `folder` stream on the
//! watched folder (built-in defaults otherwise; `max_clients`, `max_connections_per_address` and
//! `max_pending_connections` 2000, since every probe client comes from 127.0.0.1), or a variant
//! of ours for an A/B comparison: extra environment, extra `[server]` / `[logging]` lines,
//! another build.
//! [`Server`] starts one and stops it with SIGTERM (then SIGKILL). The load is
//! `streamserver probe … --json` in child processes ([`spawn_probe`]), so the clients' CPU is
//! not the server's.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use streamserver::probe::ProbeReport;

const READY_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("server binary {0} not found: build it first (cargo build --release --workspace)")]
    NoBinary(PathBuf),
    #[error("cannot {what}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{name} did not accept connections on {addr} within {READY_TIMEOUT:?} (log: {log})")]
    NotReady {
        name: String,
        addr: SocketAddr,
        log: PathBuf,
    },
    #[error("probe failed ({status}): {stderr}")]
    Probe { status: String, stderr: String },
    #[error("probe printed no valid JSON report")]
    ProbeJson(#[source] serde_json::Error),
    #[error("bad target {0:?}: use ours, floor or NAME:env=K=V;server=LINE;log=LINE;bin=PATH")]
    BadTarget(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServerError {
    let what = what.into();
    move |source| ServerError::Io { what, source }
}

/// Which server a run measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub floor: bool,
    /// Environment for our server (e.g. `TOKIO_WORKER_THREADS=1`).
    pub env: Vec<(String, String)>,
    /// Extra lines for our `[server]` table.
    pub server_toml: String,
    /// Extra lines for our `[logging]` table.
    pub logging_toml: String,
    /// Another build of our server; default: the one next to the bench binary.
    pub bin: Option<PathBuf>,
}

impl Target {
    pub fn ours() -> Self {
        Self {
            name: "streamserver".into(),
            floor: false,
            env: Vec::new(),
            server_toml: String::new(),
            logging_toml: String::new(),
            bin: None,
        }
    }

    pub fn floor() -> Self {
        Self {
            name: "floor".into(),
            floor: true,
            ..Self::ours()
        }
    }

    /// `ours`, `floor`, or a variant of ours `NAME:KEY=VALUE;…` with keys `env` (`env=K=V`),
    /// `server` and `log` (a TOML line for that table) and `bin` (a server binary).
    pub fn parse(s: &str) -> Result<Self, ServerError> {
        match s {
            "ours" => return Ok(Self::ours()),
            "floor" => return Ok(Self::floor()),
            _ => {}
        }
        let bad = || ServerError::BadTarget(s.into());
        let (name, settings) = s.split_once(':').ok_or_else(bad)?;
        if name.is_empty() || name == "floor" {
            return Err(bad());
        }
        let mut t = Self {
            name: name.into(),
            ..Self::ours()
        };
        for kv in settings.split(';').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').ok_or_else(bad)?;
            match k {
                "env" => {
                    let (ek, ev) = v.split_once('=').ok_or_else(bad)?;
                    t.env.push((ek.into(), ev.into()));
                }
                "server" => t.server_toml += &format!("{v}\n"),
                "log" => t.logging_toml += &format!("{v}\n"),
                "bin" => t.bin = Some(v.into()),
                _ => return Err(bad()),
            }
        }
        Ok(t)
    }
}

/// The binaries and wrappers the runs use.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// Our `streamserver` (also the load client, `streamserver probe`).
    pub streamserver: PathBuf,
    /// The built floor server.
    pub floor: PathBuf,
    /// A command our server runs under (valgrind …); CPU figures then include it.
    pub wrap: Vec<String>,
}

/// A server child process on a loopback port; stopped by [`Server::stop`] or on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    stopped: bool,
}

impl Server {
    /// Starts `target` serving `watch/frame.jpg`; `base` holds its config and log. Returns once
    /// it accepts connections.
    pub fn start(
        bins: &Binaries,
        target: &Target,
        base: &Path,
        watch: &Path,
    ) -> Result<Self, ServerError> {
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(io("find a free loopback port"))?;
        let log = base.join("server.log");
        let log_file = std::fs::File::create(&log).map_err(io("create the server log"))?;
        let mut cmd = if target.floor {
            let mut c = Command::new(&bins.floor);
            c.arg(watch).arg(addr.port().to_string());
            c
        } else {
            let bin = target.bin.as_ref().unwrap_or(&bins.streamserver);
            if !bin.is_file() {
                return Err(ServerError::NoBinary(bin.clone()));
            }
            let config = base.join("config.toml");
            let text = format!(
                "[server]\nlisten = \"{addr}\"\nmax_clients = 2000\n\
                 max_connections_per_address = 2000\nmax_pending_connections = 2000\n{}\n\
                 [logging]\ndir = {:?}\n{}\n\
                 [[stream]]\nid = \"main\"\nsource = \"folder\"\n\n\
                 [stream.folder]\npath = {:?}\n",
                target.server_toml,
                base.join("logs").display().to_string(),
                target.logging_toml,
                watch.display().to_string(),
            );
            std::fs::write(&config, text).map_err(io("write the server config"))?;
            let mut c = match bins.wrap.split_first() {
                Some((first, rest)) => {
                    let mut c = Command::new(first);
                    c.args(rest).arg(bin);
                    c
                }
                None => Command::new(bin),
            };
            c.arg("--config").arg(config);
            c.envs(target.env.iter().map(|(k, v)| (k, v)));
            c
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(io(format!("start {}", target.name)))?;
        let mut server = Self {
            child,
            addr,
            stopped: false,
        };
        let wait = READY_TIMEOUT * if bins.wrap.is_empty() { 1 } else { 6 };
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if start.elapsed() > wait || server.child.try_wait().ok().flatten().is_some() {
                server.stop();
                return Err(ServerError::NotReady {
                    name: target.name.clone(),
                    addr,
                    log,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        terminate(&mut self.child);
    }
}

/// SIGTERM to a server this bench started, then SIGKILL if it has not exited within
/// [`STOP_TIMEOUT`]; reaped either way.
pub fn terminate(child: &mut Child) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let start = Instant::now();
    while start.elapsed() < STOP_TIMEOUT {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `streamserver probe URL --json` with `clients` readers for `window` (slow ones with
/// `read_fps`), plus `stalled` connections that never read.
pub fn spawn_probe(
    streamserver: &Path,
    url: &str,
    clients: usize,
    read_fps: Option<f64>,
    stalled: usize,
    window: Duration,
) -> Result<Child, ServerError> {
    let mut cmd = Command::new(streamserver);
    cmd.args(["probe", url, "--json", "--clients", &clients.to_string()]);
    cmd.args(["--duration", &window.as_secs_f64().to_string()]);
    if let Some(fps) = read_fps {
        cmd.args(["--read-fps", &fps.to_string()]);
    }
    if stalled > 0 {
        cmd.args(["--stalled", &stalled.to_string()]);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().map_err(io("start the probe"))
}

/// Waits for a probe and parses its report (its exit status is 1 when some client got no frame,
/// which is a figure, not a benchmark failure).
pub fn wait_probe(child: Child) -> Result<ProbeReport, ServerError> {
    let out = child.wait_with_output().map_err(io("wait for the probe"))?;
    serde_json::from_slice(&out.stdout).map_err(|err| {
        if out.stdout.is_empty() {
            ServerError::Probe {
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        } else {
            ServerError::ProbeJson(err)
        }
    })
}

#[cfg(test)]
mod tests;
