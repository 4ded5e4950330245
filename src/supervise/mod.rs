//! The supervisor: owns the life of one stream's source.
//!
//! It starts the source on a named OS thread (`capture-<id>`), watches for errors and stalls (no
//! sign of life for `stall_timeout` is a failure too), and restarts it with capped exponential
//! backoff inside a restart budget (N restarts per window). While the source is down, it
//! publishes a placeholder frame saying why, so clients stay connected. When the budget is spent
//! it returns [`SupervisorError::GaveUp`]: the app then exits non-zero and systemd restarts us.
//!
//! The decisions live in [`RestartPolicy`], a pure state machine driven with explicit instants
//! (unit-tested with a clock the tests control); [`Supervisor::run`] is the thin async loop.

mod policy;
mod state;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::oneshot;
use tracing::{error, info, warn};

pub use policy::{Decision, RestartPolicy};
pub use state::{SourceState, SourceStatus, StatusBoard};

use crate::config::{SourceConfig, StreamConfig, SupervisorConfig, WhileDown};
use crate::pipeline::sink::FrameSink;
use crate::pipeline::slot::{FrameKind, NewFrame};
use crate::shutdown::Shutdown;
use crate::source::camera::CameraLink;
use crate::source::{self, FrameSource, SourceError, StopFlag};
use crate::systemd::vitals::{Heartbeat, BEAT_EVERY};
use crate::util::panic_message;

/// How long a stopped source thread may take to exit before it is abandoned (a hung driver).
const THREAD_EXIT_WAIT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("stream {stream}: restart budget spent ({restarts} restarts within {window:?}); last error: {last_error}")]
    GaveUp {
        stream: String,
        restarts: usize,
        window: Duration,
        last_error: String,
    },
    #[error("stream {stream}")]
    Fatal { stream: String, source: SourceError },
}

/// Builds a fresh source for start number `attempt` (the seam tests replace).
pub type SourceFactory =
    Box<dyn Fn(u32) -> Result<Box<dyn FrameSource>, SourceError> + Send + Sync>;

pub struct Supervisor {
    stream_id: String,
    config: SupervisorConfig,
    sink: FrameSink,
    status: Arc<StatusBoard>,
    factory: Arc<SourceFactory>,
    shutdown: Shutdown,
    /// Beaten at least every `BEAT_EVERY` while the supervisor runs, backoff included.
    heart: Heartbeat,
    /// Never give up: restarting the process cannot help this source more than restarting
    /// the source does (a camera: its helper process is what gets restarted). After the budget,
    /// or on a lasting error, it retries every `backoff_max` while showing why.
    keep_trying: bool,
}

impl Supervisor {
    pub fn new(
        stream: &StreamConfig,
        sink: FrameSink,
        status: Arc<StatusBoard>,
        shutdown: Shutdown,
        link: Option<Arc<CameraLink>>,
    ) -> Self {
        let cfg = stream.clone();
        let factory: SourceFactory =
            Box::new(move |attempt| source::build(&cfg, attempt, link.as_ref()));
        Self::with_factory(
            stream.id.to_string(),
            stream.supervisor.clone(),
            sink,
            status,
            factory,
            shutdown,
        )
        .keep_trying(matches!(stream.source, SourceConfig::Camera(_)))
    }

    pub fn with_factory(
        stream_id: String,
        config: SupervisorConfig,
        sink: FrameSink,
        status: Arc<StatusBoard>,
        factory: SourceFactory,
        shutdown: Shutdown,
    ) -> Self {
        Self {
            stream_id,
            config,
            sink,
            status,
            factory: Arc::new(factory),
            shutdown,
            heart: Heartbeat::detached(),
            keep_trying: false,
        }
    }

    /// Whether this supervisor keeps retrying instead of giving up (see `keep_trying`).
    pub fn keep_trying(mut self, keep_trying: bool) -> Self {
        self.keep_trying = keep_trying;
        self
    }

    /// Reports this supervisor's progress to the watchdog through `heart`.
    pub fn with_heartbeat(mut self, heart: Heartbeat) -> Self {
        self.heart = heart;
        self
    }

