//! Unit tests of the supervisor: the restart policy on a test clock, then real runs with
//! scripted sources (failures, hangs, panics, unavailable sources, `while_down`).

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::SystemTime;

use bytes::Bytes;

use super::*;
use crate::config::WhileDown;
use crate::pipeline::demand::Demand;
use crate::pipeline::slot::LatestFrame;
use crate::pipeline::stats::StreamStats;

fn sink(kind: &'static str) -> FrameSink {
    FrameSink::new(
        LatestFrame::new(),
        Arc::new(StreamStats::new("t", kind)),
        Arc::new(Demand::new()),
    )
}

fn config() -> SupervisorConfig {
    SupervisorConfig {
        stall_timeout: Duration::from_millis(200),
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        restart_budget: 3,
        restart_window: Duration::from_secs(60),
        healthy_after: Duration::from_secs(30),
        while_down: WhileDown::Placeholder,
    }
}

// --- the pure policy, driven by a clock the test owns ---

#[test]
fn backoff_doubles_up_to_the_cap() {
    let mut p = RestartPolicy::new(SupervisorConfig {
        restart_budget: 100,
        ..config()
    });
    let t0 = Instant::now();
    let waits: Vec<_> = (0..5)
        .map(|i| p.on_failure(t0 + Duration::from_secs(i), Duration::ZERO))
        .collect();
    let ms = |m| Decision::RestartAfter(Duration::from_millis(m));
    assert_eq!(waits, vec![ms(10), ms(20), ms(40), ms(40), ms(40)]);
}

#[test]
fn a_long_healthy_run_resets_the_backoff() {
    let mut p = RestartPolicy::new(config());
    let t0 = Instant::now();
    p.on_failure(t0, Duration::ZERO);
    p.on_failure(t0, Duration::ZERO);
    let d = p.on_failure(t0 + Duration::from_secs(31), Duration::from_secs(31));
    assert_eq!(d, Decision::RestartAfter(Duration::from_millis(10)));
}

#[test]
fn budget_is_per_window_then_gives_up() {
    let mut p = RestartPolicy::new(config());
    let t0 = Instant::now();
    for i in 0..3 {
        assert!(matches!(
            p.on_failure(t0 + Duration::from_secs(i), Duration::ZERO),
            Decision::RestartAfter(_)
        ));
    }
    assert_eq!(
        p.on_failure(t0 + Duration::from_secs(10), Duration::ZERO),
        Decision::GiveUp
    );
    // Once the window has slid past the old restarts, there is budget again.
    let later = t0 + Duration::from_secs(61);
    assert!(matches!(
        p.on_failure(later, Duration::ZERO),
        Decision::RestartAfter(_)
    ));
    assert_eq!(
        p.restarts_in_window(),
        2,
        "the restarts at 0 s and 1 s have left the window"
    );
}

// --- the async loop with scripted sources ---

/// A source that fails `fail` times at start, then publishes frames until stopped, or hangs
/// (no frames, no error) when `hang` is set.
struct Scripted {
    attempt: u32,
    fail: u32,
    hang: bool,
}

impl FrameSource for Scripted {
    fn describe(&self) -> String {
        format!("scripted #{}", self.attempt)
    }
    fn run(&mut self, sink: &FrameSink, stop: &StopFlag) -> Result<(), SourceError> {
        if self.attempt < self.fail {
            return Err(SourceError::Injected("scripted start failure"));
        }
        while !stop.is_raised() {
            if !self.hang {
                sink.publish_jpeg(Bytes::from_static(b"jpeg"), SystemTime::now(), 8, 8);
            }
            stop.sleep(Duration::from_millis(5));
        }
        Ok(())
    }
}

fn harness(
    cfg: SupervisorConfig,
    fail: u32,
    hang: bool,
) -> (
    Supervisor,
    FrameSink,
    Arc<StatusBoard>,
    Shutdown,
    Arc<AtomicU32>,
) {
    let sink = sink("test");
    let status = Arc::new(StatusBoard::default());
    let shutdown = Shutdown::new();
    let starts = Arc::new(AtomicU32::new(0));
    let counter = starts.clone();
    let factory: SourceFactory = Box::new(move |attempt| {
        counter.fetch_add(1, SeqCst);
        Ok(Box::new(Scripted {
            attempt,
            fail,
            hang,
        }) as Box<dyn FrameSource>)
    });
    let sup = Supervisor::with_factory(
        "t".into(),
        cfg,
        sink.clone(),
        status.clone(),
        factory,
        shutdown.clone(),
    );
    (sup, sink, status, shutdown, starts)
}

async fn wait_until(mut cond: impl FnMut() -> bool) {
    for _ in 0..400 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("condition not reached within 2 s");
}

#[tokio::test]
async fn recovers_after_start_failures_and_shows_a_placeholder_meanwhile() {
    let cfg = SupervisorConfig {
        backoff_initial: Duration::from_millis(100),
        ..config()
    };
    let (sup, sink, status, shutdown, starts) = harness(cfg, 2, false);
    let task = tokio::spawn(sup.run());
    wait_until(|| status.get().state == SourceState::Restarting).await;
    let shown = sink.slot.latest().expect("a placeholder while down");
    assert_eq!(shown.kind, FrameKind::Placeholder);
    assert!(
        turbojpeg::read_header(&shown.jpeg).is_ok(),
        "the placeholder is a JPEG"
    );
    wait_until(|| {
        sink.slot
            .latest()
            .is_some_and(|f| f.kind == FrameKind::Live)
    })
    .await;
    let got = status.get();
    assert_eq!(got.state, SourceState::Running);
    assert_eq!(got.restarts, 2);
    assert_eq!(starts.load(SeqCst), 3);
    assert!(got.last_error.unwrap().contains("scripted start failure"));
    shutdown.trigger();
    assert!(task.await.unwrap().is_ok());
    assert_eq!(status.get().state, SourceState::Stopped);
}

