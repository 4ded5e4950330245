//! [`Report`]: what a capture run (libcamera or synthetic) tells the control thread, which
//! writes it to the server — the capture thread itself never writes to the pipe.

use streamserver::source::camera::protocol::requests::ControlsReply;
use streamserver::source::camera::protocol::Started;

use crate::error::CaptureError;

pub trait Report {
    /// The camera runs and delivers this.
    fn started(&mut self, started: Started);
    /// The run failed and is about to stop and release the camera, which can block for long on
    /// a camera hung inside libcamera: the server hears why at once, and the helper exits
    /// without waiting for the camera.
    fn failing(&mut self, error: &CaptureError);
    /// The answer to a SetControls or ListControls request.
    fn reply(&mut self, id: u32, reply: ControlsReply);
}
