//! The writers: [`MessageWriter`] (the helper's stdout) and [`CommandWriter`] (the server's end
//! of the helper's stdin). Each message is checked first — what the reader would reject is
//! refused before a byte is written — then written with one vectored write and flushed.

use std::io::{self, IoSlice, Write};

use serde::Serialize;

use super::wire::{self, Encoder};
use super::{
    FailureKind, FrameInfo, Hello, Peer, ProtocolError, Started, MAGIC, MAX_CAMERA_ID_BYTES,
    MAX_CONTROLS_REPLY_BYTES, MAX_FORMAT_BYTES, MAX_FPS, MAX_MODEL_BYTES, MAX_SETTINGS_BYTES,
    MAX_SET_CONTROLS_BYTES, MAX_VERSION_BYTES, PROTOCOL_VERSION,
};

/// Writes `head` then `body` (may be empty) with as few syscalls as `W` allows, going on after
/// partial writes, then flushes.
fn send<W: Write>(out: &mut W, peer: Peer, head: &[u8], body: &[u8]) -> Result<(), ProtocolError> {
    let mut slices = [IoSlice::new(head), IoSlice::new(body)];
    let mut bufs = &mut slices[..];
    IoSlice::advance_slices(&mut bufs, 0);
    let io = |source| ProtocolError::Io { peer, source };
    while !bufs.is_empty() {
        match out.write_vectored(bufs) {
            Ok(0) => return Err(io(io::ErrorKind::WriteZero.into())),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    out.flush().map_err(io)
}

/// JSON text of `value` within `max` bytes.
fn json<T: Serialize + ?Sized>(code: u8, value: &T, max: usize) -> Result<Vec<u8>, ProtocolError> {
    let text = serde_json::to_vec(value).map_err(|e| wire::refused(code, format!("JSON: {e}")))?;
    if text.len() > max {
        let reason = format!("JSON of {} bytes, over its {max}", text.len());
        return Err(wire::refused(code, reason));
    }
    Ok(text)
}

/// The helper's writer of messages to the server. One message at a time: share it between
/// threads behind a `Mutex`.
pub struct MessageWriter<W> {
    out: W,
    buf: Vec<u8>,
    started: bool,
    last_seq: Option<u64>,
}

impl<W: Write> MessageWriter<W> {
    /// Writes the preamble and Hello (the first thing the helper does).
    pub fn hello(out: W, hello: &Hello) -> Result<Self, ProtocolError> {
        Self::hello_as(out, PROTOCOL_VERSION, hello)
    }

    /// [`MessageWriter::hello`] claiming another protocol version: for tests of the version
    /// check (a fake helper of another version), never for a real helper.
    #[doc(hidden)]
    pub fn hello_as(mut out: W, version: u16, hello: &Hello) -> Result<Self, ProtocolError> {
        let mut buf = Vec::new();
        Encoder::new(&mut buf, wire::HELLO)
            .str(
                "helper_version",
                &hello.helper_version,
                MAX_VERSION_BYTES,
                false,
            )?
            .str(
                "libcamera_built",
                &hello.libcamera_built,
                MAX_VERSION_BYTES,
                false,
            )?
            .str(
                "libcamera_loaded",
                &hello.libcamera_loaded,
                MAX_VERSION_BYTES,
                false,
            )?
            .finish(0)?;
        let mut preamble = MAGIC.to_vec();
        preamble.extend_from_slice(&version.to_le_bytes());
        send(&mut out, Peer::Server, &preamble, &buf)?;
        Ok(Self {
            out,
            buf,
            started: false,
            last_seq: None,
        })
    }

    pub fn started(&mut self, s: &Started) -> Result<(), ProtocolError> {
        let refused = |reason| Err(wire::refused(wire::STARTED, reason));
        if self.started {
            return refused("Started was sent already".into());
        }
        if !(wire::dimension_ok(s.width) && wire::dimension_ok(s.height)) {
            return refused(format!("size {}x{} out of range", s.width, s.height));
        }
        if !(s.fps > 0.0 && s.fps <= MAX_FPS) {
            return refused(format!("fps {} is outside (0, {MAX_FPS}]", s.fps));
        }
        Encoder::new(&mut self.buf, wire::STARTED)
            .u32(s.width)
            .u32(s.height)
            .str("format", &s.format, MAX_FORMAT_BYTES, false)?
            .f64(s.fps)
            .str("camera_id", &s.camera_id, MAX_CAMERA_ID_BYTES, false)?
            .str("model", &s.model, MAX_MODEL_BYTES, false)?
            .finish(0)?;
        self.started = true;
        self.send(&[])
    }

    /// A frame. Refused (nothing written: drop the frame) when its seq is not above the last
    /// Frame's or Alive's, e.g. an encode worker finishing after a newer frame went out.
    pub fn frame(&mut self, info: &FrameInfo, jpeg: &[u8]) -> Result<(), ProtocolError> {
        self.check_frame(wire::FRAME, info, jpeg.len())?;
        Encoder::new(&mut self.buf, wire::FRAME)
            .u64(info.seq)
            .u64(info.captured_unix_ns)
            .u32(info.width)
            .u32(info.height)
            .finish(jpeg.len())?;
        self.last_seq = Some(info.seq);
        self.send(jpeg)
    }

    /// A frame in shared memory: `len` bytes in slot `slot`, which the caller marked SENT
    /// (see [`crate::source::camera::shm::SlotWriter::write`]). Refused like [`Self::frame`];
    /// the caller then frees the slot again.
    pub fn frame_shm(
        &mut self,
        info: &FrameInfo,
        slot: u32,
        len: u32,
    ) -> Result<(), ProtocolError> {
        self.check_frame(wire::FRAME_SHM, info, len as usize)?;
        Encoder::new(&mut self.buf, wire::FRAME_SHM)
            .u64(info.seq)
            .u64(info.captured_unix_ns)
            .u32(info.width)
            .u32(info.height)
            .u32(slot)
            .u32(len)
            .finish(0)?;
        self.last_seq = Some(info.seq);
        self.send(&[])
    }

    /// The camera completed frame `seq`, which is not sent (see [`super::ALIVE_INTERVAL`]).
    pub fn alive(&mut self, seq: u64) -> Result<(), ProtocolError> {
        self.check_seq(wire::ALIVE, seq)?;
        Encoder::new(&mut self.buf, wire::ALIVE)
            .u64(seq)
            .finish(0)?;
        self.last_seq = Some(seq);
        self.send(&[])
    }

    /// The helper's last message; `message` is cut to [`super::MAX_TEXT_BYTES`].
    pub fn failed(&mut self, kind: FailureKind, message: &str) -> Result<(), ProtocolError> {
        Encoder::new(&mut self.buf, wire::FAILED)
            .u8(kind as u8)
            .text("message", message)?
            .finish(0)?;
        self.send(&[])
    }

    pub fn still_result(
        &mut self,
        id: u32,
        width: u32,
        height: u32,
        jpeg: &[u8],
    ) -> Result<(), ProtocolError> {
        self.check_started(wire::STILL_RESULT)?;
        if !(wire::dimension_ok(width) && wire::dimension_ok(height)) || jpeg.is_empty() {
            let what = format!("{width}x{height}, {} bytes", jpeg.len());
            return Err(wire::refused(wire::STILL_RESULT, what));
        }
        Encoder::new(&mut self.buf, wire::STILL_RESULT)
            .u32(id)
            .u32(width)
            .u32(height)
            .finish(jpeg.len())?;
        self.send(jpeg)
    }

    pub fn controls_reply<T: Serialize + ?Sized>(
        &mut self,
        id: u32,
        value: &T,
    ) -> Result<(), ProtocolError> {
        self.check_started(wire::CONTROLS_REPLY)?;
        let text = json(wire::CONTROLS_REPLY, value, MAX_CONTROLS_REPLY_BYTES)?;
        Encoder::new(&mut self.buf, wire::CONTROLS_REPLY)
            .u32(id)
            .bytes(&text)
            .finish(0)?;
        self.send(&[])
    }

    /// `message` is cut to [`super::MAX_TEXT_BYTES`].
    pub fn request_error(&mut self, id: u32, message: &str) -> Result<(), ProtocolError> {
        Encoder::new(&mut self.buf, wire::REQUEST_ERROR)
            .u32(id)
            .text("message", message)?
            .finish(0)?;
        self.send(&[])
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    fn check_started(&self, code: u8) -> Result<(), ProtocolError> {
        if self.started {
            Ok(())
        } else {
            Err(wire::refused(code, "before Started".into()))
        }
    }

    fn check_seq(&self, code: u8, seq: u64) -> Result<(), ProtocolError> {
        self.check_started(code)?;
        match self.last_seq {
            Some(last) if seq <= last => Err(wire::refused(
                code,
                format!("seq {seq} is not after {last}"),
            )),
            _ => Ok(()),
        }
    }

    /// What a Frame or FrameShm must be: after Started, a new seq, a size in range, a JPEG.
    fn check_frame(&self, code: u8, info: &FrameInfo, len: usize) -> Result<(), ProtocolError> {
        self.check_seq(code, info.seq)?;
        if !(wire::dimension_ok(info.width) && wire::dimension_ok(info.height)) {
            let size = format!("size {}x{} out of range", info.width, info.height);
            return Err(wire::refused(code, size));
        }
        if len == 0 {
            return Err(wire::refused(code, "empty JPEG".into()));
        }
        Ok(())
    }

    fn send(&mut self, body: &[u8]) -> Result<(), ProtocolError> {
        send(&mut self.out, Peer::Server, &self.buf, body)
    }
}

/// The server's writer of commands to the helper.
pub struct CommandWriter<W> {
    out: W,
    buf: Vec<u8>,
    started: bool,
}

impl<W: Write> CommandWriter<W> {
    pub fn new(to_helper: W) -> Self {
        Self {
            out: to_helper,
            buf: Vec::new(),
            started: false,
        }
    }

    /// Start with these settings (the stream's `[stream.camera]` table), serialized as JSON.
    pub fn start<T: Serialize + ?Sized>(&mut self, settings: &T) -> Result<(), ProtocolError> {
        if self.started {
            return Err(wire::refused(wire::START, "Start was sent already".into()));
        }
        let text = json(wire::START, settings, MAX_SETTINGS_BYTES)?;
        Encoder::new(&mut self.buf, wire::START)
            .bytes(&text)
            .finish(0)?;
        self.started = true;
        self.send()
    }

    pub fn demand(&mut self, wanted: bool) -> Result<(), ProtocolError> {
        let enc = self.after_start(wire::DEMAND)?;
        enc.u8(u8::from(wanted)).finish(0)?;
        self.send()
    }

    pub fn stop(&mut self) -> Result<(), ProtocolError> {
        self.after_start(wire::STOP)?.finish(0)?;
        self.send()
    }

    pub fn still(&mut self, id: u32) -> Result<(), ProtocolError> {
        self.after_start(wire::STILL)?.u32(id).finish(0)?;
        self.send()
    }

    /// Set controls: `controls` serializes to a JSON object of name → value.
    pub fn set_controls<T: Serialize + ?Sized>(
        &mut self,
        id: u32,
        controls: &T,
    ) -> Result<(), ProtocolError> {
        let text = json(wire::SET_CONTROLS, controls, MAX_SET_CONTROLS_BYTES)?;
        self.after_start(wire::SET_CONTROLS)?
            .u32(id)
            .bytes(&text)
            .finish(0)?;
        self.send()
    }

    pub fn list_controls(&mut self, id: u32) -> Result<(), ProtocolError> {
        self.after_start(wire::LIST_CONTROLS)?.u32(id).finish(0)?;
        self.send()
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    fn after_start(&mut self, code: u8) -> Result<Encoder<'_>, ProtocolError> {
        if self.started {
            Ok(Encoder::new(&mut self.buf, code))
        } else {
            Err(wire::refused(code, "before Start".into()))
        }
    }

    fn send(&mut self) -> Result<(), ProtocolError> {
        send(&mut self.out, Peer::Helper, &self.buf, &[])
    }
}
