//! The camera protocol: how the server and its camera helper (`streamserver-camera`) talk.
//!
//! This module is the protocol's definition and its only implementation: the typed messages
//! ([`Message`] helper → server, [`Command`] server → helper), a reader and a writer for each
//! direction, [`ProtocolError`] and the Start settings ([`HelperSettings`]). It needs only std,
//! `bytes`, `thiserror`, `serde`/`serde_json` and the config types (no libcamera), so both
//! binaries compile it.
//!
//! # Transport
//!
//! The server spawns the helper with stdin and stdout as pipes. The helper writes messages on
//! its stdout ([`MessageWriter`] → [`MessageReader`]); the server writes commands on the helper's
//! stdin ([`CommandWriter`] → [`CommandReader`]); the helper's stderr is plain log text, which the
//! server logs under the stream's id. Both ends use blocking `std::io` on OS threads of their
//! own, never async code.
//!
//! - Only protocol bytes may reach the helper's stdout: a stray `println!`, or a C++ library
//!   writing to `std::cout`, would corrupt the stream. The helper keeps a duplicate of fd 1 for
//!   the protocol and points fd 1 at its stderr (`dup`, then `dup2(2, 1)`) before it starts
//!   libcamera (the dynamic loader maps the library before `main`, but none of it runs before
//!   the camera manager starts), and writes through an unbuffered handle (a `File`;
//!   `std::io::Stdout` is line buffered, which the writer's flush after each message would also
//!   cope with).
//! - End of file says the other side is gone: the server closing the helper's stdin means stop
//!   (as [`Command::Stop`]); the helper's stdout closing means it exited (the server then reaps
//!   it). Writing to a closed pipe fails with `EPIPE` (Rust ignores `SIGPIPE`):
//!   [`ProtocolError::Io`].
//! - Nothing here times out: a read waits for the peer. The server bounds every wait (handshake,
//!   start, `frame_timeout`) by killing the helper, which closes the pipes and ends the read with
//!   an error. So the helper must keep reading its stdin (commands are tiny; a pipe holds 64 KiB)
//!   and its capture thread must never wait on the pipe (frames are written by other threads,
//!   one message at a time: a writer used by several threads sits behind a `Mutex`).
//!
//! # Conversation
//!
//! ```text
//!  helper                                         server
//!  preamble + Hello ─────────────────────────────► version checked (mismatch: kill, clear error)
//!                   ◄───────────────────────────── Start { settings }          (exactly once, first)
//!  Started          ─────────────────────────────► (or Failed)
//!  Frame… while wanted, Alive… while idle ───────►
//!                   ◄───────────────────────────── Demand { wanted }           (any time after Start)
//!                   ◄───────────────────────────── Still / SetControls / ListControls { id }
//!  StillResult | ControlsReply | RequestError { id } ─►      (one answer per id)
//!                   ◄───────────────────────────── Stop (or stdin closed): release camera, exit 0
//!  Failed { kind }  ─────────────────────────────► any time after Hello; the helper's last message
//! ```
//!
//! After Start the helper delivers frames (wanted) until a `Demand { wanted: false }`. While not
//! wanted the camera keeps running (cheap, and a hang is still noticed) but frames are not
//! encoded; instead the helper writes an Alive when it completed a frame and has written nothing
//! for [`ALIVE_INTERVAL`], so the server's stall detection sees progress. A request (Still,
//! SetControls, ListControls) carries an id of the server's choosing, unique among its requests
//! in flight (at most [`MAX_PENDING_REQUESTS`]); the helper answers each id exactly once, with
//! its reply or with RequestError — also for a request it does not implement or cannot serve
//! now (not started, busy), and it carries on. After Failed the helper exits non-zero.
//!
//! # Framing
//!
//! Integers are little-endian. After the helper's preamble, each direction is a sequence of
//! messages, each a 5-byte header and a payload:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | message type |
//! | 4 | payload length `len` (u32), checked against the type's bound before a byte is read or allocated |
//! | len | payload: the type's fields in the order listed below |
//!
//! Field types: `u8`, `u32`, `u64`; `f64` (IEEE 754 bits as a u64); `str` (a u16 length, then
//! that many bytes of UTF-8 without control characters; `text` allows `\n` and `\t`); `json` (the
//! rest of the payload: UTF-8 JSON text, syntax checked, not interpreted here); `jpeg` (the rest
//! of the payload: JPEG bytes, not checked here, read into one allocation of their own and handed
//! on as [`Bytes`]). A payload must be used up exactly.
//!
//! # Handshake
//!
//! The helper's stdout starts with a preamble, written before the helper touches libcamera:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | [`MAGIC`] `89 53 53 43 41 4D 0D 0A` (`\x89SSCAM\r\n`; no text starts with byte `0x89`) |
//! | 2 | protocol version (u16), [`PROTOCOL_VERSION`] |
//! | 5 + len | a Hello message (type `0x01`, `len` ≤ [`MAX_HELLO_BYTES`]) |
//!
//! [`MessageReader::handshake`] reads it: no byte at all is [`ProtocolError::NoHello`] (the
//! helper died first, e.g. the loader could not find `libcamera.so.0.X`: its stderr says so);
//! other first bytes are [`ProtocolError::NotOurProtocol`] with those bytes as text; another
//! version is [`ProtocolError::VersionMismatch`], whose message tells the user what to do.
//!
//! # Messages, helper → server
//!
//! | type | message | fields (bound) |
//! |---|---|---|
//! | `0x01` | Hello | helper version `str` (≤ 128), libcamera built against `str` (≤ 128), libcamera loaded `str` (≤ 128) |
//! | `0x02` | Started | width `u32`, height `u32` (1..=65535), pixel format `str` (≤ 32), fps `f64` (> 0, ≤ 1000), camera id `str` (≤ 256), model `str` (≤ 128) |
//! | `0x03` | Frame | seq `u64`, captured Unix ns `u64`, width `u32`, height `u32` (1..=65535), `jpeg` (1..=`max_frame_bytes`) |
//! | `0x04` | Alive | seq `u64` |
//! | `0x05` | Failed | kind `u8` ([`FailureKind`], 1..=6), message `text` (≤ 4096) |
//! | `0x06` | StillResult | id `u32`, width `u32`, height `u32` (1..=65535), `jpeg` (1..=`max_still_bytes`) |
//! | `0x07` | ControlsReply | id `u32`, `json` (≤ 256 KiB): [`requests::ControlsReply`] |
//! | `0x08` | RequestError | id `u32`, message `text` (≤ 4096) |
//!
//! `seq` is the helper's capture sequence: it strictly increases over Frames and Alives together
//! (a gap is frames captured but not sent), and starts afresh with each helper. The capture time
//! is the sensor timestamp mapped to the wall clock. Started comes at most once, before any
//! Frame, Alive, StillResult or ControlsReply. Failure kinds: 1 no camera, 2 camera busy,
//! 3 configuration (the only one a restart cannot fix, [`FailureKind::is_retryable`]),
//! 4 libcamera, 5 encoder, 6 other.
//!
//! # Commands, server → helper
//!
//! | type | command | fields (bound) |
//! |---|---|---|
//! | `0x81` | Start | settings `json` (≤ 64 KiB): [`HelperSettings`] (stream id, `[stream.camera]`, `[stream.encoder]`, `[stream.overlay]`, start-up controls, `max_frame_bytes`) |
//! | `0x82` | Demand | wanted `u8` (0 or 1) |
//! | `0x83` | Stop | (none) |
//! | `0x84` | Still | id `u32` |
//! | `0x85` | SetControls | id `u32`, `json` (≤ 64 KiB): control name → value |
//! | `0x86` | ListControls | id `u32` |
//!
//! Start comes exactly once, before any other command. The high bit of a type says its
//! direction, so a crossed pipe is an unknown type at once. Pausing needs no command: it is Stop
//! (the helper exits, so the camera is surely free), and resuming starts a new helper.
//!
//! # Requests: stills and controls
//!
//! Defined in [`requests`] (the JSON types and the checks both ends make):
//!
//! - **Still** `{ id }`: one picture at the still size of the Start settings
//!   (`camera.still_width` × `still_height`, 0 × 0 = the sensor's full size), JPEG quality
//!   `camera.still_quality`, taken as `camera.still_mode` says (`dual`: a second output filled
//!   only for this request; `switch`: the stream stops, the camera is reconfigured for the still
//!   and back; `auto`: dual where the camera takes both outputs at their sizes, else switch),
//!   turned like the stream (rotation 90/270) and with the stream's overlay. Answered by
//!   StillResult with the picture's actual size. Stills asked for while one is being taken are
//!   answered with the same picture.
//! - **ListControls** `{ id }`: answered by ControlsReply `{"controls": [ControlInfo…]}` — every
//!   control the camera has, the ones streamserver can set ([`requests::CONTROLS`]) marked
//!   `settable`, each with libcamera's id and name, its type, min/max/default and current value
//!   in canonical form, and an enum's accepted values (`{"name": "continuous", "value": 2}`).
//! - **SetControls** `{ id, json }`: `json` is an object of control name → value (the values of
//!   `[stream.camera] controls`: `{"AfMode": "continuous", "LensPosition": 2.0}`; an enum value
//!   by name, case-insensitively, or by number). The helper checks every one first — the name is
//!   known, the value has the control's type, the camera has the control, the value is in its
//!   range — and answers ControlsReply `{"rejected": {"control", "reason", "message"}}`
//!   (`reason`: `unknown`, `unsupported`, `out_of_range`, `wrong_type`) with nothing applied, or
//!   applies all of them from the next camera request on and answers `{"applied": {name:
//!   value…}}` with the values in canonical form.
//!
//! RequestError answers only what the helper cannot do now: the camera is not started yet,
//! [`MAX_PENDING_REQUESTS`] are in flight, or the camera failed while taking the still. The
//! Start settings carry the start-up controls ([`HelperSettings::controls`]: the config's, with
//! the values set since on top, so they survive a new helper): a control the camera lacks, or a
//! value out of its range, is a warning there, not a failure.
//!
//! # Versions
//!
//! - Helper and server speak exactly one [`PROTOCOL_VERSION`] and must agree: the server refuses
//!   any other and never sends that helper a command; the helper needs no check of its own (a
//!   server that sends Start has accepted its version). Both are built from one source tree and
//!   installed together (`install-service.sh`), so there is no negotiation.
//! - Any change on the wire bumps the version: a message, a field, a bound, a meaning, or a
//!   change of the Start settings JSON that a helper of the old schema would misread or refuse.
//! - Frozen for every version, so that any server can name any helper: the magic, the version
//!   field, the message header, Hello's type `0x01`, its bound [`MAX_HELLO_BYTES`] and its first
//!   field (the helper's version).
//!
//! # Errors
//!
//! Every violation — an unknown type, a length over its bound, a payload too short or too long,
//! bad UTF-8 or JSON, a value out of range, a message out of order, end of file inside a message
//! — is a [`ProtocolError`] and ends the conversation: a byte stream whose lengths cannot be
//! trusted cannot be resynchronised. The server kills the helper (and its supervisor starts a
//! new one); the helper exits. Unknown types are errors rather than skipped: with one exact
//! version on both sides an unknown type is a bug or corruption, skipping it would hide that and
//! buys no compatibility. The writers never send what the readers reject: they refuse with
//! [`ProtocolError::Refused`] before writing a byte (the stream stays usable), except that a
//! `text` over its bound is cut at a character boundary (a failure report must get through).
//!
//! # Cost
//!
//! A message is one `write_vectored` of its header and fields plus, for a Frame or StillResult,
//! the caller's JPEG slice (no copy into a buffer; a partial write goes on where it stopped),
//! then a flush of `W`. The reader reads headers and small messages through an 8 KiB buffer
//! and a JPEG into one allocation of exactly its size (what is already buffered, then straight
//! from the pipe), frozen into the [`Bytes`] that the server publishes as is.

