//! [`Capture`]: what a capture run (the libcamera camera or the synthetic one) gets from the
//! helper's control thread — the Start settings, the protocol output its encoders write to, the
//! stop flag, the [`Report`] it tells the control thread through, and the [`Inbox`] of the
//! server's requests it serves between frames ([`Capture::serve`]).

use streamserver::source::camera::protocol::requests::ControlValues;
use streamserver::source::camera::protocol::HelperSettings;
use streamserver::source::StopFlag;

use crate::controls::CameraControls;
use crate::output::ProtocolOutput;
use crate::report::Report;
use crate::requests::{Inbox, Request};
use crate::still::Stills;

pub struct Capture<'a> {
    pub settings: &'a HelperSettings,
    pub output: &'a ProtocolOutput,
    pub stop: &'a StopFlag,
    pub report: &'a mut dyn Report,
    pub inbox: &'a Inbox,
}

impl Capture<'_> {
    /// Serves the requests waiting: a Still is noted in `stills` (taken by the caller when
    /// [`Stills::due`]); SetControls is answered and, when applied, its values handed to `apply`
    /// (which sets them on the camera's next request); ListControls is answered with `reported`
    /// (the values the camera reported for its newest frame) as current values.
    pub fn serve(
        &mut self,
        controls: &mut CameraControls,
        stills: &mut Stills,
        reported: &ControlValues,
        mut apply: impl FnMut(&ControlValues),
    ) {
        while let Some(request) = self.inbox.next() {
            match request {
                Request::Still { id } => stills.ask(id),
                Request::SetControls { id, json } => {
                    let (reply, values) = controls.set(&json);
                    if let Some(values) = values {
                        apply(&values);
                    }
                    self.report.reply(id, reply);
                }
                Request::ListControls { id } => self.report.reply(id, controls.list(reported)),
            }
        }
    }
}
