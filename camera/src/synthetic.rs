//! The synthetic camera (`run --synthetic`): the library's moving test pattern at the configured
//! size, rate and format, through the same capture thread → encode pool → protocol path as a
//! real camera. Needs no libcamera, so the helper's protocol, the server's supervision and the
//! benchmark's helper hop are testable anywhere. Like a sensor that cannot, it ignores the
//! sensor's part of the orientation (half turn, mirrors; with a warning); the quarter turn of
//! rotation 90/270 is the encode pool's and happens. Faults can be injected ([`Fault`]) for the
//! server's fault drills.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use streamserver::pipeline::encode_pool::EncodePool;
use streamserver::source::camera::protocol::{HelperSettings, Started};
use streamserver::source::pace::Pacer;
use streamserver::source::test_pattern::Pattern;
use streamserver::source::StopFlag;
use tracing::{info, warn};

use crate::error::{CameraError, CaptureError};
use crate::format::libcamera_format;
use crate::output::{encode_pool, ProtocolOutput};
use crate::report::Report;

/// The synthetic camera's id in Started.
pub const CAMERA_ID: &str = "synthetic";
/// Largest synthetic picture side (a bigger one is refused as a configuration error).
pub const MAX_SIDE: u32 = 8192;

/// A fault the synthetic camera injects (`--fault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `fail-start`: fail before Started (kind Other).
    FailStart,
    /// `hang-after=N`: after N frames the capture thread blocks for good, ignoring Stop, as a
    /// wedged driver does (the helper still answers Stop by exiting, within its stop wait).
    HangAfter(u64),
    /// `crash-after=N`: after N frames the process aborts (SIGABRT), as a crash in libcamera.
    CrashAfter(u64),
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let count = |v: &str| {
            v.parse::<u64>()
                .map_err(|e| format!("fault {s:?}: {v:?} is not a frame count: {e}"))
        };
        match s.split_once('=') {
            None if s == "fail-start" => Ok(Self::FailStart),
            Some(("hang-after", n)) => count(n).map(Self::HangAfter),
            Some(("crash-after", n)) => count(n).map(Self::CrashAfter),
            _ => Err(format!(
                "unknown fault {s:?} (fail-start, hang-after=N, crash-after=N)"
            )),
        }
    }
}

/// Runs the synthetic camera until `stop` (or its fault).
pub fn run(
    settings: &HelperSettings,
    output: &ProtocolOutput,
    stop: &StopFlag,
    report: &mut dyn Report,
    fault: Option<Fault>,
) -> Result<(), CaptureError> {
    let c = &settings.camera;
    if fault == Some(Fault::FailStart) {
        return Err(CaptureError::Injected("fail-start".into()));
    }
    if c.width > MAX_SIDE || c.height > MAX_SIDE {
        return Err(CameraError::Configure {
            id: CAMERA_ID.into(),
            message: format!(
                "{}x{} is over the synthetic camera's {MAX_SIDE}x{MAX_SIDE}",
                c.width, c.height
            ),
        }
        .into());
    }
    let o = c.orientation();
    if o.rotate180 || o.mirror {
        // Like a camera that cannot: its picture keeps its orientation (the quarter turn of
        // rotation 90/270 is the encode pool's, so it still happens).
        warn!(camera = CAMERA_ID, "the synthetic camera cannot turn by 180 degrees or mirror; the picture keeps its orientation");
    }
    let mut pool = encode_pool(settings, output)?;
    let mut pattern = Pattern::new(&settings.stream, c.width as usize, c.height as usize, c.fps);
    let (width, height) = pattern.size();
    report.started(Started {
        width: width as u32,
        height: height as u32,
        format: libcamera_format(c.format).0.into(),
        fps: c.fps,
        camera_id: CAMERA_ID.into(),
        model: "streamserver test pattern".into(),
    });
    info!(width, height, fps = c.fps, format = c.format.name(), fault = ?fault, "synthetic camera streaming");
    let result = capture(&mut pool, &mut pattern, settings, stop, fault);
    if let Err(e) = &result {
        report.failing(e);
    }
    result
}

/// The capture loop: a frame per interval until `stop` (or the fault).
fn capture(
    pool: &mut EncodePool,
    pattern: &mut Pattern,
    settings: &HelperSettings,
    stop: &StopFlag,
    fault: Option<Fault>,
) -> Result<(), CaptureError> {
    let c = &settings.camera;
    let mut pacer = Pacer::new(c.frame_interval());
    let mut n: u64 = 0;
    while !stop.is_raised() {
        match fault {
            Some(Fault::HangAfter(after)) if n >= after => hang(),
            Some(Fault::CrashAfter(after)) if n >= after => {
                warn!(frames = n, "injected fault: crashing");
                std::process::abort();
            }
            _ => {}
        }
        let captured_at = SystemTime::now();
        pool.offer_with(captured_at, || pattern.draw(n, captured_at, c.format))?;
        n += 1;
        if pacer.wait(stop) {
            break;
        }
    }
    Ok(())
}

/// Blocks this thread for good (an injected wedged driver).
fn hang() -> ! {
    warn!("injected fault: the camera hangs");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