#[tokio::test]
async fn a_stall_is_a_failure_and_restarts_the_source() {
    let (sup, _sink, status, shutdown, starts) = harness(config(), 0, true);
    let task = tokio::spawn(sup.run());
    wait_until(|| starts.load(SeqCst) >= 2).await;
    let got = status.get();
    assert!(got.last_error.unwrap().contains("stalled"));
    shutdown.trigger();
    assert!(task.await.unwrap().is_ok());
}

#[tokio::test]
async fn gives_up_when_the_budget_is_spent() {
    let (sup, _sink, status, _shutdown, starts) = harness(config(), u32::MAX, false);
    let res = tokio::time::timeout(Duration::from_secs(5), sup.run())
        .await
        .expect("gives up in time");
    assert!(
        matches!(res, Err(SupervisorError::GaveUp { restarts: 3, .. })),
        "{res:?}"
    );
    assert_eq!(starts.load(SeqCst), 4, "first start + 3 restarts");
    assert_eq!(status.get().state, SourceState::Failed);
}

#[tokio::test]
async fn an_unavailable_source_is_not_retried() {
    let sink = sink("camera");
    let factory: SourceFactory = Box::new(|_| {
        Err(SourceError::Unavailable {
            kind: "camera",
            reason: "no libcamera".into(),
        })
    });
    let sup = Supervisor::with_factory(
        "t".into(),
        config(),
        sink,
        Arc::default(),
        factory,
        Shutdown::new(),
    );
    let res = tokio::time::timeout(Duration::from_secs(5), sup.run())
        .await
        .unwrap();
    assert!(matches!(res, Err(SupervisorError::Fatal { .. })));
}

#[tokio::test]
async fn a_panicking_source_is_restarted() {
    struct Panics;
    impl FrameSource for Panics {
        fn describe(&self) -> String {
            "panics".into()
        }
        fn run(&mut self, _: &FrameSink, _: &StopFlag) -> Result<(), SourceError> {
            panic!("driver bug")
        }
    }
    let sink = sink("test");
    let factory: SourceFactory = Box::new(|_| Ok(Box::new(Panics) as Box<dyn FrameSource>));
    let sup = Supervisor::with_factory(
        "t".into(),
        config(),
        sink.clone(),
        Arc::default(),
        factory,
        Shutdown::new(),
    );
    let res = tokio::time::timeout(Duration::from_secs(5), sup.run())
        .await
        .unwrap();
    assert!(
        matches!(res, Err(SupervisorError::GaveUp { ref last_error, .. }) if last_error.contains("driver bug")),
        "{res:?}"
    );
}

#[tokio::test]
async fn while_down_last_frame_keeps_the_last_good_frame_on_air() {
    /// Publishes a few frames, then fails; every later start fails at once.
    struct OnceThenFail {
        attempt: u32,
    }
    impl FrameSource for OnceThenFail {
        fn describe(&self) -> String {
            "once".into()
        }
        fn run(&mut self, sink: &FrameSink, _: &StopFlag) -> Result<(), SourceError> {
            if self.attempt == 0 {
                for _ in 0..3 {
                    sink.publish_jpeg(Bytes::from_static(b"good"), SystemTime::now(), 8, 8);
                }
            }
            Err(SourceError::Injected("upstream dropped"))
        }
    }
    let cfg = SupervisorConfig {
        while_down: WhileDown::LastFrame,
        backoff_initial: Duration::from_millis(50),
        ..config()
    };
    let sink = sink("relay");
    let factory: SourceFactory =
        Box::new(|attempt| Ok(Box::new(OnceThenFail { attempt }) as Box<dyn FrameSource>));
    let status = Arc::new(StatusBoard::default());
    let sup = Supervisor::with_factory(
        "t".into(),
        cfg,
        sink.clone(),
        status.clone(),
        factory,
        Shutdown::new(),
    );
    let res = tokio::time::timeout(Duration::from_secs(5), sup.run())
        .await
        .unwrap();
    assert!(
        matches!(res, Err(SupervisorError::GaveUp { .. })),
        "{res:?}"
    );
    let shown = sink.slot.latest().expect("a frame");
    assert_eq!(
        shown.kind,
        FrameKind::Live,
        "no placeholder replaced the last good frame"
    );
    assert_eq!(&shown.jpeg[..], b"good");
    assert!(status
        .get()
        .last_error
        .unwrap()
        .contains("upstream dropped"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heart_beats_through_a_long_backoff() {
    // Every start fails and waits 3 s: the watchdog must still hear from the supervisor.
    let cfg = SupervisorConfig {
        backoff_initial: Duration::from_secs(3),
        backoff_max: Duration::from_secs(3),
        restart_budget: 100,
        ..config()
    };
    let (sup, _sink, _status, shutdown, starts) = harness(cfg, u32::MAX, false);
    let mut vitals = crate::systemd::vitals::Vitals::new();
    let sup = sup.with_heartbeat(vitals.register("supervisor"));
    let task = tokio::spawn(sup.run());
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_millis(3500) {
        let silent = vitals.silent(std::time::Instant::now(), Duration::from_millis(1500));
        assert!(silent.is_none(), "silent during the backoff: {silent:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(starts.load(SeqCst) >= 2, "it retried after the backoff");
    shutdown.trigger();
    assert!(task.await.unwrap().is_ok());
}
