//! A fault-drill rig: the real server (in this process, on 127.0.0.1:0) with one camera stream
//! whose helper is the real `streamserver-camera --synthetic` behind a wrapper script that a
//! drill swaps for a broken one; one MJPEG client connected the whole time, recording every part;
//! a sampler noting which sequence numbers were placeholders. A drill breaks the helper, then
//! measures when the client saw the placeholder and, after the cause is gone, live frames again.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use streamserver::app::{self, Running};
use streamserver::config::{CameraConfig, Config, SourceConfig, StreamConfig};
use streamserver::pipeline::slot::FrameKind;
use streamserver::shutdown::Shutdown;

use super::HELPER;

/// `frame_timeout` of the drilled stream.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(2);

/// One part the client received.
#[derive(Debug, Clone, Copy)]
pub struct Got {
    pub seq: u64,
    pub at: Instant,
}

pub struct Rig {
    /// Names this rig's helpers (several rigs run at once in one test process).
    pub tag: String,
    /// The helper runs its synthetic camera (else the real one, e.g. the virtual camera).
    pub synthetic: bool,
    /// The JPEG of the newest part received.
    pub last_jpeg: Arc<Mutex<Vec<u8>>>,
    pub rt: tokio::runtime::Runtime,
    pub running: Option<Running>,
    pub dir: PathBuf,
    /// The helper path the server runs (a script we rewrite).
    pub wrapper: PathBuf,
    pub parts: Arc<Mutex<Vec<Got>>>,
    /// Sequence numbers seen as placeholders in the slot.
    pub placeholders: Arc<Mutex<HashMap<u64, FrameKind>>>,
    pub client_alive: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Rig {
    /// A server on the good synthetic helper, with `tune` applied to the stream.
    pub fn start(tag: &str, tune: impl FnOnce(&mut StreamConfig)) -> Rig {
        Self::start_with(tag, true, tune)
    }

    /// A server on the good helper (synthetic or the real camera), `tune` applied to the stream.
    pub fn start_with(tag: &str, synthetic: bool, tune: impl FnOnce(&mut StreamConfig)) -> Rig {
        Self::start_configured(tag, synthetic, tune, |_| {})
    }

    /// [`Rig::start_with`], and `configure` applied to the whole config (e.g. `[[user]]`).
    pub fn start_configured(
        tag: &str,
        synthetic: bool,
        tune: impl FnOnce(&mut StreamConfig),
        configure: impl FnOnce(&mut Config),
    ) -> Rig {
        // The server's log goes to the test's output (shown when a test fails).
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("info")
            .try_init();
        let dir = std::env::temp_dir().join(format!("drill-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let wrapper = dir.join("streamserver-camera");
        let mut stream = StreamConfig::test_pattern();
        stream.source = SourceConfig::Camera(CameraConfig {
            width: 320,
            height: 240,
            fps: 30.0,
            frame_timeout: FRAME_TIMEOUT,
            start_timeout: Duration::from_secs(5),
            helper: Some(wrapper.clone()),
            ..CameraConfig::default()
        });
        stream.encoder.idle = false;
        stream.supervisor.backoff_initial = Duration::from_millis(100);
        stream.supervisor.backoff_max = Duration::from_millis(400);
        tune(&mut stream);
        let mut config = Config::default();
        config.server.listen = "127.0.0.1:0".parse().unwrap();
        config.logging.console = false;
        config.streams = vec![stream];
        configure(&mut config);
        let rig = Rig {
            tag: tag.to_string(),
            synthetic,
            last_jpeg: Arc::default(),
            rt: tokio::runtime::Runtime::new().unwrap(),
            running: None,
            dir,
            wrapper,
            parts: Arc::default(),
            placeholders: Arc::default(),
            client_alive: Arc::new(AtomicBool::new(true)),
            stop: Arc::default(),
            threads: Vec::new(),
        };
        rig.helper_good();
        let running = rig
            .rt
            .block_on(app::start(config, Shutdown::new()))
            .expect("the server starts");
        let mut rig = Rig {
            running: Some(running),
            ..rig
        };
        rig.watch();
        rig
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.as_ref().unwrap().addr
    }

    /// Replaces the helper script atomically with `body` (a `sh` script).
    pub fn helper_script(&self, body: &str) {
        let tmp = self.dir.join("next");
        // The tag in the helper's environment tells this rig's helper from other tests'.
        let script = format!("#!/bin/sh\nexport DRILL_RIG='{}'\n{body}\n", self.tag);
        std::fs::write(&tmp, script).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, &self.wrapper).unwrap();
    }

    /// The real helper (on its synthetic camera for a synthetic rig).
    pub fn helper_good(&self) {
        let synthetic = if self.synthetic { " --synthetic" } else { "" };
        self.helper_script(&format!("exec '{HELPER}' \"$@\"{synthetic}"));
    }

    /// The real helper with an injected fault (`hang-after=N`, `crash-after=N`, `fail-start`).
    pub fn helper_fault(&self, fault: &str) {
        self.helper_script(&format!(
            "exec '{HELPER}' \"$@\" --synthetic --fault {fault}"
        ));
    }

    /// The pid of the helper this rig's server runs now (a child of this process named like
    /// it, with this rig's tag in its environment).
    pub fn helper_pid(&self) -> Option<i32> {
        let me = std::process::id().to_string();
        let tag = format!("DRILL_RIG={}", self.tag);
        std::fs::read_dir("/proc").ok()?.find_map(|e| {
            let e = e.ok()?;
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let (name, rest) = stat.split_once(") ")?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let alive = fields.first().is_some_and(|s| *s != "Z");
            let ours = std::fs::read(e.path().join("environ"))
                .ok()?
                .split(|b| *b == 0)
                .any(|v| v == tag.as_bytes());
            (name.ends_with("(streamserver-ca")
                && fields.get(1) == Some(&me.as_str())
                && alive
                && ours)
                .then_some(pid)
        })
    }

    /// Starts the client and the slot sampler.
    fn watch(&mut self) {
        let (addr, parts, alive, stop, jpeg) = (
            self.addr(),
            self.parts.clone(),
            self.client_alive.clone(),
            self.stop.clone(),
            self.last_jpeg.clone(),
        );
        self.threads.push(std::thread::spawn(move || {
            client(addr, &parts, &jpeg, &stop);
            alive.store(false, Relaxed);
        }));
        let slot = self.running.as_ref().unwrap().state.streams[0].slot.clone();
        let (seen, stop) = (self.placeholders.clone(), self.stop.clone());
        self.threads.push(std::thread::spawn(move || {
            while !stop.load(Relaxed) {
                if let Some(f) = slot.latest() {
                    if f.kind != FrameKind::Live {
                        seen.lock().unwrap().insert(f.seq, f.kind);
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }));
    }

    pub fn is_placeholder(&self, seq: u64) -> bool {
        self.placeholders.lock().unwrap().contains_key(&seq)
    }

    /// The first part at or after `since` that is a placeholder (or live), waiting up to `limit`.
    pub fn wait_part(&self, since: Instant, placeholder: bool, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            let found = self.parts.lock().unwrap().iter().find_map(|g| {
                (g.at >= since && self.is_placeholder(g.seq) == placeholder).then_some(g.at)
            });
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until live parts flow (one newer than `since`).
    pub fn live_after(&self, since: Instant, limit: Duration) -> Option<Duration> {
        self.wait_part(since, false, limit).map(|at| at - since)
    }

    /// Asserts that live parts flow within `limit` (one from the last second counts), naming
    /// `what` if they do not: how the tests make sure a rig streams before they begin.
    pub fn assert_live(&self, limit: Duration, what: &str) {
        let since = Instant::now() - Duration::from_secs(1);
        assert!(
            self.live_after(since, limit).is_some(),
            "{what}: no live frame within {limit:?}"
        );
    }

    /// The stream's `last_error` once it contains `needle` (waits up to 10 s).
    pub fn error_containing(&self, needle: &str) -> String {
        let status = &self.running.as_ref().unwrap().state.streams[0].status;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let error = status.get().last_error.unwrap_or_default();
            if error.contains(needle) {
                return error;
            }
            assert!(
                Instant::now() < deadline,
                "no error with {needle:?}: {error}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server and the watchers.
    pub fn stop(mut self) {
        self.stop.store(true, Relaxed);
        if let Some(running) = self.running.take() {
            running.shutdown.trigger();
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), running.wait()).await
            });
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads `/stream.mjpg` until the stream ends or `stop`, recording each part.
fn client(addr: SocketAddr, parts: &Mutex<Vec<Got>>, last: &Mutex<Vec<u8>>, stop: &AtomicBool) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    tcp.write_all(b"GET /stream.mjpg HTTP/1.0\r\nHost: drill\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(tcp);
    let mut line = String::new();
    let mut len = None;
    let mut seq = 0;
    while !stop.load(Relaxed) {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(_) => return,
        }
        let l = line.trim_end();
        if let Some((k, v)) = l.split_once(':') {
            match k.to_ascii_lowercase().as_str() {
                "content-length" => len = v.trim().parse::<usize>().ok(),
                "x-frame-seq" => seq = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        } else if l.is_empty() {
            if let Some(n) = len.take() {
                let mut body = vec![0; n];
                let mut got = 0;
                while got < n {
                    match r.read(&mut body[got..]) {
                        Ok(0) => return,
                        Ok(k) => got += k,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(_) => return,
                    }
                }
                parts.lock().unwrap().push(Got {
                    seq,
                    at: Instant::now(),
                });
                *last.lock().unwrap() = body;
            }
        }
    }
}
