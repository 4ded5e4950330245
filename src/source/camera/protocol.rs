//! The camera protocol: how the server and its camera helper (`streamserver-camera`) talk.
//!
//! This module is the protocol's definition and its only implementation: the typed messages
//! ([`Message`] helper → server, [`Command`] server → helper), a reader and a writer for each
//! direction, [`ProtocolError`] and the Start settings ([`HelperSettings`]). It needs only std,
//! `libc`, `bytes`, `thiserror`, `serde`/`serde_json`, the config types and the shared memory
//! for frames ([`crate::source::camera::shm`]; no libcamera), so both binaries compile it.
//!
//! # Transport
//!
//! The server spawns the helper with stdin and stdout as pipes (and the shared memory for
//! frames as fd 3, see below). The helper writes messages on its stdout ([`MessageWriter`] →
//! [`MessageReader`]); the server writes commands on the helper's stdin ([`CommandWriter`] →
//! [`CommandReader`]); the helper's stderr is plain log text, which the server logs under the
//! stream's id. Both ends use blocking `std::io` on OS threads of their own, never async code.
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
//! | `0x09` | FrameShm | seq `u64`, captured Unix ns `u64`, width `u32`, height `u32` (1..=65535), slot `u32` (< slots), len `u32` (1..=min(slot size, `max_frame_bytes`)) |
//!
//! `seq` is the helper's capture sequence: it strictly increases over Frames, FrameShms and
//! Alives together
//! (a gap is frames captured but not sent), and starts afresh with each helper. The capture time
//! is the sensor timestamp mapped to the wall clock. Started comes at most once, before any
//! Frame, FrameShm, Alive, StillResult or ControlsReply. A FrameShm is a Frame whose JPEG is
//! the first `len` bytes of a slot of the shared memory (below); the server reads it as a
//! [`Message::Frame`]. Failure kinds: 1 no camera, 2 camera busy,
//! 3 configuration (the only one a restart cannot fix, [`FailureKind::is_retryable`]),
//! 4 libcamera, 5 encoder, 6 other.
//!
//! # Commands, server → helper
//!
//! | type | command | fields (bound) |
//! |---|---|---|
//! | `0x81` | Start | settings `json` (≤ 64 KiB): [`HelperSettings`] (stream id, `[stream.camera]`, `[stream.encoder]`, `[stream.overlay]`, start-up controls, `max_frame_bytes`, the shared memory's layout or null) |
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
//! # Shared memory for frames
//!
//! A 1080p JPEG (about 330 KiB) crosses a 64 KiB pipe in several write/wake-up rounds and is
//! copied twice on the way, which cost 6.6 % of its encode at 30 fps. So frames normally go
//! through shared memory, and only a small FrameShm message goes through the pipe:
//!
//! - **The region.** For each helper it spawns, the server creates a memfd
//!   (`MFD_CLOEXEC | MFD_ALLOW_SEALING`), sizes it to a header (one page) and [`shm::FRAME_SLOTS`]
//!   slots of `max_frame_bytes` rounded up to whole pages, seals it with `F_SEAL_SHRINK |
//!   F_SEAL_GROW | F_SEAL_SEAL` (the helper cannot shrink it under the server's mapping, so the
//!   server never takes a SIGBUS), maps it, and hands it to the helper as fd 3 (the helper
//!   alone inherits it). The Start settings' `shared_frames` says where it is and its geometry
//!   ([`shm::ShmLayout`]: fd, slots, slot size, header size); null means none was offered and
//!   every frame goes inline. Pages are backed by memory only once written, so a region holds
//!   about what the frames actually sent need, not `slots × max_frame_bytes`.
//! - **The header.** Bytes 0–7 [`shm::MAGIC`] `SSFRAMES`, 8–11 slots (u32), 16–23 slot size
//!   (u64), 24–31 header size (u64), from byte 64 one u32 state per slot (atomics shared by both
//!   processes). Slot `i` starts at `header size + i × slot size`.
//! - **The helper checks** the region before it uses it: the fd is a memfd sealed against
//!   shrinking and growing, `fstat` gives exactly the layout's size, and the header matches the
//!   layout. Otherwise it sends Failed (kind other) saying what is wrong, and exits.
//! - **Slot states:** FREE (0) → WRITING (1, the helper claims a FREE slot by compare-and-swap,
//!   lowest first, before it encodes a frame, and libjpeg-turbo writes the JPEG straight into
//!   it; or, for a JPEG already encoded elsewhere, claims one and copies it in) → SENT (2, the
//!   helper stores it with Release ordering, then sends FrameShm) → LEASED (3, the server's
//!   compare-and-swap from SENT with Acquire ordering when it reads the FrameShm) → FREE (the
//!   server stores it with Release ordering when the last [`Bytes`] of the frame is dropped:
//!   stream clients and the latest-frame slot may hold a frame for a while). A slot the helper
//!   claimed but does not send (the JPEG did not fit or is over `max_frame_bytes`, the encode
//!   failed, the frame was overtaken by a newer one, the helper is stopping) goes from WRITING
//!   back to FREE (the helper's Release store), and a SENT slot whose FrameShm could not be
//!   written too. The helper writes only slots it moved from FREE to WRITING; the server never
//!   writes a slot (it maps them read-only).
//! - **No FREE slot** (slow clients hold old frames): the helper encodes that frame into its own
//!   buffer and copies it into a slot freed meanwhile, or sends it inline in a Frame message,
//!   counting it, so frames never wait for the server. A JPEG larger than a slot is encoded
//!   again into the helper's own buffer and then dropped (over `max_frame_bytes`, which the
//!   slot size covers) or, with a smaller slot than that, sent inline.
//! - **The server checks** every FrameShm: shared memory was offered, slot < slots, 1 ≤ len ≤
//!   the slot size and ≤ `max_frame_bytes`, the slot is SENT, and the server does not hold it
//!   already. Any failure is a [`ProtocolError`] naming the field (`FrameShm.slot`,
//!   `FrameShm.len`) and ends the helper like any protocol error. A helper that writes a slot
//!   it does not own can change the bytes of a frame, never their length or place.
//! - **A new helper gets a new region.** The old region stays mapped while frames leased from
//!   it are held (the last frame stays on air across a restart) and is unmapped when the last
//!   one is dropped; the server closes its descriptor as soon as the helper is spawned.
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
//! A FrameShm is one 37-byte write; the helper copies the JPEG once into its slot and the
//! server copies nothing (the [`Bytes`] it publishes point into the mapping). Inline, a
//! message is one `write_vectored` of its header and fields plus, for a Frame or StillResult,
//! the caller's JPEG slice (no copy into a buffer; a partial write goes on where it stopped),
//! then a flush of `W`. The reader reads headers and small messages through an 8 KiB buffer
//! and a JPEG into one allocation of exactly its size (what is already buffered, then straight
//! from the pipe), frozen into the [`Bytes`] that the server publishes as is.

mod error;
mod framed;
mod message;
mod read;
mod read_command;
pub mod requests;
mod settings;
mod wire;
mod write;

use std::time::Duration;

#[cfg(doc)]
use crate::source::camera::shm;
#[cfg(doc)]
use bytes::Bytes;
pub use error::{Peer, ProtocolError};
pub use message::{
    unix_ns, Command, Failure, FailureKind, Frame, FrameInfo, Hello, Message, Started,
};
pub use read::MessageReader;
pub use read_command::CommandReader;
pub use settings::{HelperSettings, SettingsError};
pub use write::{CommandWriter, MessageWriter};

/// The first bytes on the helper's stdout. Frozen.
pub const MAGIC: [u8; 8] = *b"\x89SSCAM\r\n";
/// The protocol version this build speaks (2: frames through shared memory; 3: the JSON of
/// stills and controls, and the still keys and start-up controls in the Start settings).
pub const PROTOCOL_VERSION: u16 = 3;

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

#[cfg(test)]
mod tests;
