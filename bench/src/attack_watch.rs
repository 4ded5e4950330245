//! What the attack drills watch: a healthy viewer streaming all the time (when each frame
//! arrived and how old it was), a new viewer's time to its first frame, and the server
//! process's RSS and open descriptors sampled from `/proc`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use streamserver::mjpeg::client::{self, OpenOptions, Target};
use streamserver::mjpeg::parser::Limits;

use crate::proc::{fd_count, rss_bytes};

const READ_TIMEOUT: Duration = Duration::from_secs(5);

fn open_options() -> OpenOptions {
    OpenOptions {
        connect: streamserver::http_client::ConnectOptions {
            timeout: READ_TIMEOUT,
            recv_buffer_bytes: None,
            accept_invalid_certs: false,
        },
        max_read_buf_bytes: 64 * 1024,
        limits: Limits::default(),
        user_agent: "streamserver-bench-attack",
    }
}

/// One received frame: when it had arrived, and its age then (ms, from `X-Timestamp`).
pub type Arrival = (Instant, f64);

/// The viewer that streams through every drill, on a thread and runtime of its own: the
/// attack's tasks must not delay its reads (that would be the bench measuring itself).
pub struct Healthy {
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<(), client::ClientError>>,
}

impl Healthy {
    pub fn start(url: &str, nice: i32) -> anyhow::Result<Healthy> {
        let target = Target::parse(url)?;
        let arrivals = Arc::new(Mutex::new(Vec::with_capacity(1 << 16)));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (Arc::clone(&arrivals), Arc::clone(&stop));
        let (opened_tx, opened_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("healthy-viewer".into())
            .spawn(move || {
                set_priority(nice);
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                rt.block_on(async move {
                    let mut parts = match client::open(&target, &open_options()).await {
                        Ok(p) => {
                            let _ = opened_tx.send(Ok(()));
                            p
                        }
                        Err(e) => {
                            let _ = opened_tx.send(Err(e.to_string()));
                            return Ok(());
                        }
                    };
                    while !stopped.load(Ordering::Relaxed) {
                        let part = parts.next_part(READ_TIMEOUT).await?;
                        let age_ms =
                            (part.headers.timestamp).map_or(f64::NAN, |t| (now_unix() - t) * 1e3);
                        seen.lock().unwrap().push((Instant::now(), age_ms));
                    }
                    Ok(())
                })
            })?;
        match opened_rx.recv() {
            Ok(Ok(())) => Ok(Healthy {
                arrivals,
                stop,
                thread,
            }),
            Ok(Err(e)) => anyhow::bail!("the healthy viewer cannot open {url}: {e}"),
            Err(_) => anyhow::bail!("the healthy viewer's thread ended"),
        }
    }

    /// Frames per second and p99 age (ms) of the frames that arrived in `[from, to)`.
    pub fn window(&self, from: Instant, to: Instant) -> Window {
        let a = self.arrivals.lock().unwrap();
        let mut ages: Vec<f64> = (a.iter())
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, age)| *age)
            .collect();
        let secs = to.saturating_duration_since(from).as_secs_f64();
        ages.sort_by(f64::total_cmp);
        let p99 = ages
            .get(((ages.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN);
        Window {
            frames: ages.len(),
            fps: ages.len() as f64 / secs.max(1e-9),
            p99_ms: p99,
            secs,
        }
    }

    /// Whether the stream is still being read (it ends only on an error).
    pub fn alive(&self) -> bool {
        !self.thread.is_finished()
    }

    /// Stops reading (at the next frame) and joins the thread.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// The healthy viewer's figures over one window.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub frames: usize,
    pub fps: f64,
    pub p99_ms: f64,
    pub secs: f64,
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The new viewers' own thread (and runtime), started before the attack's threads: a new
/// viewer must not wait behind the attack's tasks, nor inherit their lower priority.
pub struct NewViewers {
    requests: std::sync::mpsc::Sender<(
        String,
        tokio::sync::oneshot::Sender<Result<Duration, String>>,
    )>,
    thread: Option<JoinHandle<()>>,
}

impl NewViewers {
    pub fn start(nice: i32) -> anyhow::Result<NewViewers> {
        let (tx, rx) = std::sync::mpsc::channel::<(String, tokio::sync::oneshot::Sender<_>)>();
        let thread = std::thread::Builder::new()
            .name("new-viewers".into())
            .spawn(move || {
                set_priority(nice);
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                for (url, reply) in rx {
                    let _ = reply.send(rt.block_on(first_frame(&url)));
                }
            })?;
        Ok(NewViewers {
            requests: tx,
            thread: Some(thread),
        })
    }

    /// Time from starting to connect until the first complete frame of `url` (with its login).
    pub async fn first_frame(&self, url: &str) -> Result<Duration, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.requests
            .send((url.to_string(), tx))
            .map_err(|_| "the new viewers' thread ended".to_string())?;
        rx.await
            .map_err(|_| "the new viewers' thread ended".to_string())?
    }
}

impl Drop for NewViewers {
    fn drop(&mut self) {
        let (tx, _) = std::sync::mpsc::channel();
        drop(std::mem::replace(&mut self.requests, tx));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn first_frame(url: &str) -> Result<Duration, String> {
    let t0 = Instant::now();
    let target = Target::parse(url).map_err(|e| e.to_string())?;
    let mut parts = (client::open(&target, &open_options()).await).map_err(|e| e.to_string())?;
    parts
        .next_part(READ_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    Ok(t0.elapsed())
}

/// Sets the calling thread's nice value (Linux: per thread); false when not allowed (a
/// negative value needs root or CAP_SYS_NICE).
pub fn set_priority(nice: i32) -> bool {
    // SAFETY: setpriority on the calling thread only.
    nice == 0 || unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } == 0
}

/// RSS (bytes) and open descriptors of a process, sampled every [`Sampler::EVERY`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<(Instant, u64, usize)>>>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    pub const EVERY: Duration = Duration::from_millis(100);

    pub fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (s, v) = (Arc::clone(&stop), Arc::clone(&samples));
        let thread = std::thread::Builder::new()
            .name("attack-sampler".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    match (rss_bytes(pid), fd_count(pid)) {
                        (Ok(rss), Ok(fds)) => v.lock().unwrap().push((Instant::now(), rss, fds)),
                        _ => return,
                    }
                    std::thread::sleep(Self::EVERY);
                }
            })
            .ok();
        Sampler {
            stop,
            samples,
            thread,
        }
    }

    /// The newest sample: (RSS, descriptors).
    pub fn now(&self) -> (u64, usize) {
        let v = self.samples.lock().unwrap();
        v.last().map_or((0, 0), |s| (s.1, s.2))
    }

    /// Peak RSS and peak descriptors of the samples taken in `[from, to)`.
    pub fn peak(&self, from: Instant, to: Instant) -> (u64, usize) {
        let v = self.samples.lock().unwrap();
        (v.iter().filter(|s| s.0 >= from && s.0 < to))
            .fold((0, 0), |(r, f), s| (r.max(s.1), f.max(s.2)))
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
