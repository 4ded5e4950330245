//! The libcamera camera (libcamera builds only): one capture run on the helper's capture thread.
//!
//! [`run`] starts a camera manager, finds the selected camera ([`setup::select`]), acquires it,
//! configures one video stream (format, size, buffer count, orientation: [`setup::configure`]),
//! allocates its buffers and maps each of them once, starts it with the configured controls,
//! reports Started, and runs the capture loop ([`capture`]) until the helper is stopped or the
//! camera fails (reported before the camera is stopped, see [`Report::failing`]). Everything libcamera is created and dropped on this one thread, in order: the
//! camera is stopped and released before the manager goes. A camera that hangs inside libcamera
//! may never return from `stop`; the helper then exits without it and the kernel frees the camera.
//!
//! - [`capture`]: the loop (newest frame wins, requests requeued, pacing, timeouts).
//! - [`setup`]: selecting and configuring the camera, mapping its buffers.
//! - [`list`]: `streamserver-camera list`.

mod capture;
pub mod list;
mod setup;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use libcamera::camera_manager::CameraManager;
use libcamera::control::ControlList;
use libcamera::framebuffer_allocator::FrameBufferAllocator;
use libcamera::properties;
use libcamera::stream::StreamRole;
use streamserver::source::camera::protocol::{HelperSettings, Started};
use streamserver::source::StopFlag;
use tracing::{info, warn};

use crate::controls;
use crate::error::{CameraError, CaptureError};
use crate::format::libcamera_format;
use crate::output::{encode_pool, ProtocolOutput};
use crate::report::Report;
use crate::timing::FrameClock;
use capture::Run;
use setup::{configure, configure_error, io_error, map_buffer, select};

/// One capture run of the selected camera until `stop` or a failure.
pub fn run(
    settings: &HelperSettings,
    output: &ProtocolOutput,
    stop: &StopFlag,
    report: &mut dyn Report,
) -> Result<(), CaptureError> {
    let config = &settings.camera;
    let mut pool = encode_pool(settings, output)?;
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

    let mut cfgs = active
        .generate_configuration(&[StreamRole::VideoRecording])
        .ok_or_else(|| configure_error(&id, "no video configuration"))?;
    let layout = configure(&id, config, &mut cfgs)?;
    active
        .configure(&mut cfgs)
        .map_err(io_error(&id, "configure"))?;
    let stream = cfgs
        .get(0)
        .and_then(|c| c.stream())
        .ok_or_else(|| configure_error(&id, "configured without a stream"))?;

    let mut allocator = FrameBufferAllocator::new(&active);
    let buffers = allocator
        .alloc(&stream)
        .map_err(io_error(&id, "buffer allocation"))?;
    let mut maps = Vec::with_capacity(buffers.len());
    let mut pending = VecDeque::with_capacity(buffers.len());
    for (i, buffer) in buffers.into_iter().enumerate() {
        maps.push(map_buffer(&buffer).map_err(io_error(&id, "mapping a frame buffer"))?);
        let mut request = active
            .create_request(Some(i as u64))
            .ok_or_else(|| configure_error(&id, "cannot create a request"))?;
        request
            .add_buffer(&stream, buffer)
            .map_err(io_error(&id, "adding a buffer to a request"))?;
        pending.push_back(request);
    }
    let completed = active.subscribe_request_completed();
    let mut start_controls = ControlList::new();
    let applied = controls::apply(&id, config, active.controls(), &mut start_controls);
    let pace = (!applied.frame_duration_limits).then(|| config.frame_interval());
    if let Some(interval) = pace {
        info!(camera = %id, interval_ms = interval.as_millis() as u64, "camera has no frame-duration control; pacing requests here");
    }
    active
        .start(Some(&start_controls))
        .map_err(io_error(&id, "start"))?;
    info!(camera = %id, format = layout.format.name(), width = layout.width, height = layout.height, stride = layout.stride, buffers = maps.len(), "camera streaming");
    report.started(Started {
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
        output,
        layout,
        maps: &maps,
        stream: &stream,
        pending,
        in_flight: 0,
        pace,
        clock: FrameClock::new(),
        bad_frames: 0,
        fast_completions: 0,
        last_completion: None,
    };
    let result = run.capture(&active, &completed, &disconnected, stop);
    if let Err(err) = &result {
        // Stopping a hung camera can block until the driver returns: say why first.
        warn!(camera = %id, %err, "camera failed; stopping it");
        report.failing(err);
    }
    if let Err(err) = active.stop() {
        warn!(camera = %id, %err, "stopping the camera failed");
    }
    result
}
