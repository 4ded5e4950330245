//! `streamserver-bench attack`: the attack drills against the release server binary (a child
//! process on 127.0.0.1, test pattern 640×480 at 30 fps, default limits, one `[[user]]` with a
//! real argon2id hash, a token user, and an anonymous entry for 127.0.0.1).
//!
//! A healthy viewer streams from 127.0.0.1 the whole time, on a thread of its own; new viewers
//! have theirs; the attack's threads run at [`AttackOptions::attacker_nice`], the server and
//! the viewers at [`AttackOptions::server_nice`]. Each drill
//! ([`streamserver::probe::attack`], from other loopback addresses) gets a quiet window before
//! it, and a new viewer who logs in with Basic auth (argon2 and all) in its middle; afterwards
//! the server's descriptors must come back (waited for, at most [`SETTLE_LIMIT`]), then its RSS
//! is read 5 s later (the server trims its heap a second or two after a burst). The
//! server's RSS and descriptors are sampled from `/proc` every 100 ms. Rendering and the
//! verdicts on the targets are in [`super::attack_report`].

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use streamserver::probe::attack::{self, AttackTarget, DrillReport};

use crate::attack_watch::{set_priority, Healthy, NewViewers, Sampler, Window};

/// How long the descriptors get to come back after a drill.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(20);
const PASSWORD: &str = "correct-horse-battery";

/// The drills, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drill {
    Slowloris,
    Flood,
    Malformed,
    Passwords,
    UntilRefused,
}

impl Drill {
    pub const ALL: [Drill; 5] = [
        Drill::Slowloris,
        Drill::Flood,
        Drill::Malformed,
        Drill::Passwords,
        Drill::UntilRefused,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Drill::Slowloris => "slowloris",
            Drill::Flood => "connection flood",
            Drill::Malformed => "malformed requests",
            Drill::Passwords => "wrong passwords",
            Drill::UntilRefused => "one address until refused",
        }
    }

    /// The drill `--drills` names `name` (its short name).
    pub fn parse(name: &str) -> anyhow::Result<Drill> {
        Ok(match name {
            "slowloris" => Drill::Slowloris,
            "flood" => Drill::Flood,
            "malformed" => Drill::Malformed,
            "passwords" => Drill::Passwords,
            "refused" => Drill::UntilRefused,
            other => anyhow::bail!(
                "unknown drill {other:?}: slowloris, flood, malformed, passwords, refused"
            ),
        })
    }
}

/// Sizes of the drills (the by default; `--quick` divides them by 10).
#[derive(Debug, Clone)]
pub struct AttackOptions {
    pub server: PathBuf,
    pub slowloris_connections: usize,
    pub drill_time: Duration,
    pub requests: u64,
    /// The quiet window before each drill.
    pub before: Duration,
    /// Nice value of the attack's threads. On a LAN the attacker's CPU is its own; here it
    /// shares the cores, and at equal priority its own work (and the kernel's loopback work
    /// it causes) would be counted against the server.
    pub attacker_nice: i32,
    /// Nice value of the server and the viewers' threads: the machine is shared with other
    /// builds, which must not pass for the attack's effect (needs root; else it stays 0).
    pub server_nice: i32,
}

/// What one drill measured.
#[derive(Debug)]
pub struct DrillResult {
    pub drill: Drill,
    /// The attack in words.
    pub what: String,
    pub report: DrillReport,
    pub before: Window,
    pub during: Window,
    /// The new viewer's time to its first frame, or why it got none.
    pub new_viewer: Result<Duration, String>,
    /// When (ms into the drill) the new viewer started, and how long the drill ran.
    pub viewer_at_ms: u64,
    pub drill_ms: u64,
    pub rss: [u64; 3],
    pub fds: [usize; 3],
    /// The server process and the healthy viewer were still there afterwards.
    pub survived: bool,
}

