//! The protocol's messages as typed values: [`Message`] (helper → server) and [`Command`]
//! (server → helper) and what they carry. Their wire encoding, bounds and order are in the
//! parent module's doc ([`super`]); [`super::read`] and [`super::write`] turn them into bytes
//! and back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

#[cfg(doc)]
use super::HelperSettings;

/// The helper's introduction (after the magic and the protocol version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The helper's own version (its crate version, perhaps with a git description).
    pub helper_version: String,
    /// The libcamera version the helper was built against.
    pub libcamera_built: String,
    /// The libcamera version loaded at run time.
    pub libcamera_loaded: String,
}

/// The camera runs: what it actually delivers (the camera may have adjusted the request).
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// Frame size in pixels.
    pub width: u32,
    pub height: u32,
    /// libcamera's name of the raw format captured (e.g. `YUV420`).
    pub format: String,
    /// Frames per second asked of the camera.
    pub fps: f64,
    /// libcamera's camera id.
    pub camera_id: String,
    /// The camera's model (sensor name), empty when libcamera does not say.
    pub model: String,
}

/// A frame's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// The helper's capture sequence.
    pub seq: u64,
    /// Capture time (sensor timestamp mapped to the wall clock), ns since the Unix epoch.
    pub captured_unix_ns: u64,
    /// Picture size in pixels.
    pub width: u32,
    pub height: u32,
}

impl FrameInfo {
    /// The capture time as a [`SystemTime`].
    pub fn captured_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.captured_unix_ns)
    }
}

/// Nanoseconds since the Unix epoch of `t` (0 before the epoch, saturating after 2554).
pub fn unix_ns(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// An encoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub info: FrameInfo,
    /// The JPEG: an allocation of its own (a Frame message), or a lease of its slot of the
    /// shared memory (a FrameShm), which frees the slot when its last clone drops.
    pub jpeg: Bytes,
}

/// Why the helper failed: lets the server choose whether to retry and what hint to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FailureKind {
    /// No camera matches the selection (or none is connected).
    NoCamera = 1,
    /// The camera could not be acquired: another program holds it.
    CameraBusy = 2,
    /// The settings cannot work with this camera (format, size, a bad settings JSON).
    Config = 3,
    /// libcamera failed (start, a request, a hang the helper noticed, a disconnect).
    Libcamera = 4,
    /// JPEG encoding failed.
    Encode = 5,
    /// Anything else.
    Other = 6,
}

impl FailureKind {
    pub const ALL: [Self; 6] = [
        Self::NoCamera,
        Self::CameraBusy,
        Self::Config,
        Self::Libcamera,
        Self::Encode,
        Self::Other,
    ];

    /// The kind with this wire code.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| *k as u8 == code)
    }

    /// Whether starting a new helper can help: settings the camera cannot take will not work
    /// after a restart either.
    pub fn is_retryable(self) -> bool {
        self != Self::Config
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::NoCamera => "no camera",
            Self::CameraBusy => "camera busy",
            Self::Config => "configuration",
            Self::Libcamera => "libcamera",
            Self::Encode => "encoder",
            Self::Other => "other",
        }
    }
}

/// The helper's report of why it stops.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.name())]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

/// A message from the helper (after Hello).
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Started(Started),
    Frame(Frame),
    /// The camera completed frame `seq`, which was not sent (not wanted).
    Alive {
        seq: u64,
    },
    Failed(Failure),
    /// The answer to `Still { id }`.
    StillResult {
        id: u32,
        width: u32,
        height: u32,
        jpeg: Bytes,
    },
    /// The answer to `ListControls { id }` or `SetControls { id }` (the values applied).
    ControlsReply {
        id: u32,
        json: String,
    },
    /// Request `id` failed or is not supported by this helper.
    RequestError {
        id: u32,
        message: String,
    },
}

/// A command from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Open and start the camera with these settings (JSON of [`HelperSettings`]).
    Start { settings_json: String },
    /// Frames wanted (true) or idle (false).
    Demand { wanted: bool },
    /// Release the camera and exit.
    Stop,
    /// Capture a still; answered by StillResult or RequestError.
    Still { id: u32 },
    /// Set controls (JSON object of name → value); answered by ControlsReply or RequestError.
    SetControls { id: u32, json: String },
    /// List the camera's controls; answered by ControlsReply or RequestError.
    ListControls { id: u32 },
}
