//! The libcamera camera (libcamera builds only): one capture run on the helper's capture thread.
//!
//! [`run`] starts a camera manager, finds the selected camera ([`setup::select`]), acquires it,
//! decides how stills are taken (`still_mode`: `dual` where the camera takes a still output at
//! the still size beside the stream's, else `switch`; [`streams::dual_fits`]), configures the
//! outputs ([`streams::Streams`]: format, size, buffer count, orientation; buffers allocated and
//! mapped once), lists the camera's controls ([`controls::listing`]) and starts it with the
//! start-up controls the camera takes (the others are warnings), reports Started, and runs the
//! capture loop ([`capture`]) until the helper is stopped or the camera fails (reported before
//! the camera is stopped, see [`crate::report::Report::failing`]). Everything libcamera is created and dropped
//! on this one thread, in order: the camera is stopped and released before the manager goes. A
//! camera that hangs inside libcamera may never return from `stop`; the helper then exits
//! without it and the kernel frees the camera.
//!
//! In dual mode the sensor runs in the mode of the larger output (the still's): on a Camera
//! Module 3 at full resolution that is about 14 fps for the stream too.
//!
//! - [`capture`]: the loop (newest frame wins, requests requeued, controls, stills, pacing).
//! - [`switch`]: the `switch` still (stop, reconfigure, capture, reconfigure back).
//! - [`streams`]: the configured outputs, their buffers and requests.
//! - [`controls`]: libcamera's controls ↔ the protocol's (listing, setting, metadata).
//! - [`setup`]: selecting the camera, negotiating each output, mapping buffers.
//! - [`list`]: `streamserver-camera list`.

mod capture;
mod controls;
pub mod list;
mod setup;
mod streams;
mod switch;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use libcamera::camera_manager::CameraManager;
use libcamera::control::ControlList;
use libcamera::properties;
use streamserver::config::StillMode;
use streamserver::source::camera::protocol::requests::ControlValues;
use streamserver::source::camera::protocol::Started;
use tracing::{info, warn};

use crate::context::Capture;
use crate::controls::{fps_limits, CameraControls};
use crate::error::{CameraError, CaptureError};
use crate::format::libcamera_format;
use crate::output::encode_pool;
use crate::still::Stills;
use crate::timing::FrameClock;
use capture::{Run, Strategy};
use setup::{configure_error, io_error, select};
use streams::{dual_fits, full_size, Plan, Streams};

/// One capture run of the selected camera until `stop` or a failure.
pub fn run(cx: &mut Capture) -> Result<(), CaptureError> {
    let settings = cx.settings;
    let config = &settings.camera;
    let mut pool = encode_pool(settings, cx.output)?;
    let stills = Stills::new(settings, cx.output)?;
    let manager = CameraManager::new().map_err(CameraError::Manager)?;
    let cameras = manager.cameras();
    let camera = select(&cameras, &config.select)?;
    let id = camera.id().to_string();
    let model = camera
        .properties()
        .get::<properties::Model>()
        .map(|m| m.0)
        .unwrap_or_default();
    let mut active = camera.acquire().map_err(|source| CameraError::Acquire {
        id: id.clone(),
        source,
    })?;
    let disconnected = Arc::new(AtomicBool::new(false));
    let flag = disconnected.clone();
    active.on_disconnected(move || flag.store(true, Relaxed));

    let still = config
        .still_size()
        .or_else(|| full_size(&active))
        .ok_or_else(|| configure_error(&id, "proposes no still size"))?;
    let dual = match config.still_mode {
        StillMode::Dual => true,
        StillMode::Switch => false,
        StillMode::Auto => dual_fits(&active, &id, config, still),
    };
    let (strategy, plan) = match dual {
        true => (Strategy::Dual, Plan::Dual { still }),
        false => (Strategy::Switch { still }, Plan::Video),
    };
    info!(camera = %id, mode = config.still_mode.name(), strategy = ?strategy, still = %format!("{}x{}", still.0, still.1), "stills");
    if dual {
        info!(camera = %id, "dual stills: the sensor runs in the mode of the larger output");
    }
    let streams = Streams::configure(&mut active, &id, config, plan)?;
    let layout = streams
        .video
        .as_ref()
        .map(|o| o.layout)
        .ok_or_else(|| configure_error(&id, "configured without the stream's output"))?;
    let completed = active.subscribe_request_completed();
    let (infos, ids) = controls::listing(active.controls());
    let mut camera_controls = CameraControls::new(&id, infos);
    let startup = camera_controls.startup(&fps_limits(config.fps), &settings.controls);
    let pace = (!startup.0.contains_key("FrameDurationLimits")).then(|| config.frame_interval());
    if let Some(interval) = pace {
        info!(camera = %id, interval_ms = interval.as_millis() as u64, "camera has no frame-duration control; pacing requests here");
    }
    let mut start_controls = ControlList::new();
    controls::to_control_list(&ids, &startup, &mut start_controls);
    active
        .start(Some(&start_controls))
        .map_err(io_error(&id, "start"))?;
    info!(camera = %id, format = layout.format.name(), width = layout.width, height = layout.height, stride = layout.stride, "camera streaming");
    cx.report.started(Started {
        width: layout.width as u32,
        height: layout.height as u32,
        format: libcamera_format(layout.format).0.into(),
        fps: config.fps,
        camera_id: id.clone(),
        model,
    });

    let mut run = Run {
        id: &id,
        config,
        pool: &mut pool,
        output: cx.output,
        streams,
        strategy,
        controls: camera_controls,
        ids,
        stills,
        pending_controls: ControlValues::default(),
        reported: ControlValues::default(),
        in_flight: 0,
        still_in_flight: false,
        pace,
        clock: FrameClock::new(),
        bad_frames: 0,
        fast_completions: 0,
        last_completion: None,
    };
    let result = run.capture(cx, &mut active, &completed, &disconnected);
    if let Err(err) = &result {
        // Stopping a hung camera can block until the driver returns: say why first.
        warn!(camera = %id, %err, "camera failed; stopping it");
        cx.report.failing(err);
    }
    if let Err(err) = active.stop() {
        warn!(camera = %id, %err, "stopping the camera failed");
    }
    result
}
