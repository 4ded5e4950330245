//! The synthetic camera (`run --synthetic`): the library's moving test pattern at the configured
//! size, rate and format, through the same capture thread → encode pool → protocol path as a
//! real camera. Needs no libcamera, so the helper's protocol, the server's supervision and the
//! benchmark's helper hop are testable anywhere. Like a sensor that cannot, it ignores the
//! sensor's part of the orientation (half turn, mirrors; with a warning); the quarter turn of
//! rotation 90/270 is the encode pool's and happens. Faults can be injected ([`Fault`]) for the
//! server's fault drills.
//!
//! It has three controls ([`infos`], with libcamera 0.4's ids), served like a real camera's
//! (checked, then applied from the next frame on): `Brightness` (-1..=1) shifts the picture's
//! luma by up to 128 levels, `Contrast` (0..=32) stretches it around mid-grey, and
//! `FrameDurationLimits` sets the frame interval to its shorter limit (4167 µs to 10 s), as a
//! sensor with a fixed exposure would. A still is the same pattern drawn at the still size
//! ([`FULL_SIZE`] for 0 × 0) with the same tone, taken between two frames whatever `still_mode`
//! says: the synthetic camera has no configuration to switch.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use streamserver::source::camera::protocol::requests::{ControlInfo, ControlValue, ControlValues};
use streamserver::source::camera::protocol::Started;
use streamserver::source::pace::Pacer;
use streamserver::source::test_pattern::Pattern;
use tracing::{info, warn};

use crate::context::Capture;
use crate::controls::{fps_limits, frame_duration_us, CameraControls};
use crate::error::{CameraError, CaptureError};
use crate::format::libcamera_format;
use crate::output::encode_pool;
use crate::still::Stills;

/// The synthetic camera's id in Started.
pub const CAMERA_ID: &str = "synthetic";
/// Largest synthetic picture side (a bigger one is refused as a configuration error).
pub const MAX_SIDE: u32 = 8192;
/// The synthetic "sensor's full size": a still of 0 × 0.
pub const FULL_SIZE: (u32, u32) = (1920, 1080);
/// Bounds of `FrameDurationLimits`, µs: 240 fps to 0.1 fps.
const FRAME_DURATION_US: (i64, i64) = (4167, 10_000_000);

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
    /// `ignore-stills`: Still requests are never answered (a still that times out).
    IgnoreStills,
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
            None if s == "ignore-stills" => Ok(Self::IgnoreStills),
            Some(("hang-after", n)) => count(n).map(Self::HangAfter),
            Some(("crash-after", n)) => count(n).map(Self::CrashAfter),
            _ => Err(format!(
                "unknown fault {s:?} (fail-start, hang-after=N, crash-after=N, ignore-stills)"
            )),
        }
    }
}

/// The synthetic camera's controls, as a listing shows them (`fps`: the default frame rate).
pub fn infos(fps: f64) -> Vec<ControlInfo> {
    let info = |id, name: &str, kind: &str, min, max, default| ControlInfo {
        id,
        name: name.into(),
        kind: kind.into(),
        settable: true,
        min: Some(min),
        max: Some(max),
        default: Some(default),
        current: None,
        values: Vec::new(),
    };
    let f = ControlValue::Float;
    let us = frame_duration_us(fps);
    vec![
        info(12, "Brightness", "float", f(-1.0), f(1.0), f(0.0)),
        info(13, "Contrast", "float", f(0.0), f(32.0), f(1.0)),
        info(
            28,
            "FrameDurationLimits",
            "int64[2]",
            ControlValue::Int(FRAME_DURATION_US.0),
            ControlValue::Int(FRAME_DURATION_US.1),
            ControlValue::List(vec![ControlValue::Int(us), ControlValue::Int(us)]),
        ),
    ]
}

/// What the synthetic camera's controls are set to.
struct Settings {
    brightness: f64,
    contrast: f64,
    /// The frame interval, µs (`FrameDurationLimits`' shorter limit).
    interval_us: i64,
}

impl Settings {
    /// Takes the checked `values` (only this camera's controls pass the check).
    fn apply(&mut self, values: &ControlValues) {
        for (name, value) in &values.0 {
            match (name.as_str(), value) {
                ("Brightness", ControlValue::Float(b)) => self.brightness = *b,
                ("Contrast", ControlValue::Float(c)) => self.contrast = *c,
                ("FrameDurationLimits", ControlValue::List(l)) => {
                    if let Some(ControlValue::Int(shortest)) = l.first() {
                        self.interval_us = *shortest;
                    }
                }
                _ => {}
            }
        }
    }

