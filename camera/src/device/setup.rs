//! Setting a camera up for one capture run: find it by index or id, negotiate format, size,
//! buffer count and orientation of each output (logging every adjustment the camera makes), and
//! map a frame buffer's planes.

use libcamera::camera::{CameraConfiguration, Orientation as LcOrientation};
use libcamera::camera_manager::CameraList;
use libcamera::framebuffer::AsFrameBuffer;
use libcamera::framebuffer_allocator::FrameBuffer;
use libcamera::geometry::Size;
use libcamera::pixel_format::PixelFormat as LcPixelFormat;
use tracing::{info, warn};

use streamserver::config::{CameraConfig, CameraSelector, PixelFormat};

use crate::error::CameraError;
use crate::format::{format_from_fourcc, libcamera_format};
use crate::mapping::{Layout, MappedBuffer, PlaneSpec};

/// The camera `selector` names, by index or id.
pub fn select<'d>(
    cameras: &'d CameraList<'d>,
    selector: &CameraSelector,
) -> Result<libcamera::camera::Camera<'d>, CameraError> {
    let found = match selector {
        CameraSelector::Index(i) => cameras.get(*i),
        CameraSelector::Id(id) => cameras.iter().find(|c| c.id() == id),
    };
    found.ok_or_else(|| {
        let ids: Vec<String> = cameras.iter().map(|c| c.id().to_string()).collect();
        CameraError::NotFound {
            selector: selector.to_string(),
            available: if ids.is_empty() {
                "none".into()
            } else {
                ids.join(", ")
            },
        }
    })
}

/// One output asked of the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub buffers: u32,
}

/// Asks `cfgs`' streams for `wants` (in order) and `config`'s orientation. Returns the layout
/// the camera agreed to for each, and whether each size is the one asked for. `log`: say what
/// the camera adjusted (off when only probing whether two outputs fit).
pub fn configure(
    id: &str,
    config: &CameraConfig,
    cfgs: &mut CameraConfiguration,
    wants: &[Want],
    log: bool,
) -> Result<(Vec<Layout>, bool), CameraError> {
    for (i, want) in wants.iter().enumerate() {
        let mut stream = cfgs
            .get_mut(i)
            .ok_or_else(|| configure_error(id, &format!("no stream {i} to configure")))?;
        stream.set_pixel_format(LcPixelFormat::new(libcamera_format(want.format).1, 0));
        stream.set_size(Size {
            width: want.width,
            height: want.height,
        });
        stream.set_buffer_count(want.buffers);
    }
    let o = config.orientation();
    let wanted = match (o.rotate180, o.mirror) {
        (false, false) => LcOrientation::Rotate0,
        (false, true) => LcOrientation::Rotate0Mirror,
        (true, false) => LcOrientation::Rotate180,
        (true, true) => LcOrientation::Rotate180Mirror,
    };
    cfgs.set_orientation(wanted);
    if cfgs.validate().is_invalid() || cfgs.len() < wants.len() {
        return Err(configure_error(
            id,
            &format!("rejects the configuration {}", cfgs.to_string_repr()),
        ));
    }
    if log && cfgs.orientation() != wanted {
        warn!(camera = id, wanted = ?wanted, got = ?cfgs.orientation(), "the camera cannot apply the rotation/flip; the picture keeps the camera's orientation");
    }
    let mut layouts = Vec::with_capacity(wants.len());
    let mut exact = true;
    for (i, want) in wants.iter().enumerate() {
        let stream = cfgs.get(i).expect("validated configuration has the stream");
        let name = libcamera_format(want.format).0;
        let got = stream.get_pixel_format();
        let format = format_from_fourcc(got.fourcc())
            .filter(|_| got.modifier() == 0)
            .ok_or_else(|| {
                configure_error(
                    id,
                    &format!("offers {got} instead of {name}; streamserver encodes RGB888, BGR888, YUV420 and NV12"),
                )
            })?;
        let size = stream.get_size();
        exact &= (size.width, size.height) == (want.width, want.height);
        if log {
            if format != want.format {
                warn!(camera = id, asked = name, using = %got, "the camera does not offer the configured format");
            }
            if (size.width, size.height) != (want.width, want.height) {
                warn!(camera = id, asked = %format!("{}x{}", want.width, want.height), using = %format!("{}x{}", size.width, size.height), "the camera adjusted the size");
            }
            if stream.get_buffer_count() != want.buffers {
                info!(
                    camera = id,
                    buffers = stream.get_buffer_count(),
                    "the camera adjusted the buffer count"
                );
            }
        }
        layouts.push(Layout {
            format,
            width: size.width as usize,
            height: size.height as usize,
            stride: stream.get_stride() as usize,
        });
    }
    Ok((layouts, exact))
}

pub fn map_buffer(buffer: &FrameBuffer) -> std::io::Result<MappedBuffer> {
    let planes = buffer.planes();
    let specs: Vec<PlaneSpec> = (0..planes.len())
        .filter_map(|i| planes.get(i))
        .map(|p| PlaneSpec {
            fd: p.fd(),
            offset: p.offset().unwrap_or(0),
            len: p.len(),
        })
        .collect();
    MappedBuffer::map(&specs)
}

pub fn configure_error(id: &str, message: &str) -> CameraError {
    CameraError::Configure {
        id: id.into(),
        message: message.into(),
    }
}

pub fn io_error<'a>(
    id: &'a str,
    step: &'static str,
) -> impl Fn(std::io::Error) -> CameraError + 'a {
    move |source| CameraError::Io {
        id: id.into(),
        step,
        source,
    }
}
