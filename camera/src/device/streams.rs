//! The camera's configured outputs for one stretch of capture: their buffers (allocated and
//! mapped once) and the requests that carry them. Three plans ([`Plan`]):
//!
//! - **Video**: the stream's output alone, one request per buffer.
//! - **Dual**: a still output (role StillCapture, at the still size) and the stream's (role
//!   ViewFinder). The stream's requests carry only its buffer; one more request carries only a
//!   still buffer and is queued only when a still is wanted (libcamera-rs cannot move a buffer
//!   between requests, so the still request is built once and reused).
//! - **Still**: a still output alone, one request (the `switch` strategy's configuration).
//!
//! [`Streams`] owns everything a configuration needs until it is dropped, after the camera
//! was stopped: the requests (with their buffers), the mappings, the allocator.

use std::collections::VecDeque;

use libcamera::camera::{ActiveCamera, Camera, CameraConfiguration};
use libcamera::framebuffer_allocator::FrameBufferAllocator;
use libcamera::request::Request;
use libcamera::stream::{Stream, StreamRole};
use streamserver::config::CameraConfig;
use tracing::info;

use super::setup::{configure, configure_error, io_error, map_buffer, Want};
use crate::error::CameraError;
use crate::mapping::{Layout, MappedBuffer};

/// The cookie of the still request (video requests are numbered from 0).
pub const STILL_COOKIE: u64 = u64::MAX;

/// What to configure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Video,
    /// The still's size, and the stream's output beside it.
    Dual {
        still: (u32, u32),
    },
    /// The still's size alone.
    Still {
        still: (u32, u32),
    },
}

/// One configured output: its stream, its negotiated layout and its mapped buffers (by index:
/// a video request's cookie, or 0 for the still request).
pub struct Output {
    pub stream: Stream,
    pub layout: Layout,
    pub maps: Vec<MappedBuffer>,
}

/// A configuration's outputs and requests (`Default`: none, e.g. between two configurations).
#[derive(Default)]
pub struct Streams {
    pub video: Option<Output>,
    pub still: Option<Output>,
    /// The stream's requests that are not queued.
    pub video_requests: VecDeque<Request>,
    /// The still request while it is not queued.
    pub still_request: Option<Request>,
    /// Kept until the requests are gone (fields drop in order).
    _allocator: Option<FrameBufferAllocator>,
    _cfgs: Option<CameraConfiguration>,
}

/// The outputs `plan` asks for, with the libcamera roles in stream order.
fn wants(config: &CameraConfig, plan: Plan) -> (Vec<StreamRole>, Vec<Want>) {
    let video = Want {
        format: config.format,
        width: config.width,
        height: config.height,
        buffers: config.buffer_count,
    };
    let still = |(width, height)| Want {
        width,
        height,
        buffers: 1,
        ..video
    };
    match plan {
        Plan::Video => (vec![StreamRole::VideoRecording], vec![video]),
        Plan::Dual { still: s } => (
            vec![StreamRole::StillCapture, StreamRole::ViewFinder],
            vec![still(s), video],
        ),
        Plan::Still { still: s } => (vec![StreamRole::StillCapture], vec![still(s)]),
    }
}

/// The size libcamera proposes for a still (the sensor's full size on Pi cameras).
pub fn full_size(camera: &Camera<'_>) -> Option<(u32, u32)> {
    let cfgs = camera.generate_configuration(&[StreamRole::StillCapture])?;
    let size = cfgs.get(0)?.get_size();
    Some((size.width, size.height))
}

/// Whether the camera takes a still output at `still` beside the stream's, both at exactly
/// their sizes (what `still_mode = "auto"` chooses dual by).
pub fn dual_fits(camera: &Camera<'_>, id: &str, config: &CameraConfig, still: (u32, u32)) -> bool {
    let (roles, wants) = wants(config, Plan::Dual { still });
    let Some(mut cfgs) = camera.generate_configuration(&roles) else {
        return false;
    };
    cfgs.len() == wants.len()
        && matches!(
            configure(id, config, &mut cfgs, &wants, false),
            Ok((_, true))
        )
}