    /// Runs until shutdown (`Ok`) or until the restart budget is spent (`Err`).
    pub async fn run(self) -> Result<(), SupervisorError> {
        let mut policy = RestartPolicy::new(self.config.clone());
        let mut attempt = 0u32;
        let status = self.status.clone();
        loop {
            if self.shutdown.is_triggered() {
                break;
            }
            status.update(|s| s.state = SourceState::Starting);
            let started = Instant::now();
            let result = self.run_once(attempt).await;
            attempt = attempt.saturating_add(1);
            let err = match result {
                Ok(()) => break, // stopped for shutdown
                Err(err) if !err.is_retryable() && self.keep_trying => {
                    // Nothing to gain from ending the process: keep showing why, retry slowly
                    // (the cause may be fixed meanwhile, e.g. a matching helper installed).
                    error!(stream = %self.stream_id, %err, retry_s = self.config.backoff_max.as_secs(), "source cannot run; retrying slowly");
                    status.update(|s| s.restarts += 1);
                    self.mark_down(SourceState::Restarting, &err.to_string());
                    if !self.backoff(self.config.backoff_max).await {
                        break;
                    }
                    continue;
                }
                Err(err) if !err.is_retryable() => {
                    error!(stream = %self.stream_id, %err, "source cannot run; giving up");
                    self.mark_down(SourceState::Failed, &err.to_string());
                    return Err(SupervisorError::Fatal {
                        stream: self.stream_id.clone(),
                        source: err,
                    });
                }
                Err(err) => err,
            };
            let decision = match policy.on_failure(Instant::now(), started.elapsed()) {
                Decision::GiveUp if self.keep_trying => {
                    Decision::RestartAfter(self.config.backoff_max)
                }
                decision => decision,
            };
            match decision {
                Decision::GiveUp => {
                    let restarts = policy.restarts_in_window();
                    error!(stream = %self.stream_id, %err, restarts, "restart budget spent; giving up");
                    self.mark_down(SourceState::Failed, &err.to_string());
                    return Err(SupervisorError::GaveUp {
                        stream: self.stream_id.clone(),
                        restarts,
                        window: self.config.restart_window,
                        last_error: err.to_string(),
                    });
                }
                Decision::RestartAfter(wait) => {
                    status.update(|s| s.restarts += 1);
                    let restarts = status.get().restarts;
                    error!(stream = %self.stream_id, %err, restarts, backoff_ms = wait.as_millis() as u64, "source failed; restarting");
                    self.mark_down(SourceState::Restarting, &err.to_string());
                    if !self.backoff(wait).await {
                        break;
                    }
                }
            }
        }
        status.update(|s| s.state = SourceState::Stopped);
        info!(stream = %self.stream_id, "source stopped");
        Ok(())
    }

    /// Waits `wait` while beating the heart; false when shutdown came first.
    async fn backoff(&self, wait: Duration) -> bool {
        let until = tokio::time::Instant::now() + wait;
        loop {
            self.heart.beat();
            let step = until.min(tokio::time::Instant::now() + BEAT_EVERY);
            tokio::select! {
                _ = tokio::time::sleep_until(step) => {
                    if step >= until {
                        return true;
                    }
                }
                _ = self.shutdown.triggered() => return false,
            }
        }
    }

    /// One life of the source: start it on its thread, wait for an error, a stall or shutdown.
    async fn run_once(&self, attempt: u32) -> Result<(), SourceError> {
        let stop = StopFlag::new();
        // Stops the thread also when this future is dropped (a cancelled or panicking caller).
        let _stop_on_drop = StopOnDrop(stop.clone());
        let (tx, mut rx) = oneshot::channel();
        let name = format!("capture-{}", self.stream_id);
        let (factory, sink, thread_stop) = (self.factory.clone(), self.sink.clone(), stop.clone());
        let status = self.status.clone();
        let stats = self.sink.stats.clone();
        std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let mut source = factory(attempt)?;
                    let description = source.describe();
                    info!(%description, attempt, "source starting");
                    status.update(|s| {
                        s.description = description;
                        s.state = SourceState::Running;
                    });
                    source.run(&sink, &thread_stop)
                }))
                .unwrap_or_else(|panic| Err(SourceError::Panicked(panic_message(&*panic))));
                let _ = tx.send(result);
            })
            .map_err(|source| SourceError::Thread { name, source })?;

        let mut last_progress = stats.progress.load(Relaxed);
        let mut last_change = Instant::now();
        let tick = (self.config.stall_timeout / 4).clamp(Duration::from_millis(10), BEAT_EVERY);
        let mut thread_done = false;
        let outcome = loop {
            tokio::select! {
                res = &mut rx => {
                    thread_done = true;
                    break res.unwrap_or_else(|_| Err(SourceError::Panicked("source thread vanished".into())));
                }
                _ = self.shutdown.triggered() => break Ok(()),
                _ = tokio::time::sleep(tick) => {
                    self.heart.beat();
                    let progress = stats.progress.load(Relaxed);
                    if progress != last_progress {
                        (last_progress, last_change) = (progress, Instant::now());
                    } else if last_change.elapsed() >= self.config.stall_timeout {
                        break Err(SourceError::Stalled(self.config.stall_timeout));
                    }
                }
            }
        };
        // Whatever ended the run, the thread must stop; a hung driver thread is abandoned.
        stop.raise();
        if !thread_done
            && tokio::time::timeout(THREAD_EXIT_WAIT, &mut rx)
                .await
                .is_err()
        {
            warn!(stream = %self.stream_id, "source thread did not stop in time; abandoning it");
        }
        outcome
    }

    fn mark_down(&self, state: SourceState, reason: &str) {
        let stats = &self.sink.stats;
        self.status.update(|s| {
            s.state = state;
            s.last_error = Some(reason.to_string());
        });
        let keep_last = self.config.while_down == WhileDown::LastFrame;
        if keep_last && self.sink.slot.latest().is_some() {
            return;
        }
        let (w, h) = (stats.width.load(Relaxed), stats.height.load(Relaxed));
        match crate::pipeline::placeholder::render(&self.stream_id, reason, SystemTime::now(), w, h)
        {
            Ok(jpeg) => {
                self.sink.slot.publish(NewFrame {
                    jpeg,
                    captured_at: SystemTime::now(),
                    width: w,
                    height: h,
                    kind: FrameKind::Placeholder,
                });
            }
            Err(err) => warn!(%err, "cannot render the placeholder frame"),
        }
    }
}

struct StopOnDrop(StopFlag);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.raise();
    }
}

#[cfg(test)]
mod tests;
