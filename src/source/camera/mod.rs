//! The camera source (`source = "camera"`): the camera runs in its own process, the camera
//! helper `streamserver-camera` (the workspace's `camera/` crate, the only one that links
//! libcamera), and talks to the server through [`protocol`].
//!
//! - [`protocol`]: the server ↔ helper protocol and the Start settings ([`HelperSettings`]);
//!   std, bytes and serde only, so both binaries compile it.
//!
//! The server side, which spawns and supervises the helper, is not in this build yet: a camera
//! stream and `list-cameras` answer with [`UNAVAILABLE_REASON`].

pub mod protocol;

pub use protocol::HelperSettings;

use super::SourceError;

/// Why this build cannot run a camera stream (one line, shown by the server and `list-cameras`).
pub const UNAVAILABLE_REASON: &str =
    "the camera runs in the streamserver-camera helper, which this server does not start yet";

/// Whether this build can run a camera at all.
pub fn preflight() -> Result<(), SourceError> {
    Err(SourceError::Unavailable {
        kind: "camera",
        reason: UNAVAILABLE_REASON.into(),
    })
}

/// `streamserver list-cameras`: fails with [`UNAVAILABLE_REASON`] (the helper's
/// `streamserver-camera list` lists the cameras).
pub fn list_cameras() -> Result<String, SourceError> {
    preflight().map(|()| String::new())
}