/// Runs the drills against a fresh server; progress on stderr.
pub fn run(opts: &AttackOptions, drills: &[Drill]) -> anyhow::Result<Vec<DrillResult>> {
    anyhow::ensure!(
        opts.server.is_file(),
        "server binary {} not found: build it first (cargo build --release --workspace)",
        opts.server.display()
    );
    let dir =
        std::env::temp_dir().join(format!("streamserver-bench-attack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let token = streamserver::auth::token::generate_token()?;
    let mut server = Server::start(&opts.server, &dir, &token, opts.server_nice)?;
    let healthy = Healthy::start(
        &format!("http://{}/stream.mjpg", server.addr),
        opts.server_nice,
    )?;
    let viewers = NewViewers::start(opts.server_nice)?;
    let nice = opts.attacker_nice;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(move || {
            set_priority(nice);
        })
        .enable_all()
        .build()?;
    let results = runtime.block_on(drive(opts, drills, &server, &token, &healthy, &viewers));
    healthy.stop();
    let crashed = server.child.try_wait()?.map(|s| s.to_string());
    server.stop();
    if results.is_ok() && crashed.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if let Some(status) = crashed {
        anyhow::bail!(
            "the server exited during the drills ({status}); log in {}",
            dir.display()
        );
    }
    results
}

async fn drive(
    opts: &AttackOptions,
    drills: &[Drill],
    server: &Server,
    token: &str,
    healthy: &Healthy,
    viewers: &NewViewers,
) -> anyhow::Result<Vec<DrillResult>> {
    let addr = server.addr;
    let sampler = Sampler::start(server.child.id());
    // One login before the drills: what the first argon2 verification allocates once (a
    // blocking thread and its allocator arena) belongs to the baseline, not to a drill.
    (viewers.first_frame(&format!("http://alice:{PASSWORD}@{addr}/stream.mjpg")))
        .await
        .map_err(|e| anyhow::anyhow!("the warm-up login failed: {e}"))?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut results = Vec::new();
    for &drill in drills {
        eprintln!("attack: {} …", drill.name());
        let r = one(opts, drill, addr, token, healthy, viewers, &sampler).await?;
        eprintln!(
            "attack: {}: healthy {:.1} → {:.1} fps, new viewer {:?}, fds {:?}, RSS {:?}",
            drill.name(),
            r.before.fps,
            r.during.fps,
            r.new_viewer,
            r.fds,
            r.rss
        );
        results.push(r);
    }
    Ok(results)
}

async fn one(
    opts: &AttackOptions,
    drill: Drill,
    addr: SocketAddr,
    token: &str,
    healthy: &Healthy,
    viewers: &NewViewers,
    sampler: &Sampler,
) -> anyhow::Result<DrillResult> {
    let quiet = Instant::now();
    tokio::time::sleep(opts.before).await;
    let start = Instant::now();
    let (rss_start, fds_start) = sampler.now();
    let t = opts.drill_time;
    let from = |first: u8, n: u8| AttackTarget::new(addr, AttackTarget::loopback_sources(first, n));
    let (what, viewer_after) = describe(opts, drill);
    let attack = async {
        Ok::<_, anyhow::Error>(match drill {
            Drill::Slowloris => {
                attack::slowloris(
                    &from(2, 20)?,
                    opts.slowloris_connections,
                    t,
                    Duration::from_secs(1),
                )
                .await
            }
            Drill::Flood => attack::flood(&from(30, 50)?, t, 64).await,
            Drill::Malformed => attack::malformed(&from(2, 20)?, opts.requests, 32, 42).await,
            Drill::Passwords => {
                attack::wrong_passwords(&from(100, 1)?, "alice", opts.requests, 16).await
            }
            Drill::UntilRefused => {
                let path = format!("/stream.mjpg?token={token}");
                attack::until_refused(&from(101, 1)?, &path, 1000, Duration::from_secs(5)).await
            }
        })
    };
    let viewer_url = format!("http://alice:{PASSWORD}@{addr}/stream.mjpg");
    let viewer = async {
        tokio::time::sleep(viewer_after).await;
        viewers.first_frame(&viewer_url).await
    };
    let (report, new_viewer) = tokio::join!(attack, viewer);
    let report = report?;
    let end = Instant::now();
    // At least two seconds of "during", for a drill that was over sooner.
    let during_end = end.max(start + Duration::from_secs(2));
    tokio::time::sleep_until(during_end.into()).await;
    let settle = Instant::now();
    while sampler.now().1 > fds_start && settle.elapsed() < SETTLE_LIMIT {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The server gives memory back once a burst has been over for a second (http::memory).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss_after, fds_after) = sampler.now();
    let (rss_peak, fds_peak) = sampler.peak(start, Instant::now());
    Ok(DrillResult {
        drill,
        what,
        report,
        before: healthy.window(quiet, start),
        during: healthy.window(start, during_end),
        new_viewer,
        viewer_at_ms: viewer_after.as_millis() as u64,
        drill_ms: (end - start).as_millis() as u64,
        rss: [rss_start, rss_peak, rss_after],
        fds: [fds_start, fds_peak, fds_after],
        survived: healthy.alive() && sampler.now().0 > 0,
    })
}

/// The attack in words, and when the new viewer comes (the middle of a timed drill; early in a
/// counted one, which may be over within a second).
fn describe(opts: &AttackOptions, drill: Drill) -> (String, Duration) {
    let secs = opts.drill_time.as_secs();
    let n = opts.requests;
    match drill {
        Drill::Slowloris => (
            format!("{} connections sending their head 1 byte/s, {secs} s, from 20 addresses", opts.slowloris_connections),
            opts.drill_time / 2,
        ),
        Drill::Flood => (
            format!("connect + reset as fast as loopback allows, 64 at a time, {secs} s, from 50 addresses"),
            opts.drill_time / 2,
        ),
        Drill::Malformed => (
            format!("{n} bad requests (12 kinds), 32 at a time, from 20 addresses"),
            Duration::from_millis(200),
        ),
        Drill::Passwords => (
            format!("{n} wrong passwords for one user from one address, 16 at a time"),
            Duration::from_millis(200),
        ),
        Drill::UntilRefused => (
            "one address opens streams (token) until refused, holds them 5 s".into(),
            Duration::from_millis(2500),
        ),
    }
}

/// The release server as a child process; SIGTERM on [`Server::stop`] or drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(bin: &Path, dir: &Path, token: &str, nice: i32) -> anyhow::Result<Server> {
        let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let hash = streamserver::auth::password::hash_password(PASSWORD)?;
        let config = dir.join("config.toml");
        let text = format!(
            "[server]\nlisten = \"{addr}\"\n\n[logging]\ndir = {logs:?}\nlevel = \"info\"\nconsole = false\n\n\
             [[stream]]\nid = \"main\"\nsource = \"test\"\n[stream.test]\nwidth = 640\nheight = 480\nfps = 30\n\n\
             [[user]]\nname = \"anonymous\"\nallow = [\"127.0.0.1\"]\nview = true\nstatus = true\n\n\
             [[user]]\nname = \"alice\"\npassword_hash = \"{hash}\"\nview = true\nstatus = true\n\n\
             [[user]]\nname = \"robot\"\ntoken = \"{token}\"\nview = true\n",
            logs = dir.join("logs").display().to_string(),
        );
        std::fs::File::create(&config)?.write_all(text.as_bytes())?;
        let mut command = Command::new(bin);
        if nice != 0 {
            use std::os::unix::process::CommandExt;
            // SAFETY: setpriority only, between fork and exec; a refusal (not root) is ignored.
            unsafe {
                command.pre_exec(move || {
                    libc::setpriority(libc::PRIO_PROCESS, 0, nice);
                    Ok(())
                });
            }
        }
        let child = command
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.txt"))?)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let mut server = Server { child, addr };
        let t0 = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if t0.elapsed() > Duration::from_secs(10) || server.child.try_wait()?.is_some() {
                server.stop();
                anyhow::bail!("the server did not listen on {addr}; see {}", dir.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    fn stop(&mut self) {
        crate::server::terminate(&mut self.child);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}