    /// The values in effect, as a camera reports them for its newest frame.
    fn reported(&self) -> ControlValues {
        let us = ControlValue::Int(self.interval_us);
        ControlValues(
            [
                ("Brightness".into(), ControlValue::Float(self.brightness)),
                ("Contrast".into(), ControlValue::Float(self.contrast)),
                (
                    "FrameDurationLimits".into(),
                    ControlValue::List(vec![us.clone(), us]),
                ),
            ]
            .into(),
        )
    }

    fn interval(&self) -> Duration {
        Duration::from_micros(self.interval_us.unsigned_abs())
    }
}

/// Runs the synthetic camera until `stop` (or its fault).
pub fn run(cx: &mut Capture, fault: Option<Fault>) -> Result<(), CaptureError> {
    let settings = cx.settings;
    let c = &settings.camera;
    if fault == Some(Fault::FailStart) {
        return Err(CaptureError::Injected("fail-start".into()));
    }
    let (still_w, still_h) = c.still_size().unwrap_or(FULL_SIZE);
    let too_big = |w: u32, h: u32| w > MAX_SIDE || h > MAX_SIDE;
    if too_big(c.width, c.height) || too_big(still_w, still_h) {
        return Err(CameraError::Configure {
            id: CAMERA_ID.into(),
            message: format!(
                "{}x{} (still {still_w}x{still_h}) is over the synthetic camera's \
                 {MAX_SIDE}x{MAX_SIDE}",
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
    let mut pool = encode_pool(settings, cx.output)?;
    let mut stills = Stills::new(settings, cx.output)?;
    let mut controls = CameraControls::new(CAMERA_ID, infos(c.fps));
    let mut state = Settings {
        brightness: 0.0,
        contrast: 1.0,
        interval_us: frame_duration_us(c.fps),
    };
    state.apply(&controls.startup(&fps_limits(c.fps), &settings.controls));
    let mut pattern = Pattern::new(&settings.stream, c.width as usize, c.height as usize, c.fps);
    let mut still = Pattern::new(&settings.stream, still_w as usize, still_h as usize, c.fps);
    for p in [&mut pattern, &mut still] {
        p.set_tone(state.brightness, state.contrast);
    }
    let (width, height) = pattern.size();
    cx.report.started(Started {
        width: width as u32,
        height: height as u32,
        format: libcamera_format(c.format).0.into(),
        fps: c.fps,
        camera_id: CAMERA_ID.into(),
        model: "streamserver test pattern".into(),
    });
    info!(width, height, fps = c.fps, format = c.format.name(), fault = ?fault, "synthetic camera streaming");
    let mut pacer = Pacer::new(state.interval());
    let mut n: u64 = 0;
    let result = loop {
        if cx.stop.is_raised() {
            break Ok(());
        }
        match fault {
            Some(Fault::HangAfter(after)) if n >= after => hang(),
            Some(Fault::CrashAfter(after)) if n >= after => {
                warn!(frames = n, "injected fault: crashing");
                std::process::abort();
            }
            _ => {}
        }
        let before = (state.brightness, state.contrast, state.interval_us);
        let reported = state.reported();
        cx.serve(&mut controls, &mut stills, &reported, |v| state.apply(v));
        if (state.brightness, state.contrast) != (before.0, before.1) {
            for p in [&mut pattern, &mut still] {
                p.set_tone(state.brightness, state.contrast);
            }
        }
        if state.interval_us != before.2 {
            pacer = Pacer::new(state.interval());
        }
        let captured_at = SystemTime::now();
        if stills.due() && fault != Some(Fault::IgnoreStills) {
            stills.deliver(&still.draw(n, captured_at, c.format), captured_at);
        }
        if let Err(e) = pool.offer_with(captured_at, || pattern.draw(n, captured_at, c.format)) {
            break Err(e.into());
        }
        n += 1;
        if pacer.wait(cx.stop) {
            break Ok(());
        }
    };
    if let Err(e) = &result {
        cx.report.failing(e);
    }
    result
}

/// Blocks this thread for good (an injected wedged driver).
fn hang() -> ! {
    warn!("injected fault: the camera hangs");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