impl Streams {
    /// The stream's output's libcamera stream, if configured.
    pub fn video_stream(&self) -> Option<Stream> {
        self.video.as_ref().map(|o| o.stream)
    }

    /// The still output's libcamera stream, if configured.
    pub fn still_stream(&self) -> Option<Stream> {
        self.still.as_ref().map(|o| o.stream)
    }

    /// Configures the camera (stopped) for `plan`, allocates and maps the buffers and builds
    /// the requests.
    pub fn configure(
        active: &mut ActiveCamera<'_>,
        id: &str,
        config: &CameraConfig,
        plan: Plan,
    ) -> Result<Self, CameraError> {
        let (roles, wants) = wants(config, plan);
        let mut cfgs = active
            .generate_configuration(&roles)
            .ok_or_else(|| configure_error(id, "no configuration for these stream roles"))?;
        let (layouts, _) = configure(id, config, &mut cfgs, &wants, true)?;
        active
            .configure(&mut cfgs)
            .map_err(io_error(id, "configure"))?;
        let mut allocator = FrameBufferAllocator::new(active);
        let mut outputs = Vec::with_capacity(layouts.len());
        let mut buffers = Vec::with_capacity(layouts.len());
        for (i, layout) in layouts.into_iter().enumerate() {
            let stream = cfgs
                .get(i)
                .and_then(|c| c.stream())
                .ok_or_else(|| configure_error(id, "configured without a stream"))?;
            let mut bufs = allocator
                .alloc(&stream)
                .map_err(io_error(id, "buffer allocation"))?;
            let is_still = matches!((plan, i), (Plan::Dual { .. } | Plan::Still { .. }, 0));
            if is_still {
                bufs.truncate(1); // one still at a time; the rest go back unused
            }
            let maps = bufs
                .iter()
                .map(map_buffer)
                .collect::<Result<Vec<_>, _>>()
                .map_err(io_error(id, "mapping a frame buffer"))?;
            outputs.push(Output {
                stream,
                layout,
                maps,
            });
            buffers.push(bufs);
        }
        let mut streams = Self {
            video: None,
            still: None,
            video_requests: VecDeque::new(),
            still_request: None,
            _allocator: Some(allocator),
            _cfgs: Some(cfgs),
        };
        let mut outputs = outputs.into_iter();
        let mut buffers = buffers.into_iter();
        if plan != Plan::Video {
            let output = outputs.next().expect("a still output");
            let buffer = buffers.next().and_then(|b| b.into_iter().next());
            let buffer = buffer.ok_or_else(|| configure_error(id, "no still buffer"))?;
            let mut request = active
                .create_request(Some(STILL_COOKIE))
                .ok_or_else(|| configure_error(id, "cannot create a request"))?;
            request
                .add_buffer(&output.stream, buffer)
                .map_err(io_error(id, "adding a buffer to a request"))?;
            streams.still_request = Some(request);
            streams.still = Some(output);
        }
        if let (Some(output), Some(bufs)) = (outputs.next(), buffers.next()) {
            for (i, buffer) in bufs.into_iter().enumerate() {
                let mut request = active
                    .create_request(Some(i as u64))
                    .ok_or_else(|| configure_error(id, "cannot create a request"))?;
                request
                    .add_buffer(&output.stream, buffer)
                    .map_err(io_error(id, "adding a buffer to a request"))?;
                streams.video_requests.push_back(request);
            }
            streams.video = Some(output);
        }
        let describe = |o: &Option<Output>| {
            o.as_ref().map(|o| {
                let l = &o.layout;
                format!(
                    "{}x{} {} ({} buffers)",
                    l.width,
                    l.height,
                    l.format.name(),
                    o.maps.len()
                )
            })
        };
        info!(camera = id, plan = ?plan, video = ?describe(&streams.video), still = ?describe(&streams.still), "camera configured");
        Ok(streams)
    }
}