mod error;
mod framed;
mod read;
pub mod requests;
mod settings;
mod wire;
mod write;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

pub use error::{Peer, ProtocolError};
pub use read::{CommandReader, MessageReader};
pub use settings::{HelperSettings, SettingsError};
pub use write::{CommandWriter, MessageWriter};

/// The first bytes on the helper's stdout. Frozen.
pub const MAGIC: [u8; 8] = *b"\x89SSCAM\r\n";
/// The protocol version this build speaks (2: the JSON of stills and controls, and the
/// still keys and start-up controls in the Start settings).
pub const PROTOCOL_VERSION: u16 = 2;

/// Bound of Hello's payload. Frozen, so any server can read any helper's version.
pub const MAX_HELLO_BYTES: usize = 4096;
/// Bound of each version string in Hello.
pub const MAX_VERSION_BYTES: usize = 128;
/// Bound of Started's pixel format name (libcamera's, e.g. `YUV420`).
pub const MAX_FORMAT_BYTES: usize = 32;
/// Bound of Started's camera id (libcamera's, e.g. `/base/soc/i2c0mux/i2c@1/imx708@1a`).
pub const MAX_CAMERA_ID_BYTES: usize = 256;
/// Bound of Started's camera model (e.g. `imx708_wide`).
pub const MAX_MODEL_BYTES: usize = 128;
/// Bound of the text of Failed and RequestError.
pub const MAX_TEXT_BYTES: usize = 4096;
/// Bound of Start's settings JSON.
pub const MAX_SETTINGS_BYTES: usize = 64 * 1024;
/// Bound of SetControls' JSON.
pub const MAX_SET_CONTROLS_BYTES: usize = 64 * 1024;
/// Bound of ControlsReply's JSON (every control with its range and enum names).
pub const MAX_CONTROLS_REPLY_BYTES: usize = 256 * 1024;
/// Largest width or height of a picture (JPEG's own limit).
pub const MAX_DIMENSION: u32 = 65535;
/// Largest frame rate Started may report.
pub const MAX_FPS: f64 = 1000.0;
/// While frames are not wanted, the helper writes an Alive when it completed a frame and has
/// written nothing for this long.
pub const ALIVE_INTERVAL: Duration = Duration::from_millis(250);
/// Requests the server may have in flight; the helper answers more with RequestError.
pub const MAX_PENDING_REQUESTS: usize = 8;

/// The configured bounds of the two JPEG-carrying messages (the rest are fixed above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest Frame JPEG, in bytes (the stream's `max_frame_bytes`).
    pub max_frame_bytes: usize,
    /// Largest StillResult JPEG, in bytes.
    pub max_still_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 16 * 1024 * 1024,
            max_still_bytes: 64 * 1024 * 1024,
        }
    }
}

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
    /// The JPEG, in an allocation of its own.
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

#[cfg(test)]
mod tests;
