//! Setting a camera up for one capture run: find it by index or id, negotiate format, size,
//! buffer count and orientation (logging every adjustment the camera makes), and map a frame
//! buffer's planes.

use libcamera::camera::{CameraConfiguration, Orientation as LcOrientation};
use libcamera::camera_manager::CameraList;
use libcamera::framebuffer::AsFrameBuffer;
use libcamera::framebuffer_allocator::FrameBuffer;
use libcamera::geometry::Size;
use libcamera::pixel_format::PixelFormat as LcPixelFormat;
use tracing::{info, warn};

use streamserver::config::{CameraConfig, CameraSelector};

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

/// Asks for `config`'s format, size, buffers and orientation; returns what the camera agreed to.
pub fn configure(
    id: &str,
    config: &CameraConfig,
    cfgs: &mut CameraConfiguration,
) -> Result<Layout, CameraError> {
    let (name, code) = libcamera_format(config.format);
    {
        let mut stream = cfgs
            .get_mut(0)
            .ok_or_else(|| configure_error(id, "no stream to configure"))?;
        stream.set_pixel_format(LcPixelFormat::new(code, 0));
        stream.set_size(Size {
            width: config.width,
            height: config.height,
        });
        stream.set_buffer_count(config.buffer_count);
    }
    let o = config.orientation();
    let wanted = match (o.rotate180, o.mirror) {
        (false, false) => LcOrientation::Rotate0,
        (false, true) => LcOrientation::Rotate0Mirror,
        (true, false) => LcOrientation::Rotate180,
        (true, true) => LcOrientation::Rotate180Mirror,
    };
    cfgs.set_orientation(wanted);
    if cfgs.validate().is_invalid() {
        return Err(configure_error(
            id,
            &format!("rejects the configuration {}", cfgs.to_string_repr()),
        ));
    }
    if cfgs.orientation() != wanted {
        warn!(camera = id, wanted = ?wanted, got = ?cfgs.orientation(), "the camera cannot apply the rotation/flip; the picture keeps the camera's orientation");
    }
    let stream = cfgs.get(0).expect("validated configuration has a stream");
    let got = stream.get_pixel_format();
    let format = format_from_fourcc(got.fourcc())
        .filter(|_| got.modifier() == 0)
        .ok_or_else(|| {
            configure_error(
                id,
                &format!("offers {got} instead of {name}; streamserver encodes RGB888, BGR888, YUV420 and NV12"),
            )
        })?;
    if format != config.format {
        warn!(camera = id, asked = name, using = %got, "the camera does not offer the configured format");
    }
    let size = stream.get_size();
    if (size.width, size.height) != (config.width, config.height) {
        warn!(camera = id, asked = %format!("{}x{}", config.width, config.height), using = %format!("{}x{}", size.width, size.height), "the camera adjusted the size");
    }
    if stream.get_buffer_count() != config.buffer_count {
        info!(
            camera = id,
            buffers = stream.get_buffer_count(),
            "the camera adjusted the buffer count"
        );
    }
    Ok(Layout {
        format,
        width: size.width as usize,
        height: size.height as usize,
        stride: stream.get_stride() as usize,
    })
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
