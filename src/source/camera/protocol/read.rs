//! The server's reader, [`MessageReader`] (its end of the helper's stdout): it checks a
//! message's length against its bound before reading or allocating its payload, and its order
//! in the conversation. The helper's reader of commands is [`super::CommandReader`].

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;

use super::framed::{Framed, SHOWN_BYTES};
use super::wire::{self, Decoder, HEADER_BYTES};
use super::{
    Failure, FailureKind, Frame, FrameInfo, Hello, Limits, Message, Peer, ProtocolError, Started,
    MAGIC, MAX_CAMERA_ID_BYTES, MAX_FORMAT_BYTES, MAX_FPS, MAX_HELLO_BYTES, MAX_MODEL_BYTES,
    MAX_TEXT_BYTES, MAX_VERSION_BYTES, PROTOCOL_VERSION,
};
use crate::source::camera::shm::FrameRegion;

/// The server's reader of the helper's stdout.
pub struct MessageReader<R> {
    framed: Framed<R>,
    limits: Limits,
    started: bool,
    /// The last seq of a Frame, FrameShm or Alive: they must strictly increase.
    last_seq: Option<u64>,
    /// The shared memory offered to the helper (FrameShm is an error without it).
    frames: Option<Arc<FrameRegion>>,
}

impl<R: Read> MessageReader<R> {
    /// Reads the helper's preamble and Hello and checks the protocol version.
    pub fn handshake(from_helper: R, limits: Limits) -> Result<(Self, Hello), ProtocolError> {
        let mut framed = Framed::new(from_helper, Peer::Helper);
        let mut magic = [0; MAGIC.len()];
        let got = framed.fill(&mut magic)?;
        if got == 0 {
            return Err(ProtocolError::NoHello);
        }
        if magic[..got] != MAGIC[..got] {
            let mut shown = magic[..got].to_vec();
            let more = framed.inner.buffer();
            shown.extend_from_slice(&more[..more.len().min(SHOWN_BYTES - got)]);
            return Err(ProtocolError::NotOurProtocol {
                text: String::from_utf8_lossy(&shown).trim_end().to_owned(),
            });
        }
        if got < MAGIC.len() {
            return Err(framed.truncated("the preamble", got, MAGIC.len() + 2));
        }
        let mut version = [0; 2];
        let got = framed.fill(&mut version)?;
        if got < version.len() {
            return Err(framed.truncated("the preamble", MAGIC.len() + got, MAGIC.len() + 2));
        }
        let version = u16::from_le_bytes(version);
        if version != PROTOCOL_VERSION {
            // Hello's first field is the same in every version: name the helper if it can.
            let helper_version = read_hello(&mut framed, false)
                .ok()
                .map(|h| h.helper_version);
            return Err(ProtocolError::VersionMismatch {
                theirs: version,
                ours: PROTOCOL_VERSION,
                helper_version,
            });
        }
        let hello = read_hello(&mut framed, true)?;
        let reader = Self {
            framed,
            limits,
            started: false,
            last_seq: None,
            frames: None,
        };
        Ok((reader, hello))
    }

    /// Accepts FrameShm messages for slots of `region` (the one offered in the Start settings):
    /// each becomes a [`Message::Frame`] whose JPEG is leased from it.
    pub fn share_frames(&mut self, region: Arc<FrameRegion>) {
        self.frames = Some(region);
    }

    /// The next message; [`ProtocolError::Closed`] when the helper closed its stdout between
    /// messages. A FrameShm is returned as the [`Message::Frame`] it carries.
    pub fn read_message(&mut self) -> Result<Message, ProtocolError> {
        let (code, len) = self.framed.header()?;
        self.check_header(code, len)?;
        let message = match code {
            wire::FRAME => {
                let fixed: [u8; wire::FRAME_FIXED_BYTES] = self.read_fixed(code, len)?;
                let mut d = Decoder::new(&fixed, Peer::Helper, code);
                let info = frame_info(&mut d)?;
                self.next_seq(info.seq)?;
                let jpeg = self.read_jpeg(code, len, fixed.len())?;
                Message::Frame(Frame { info, jpeg })
            }
            wire::FRAME_SHM => {
                let fixed: [u8; wire::FRAME_SHM_BYTES] = self.read_fixed(code, len)?;
                let mut d = Decoder::new(&fixed, Peer::Helper, code);
                let info = frame_info(&mut d)?;
                let (slot, jpeg_len) = (d.u32("slot")?, d.u32("len")? as usize);
                d.finish()?;
                self.next_seq(info.seq)?;
                let jpeg = self.lease(slot, jpeg_len)?;
                Message::Frame(Frame { info, jpeg })
            }
            wire::STILL_RESULT => {
                let fixed: [u8; wire::STILL_FIXED_BYTES] = self.read_fixed(code, len)?;
                let mut d = Decoder::new(&fixed, Peer::Helper, code);
                let id = d.u32("id")?;
                let (width, height) = (d.dimension("width")?, d.dimension("height")?);
                let jpeg = self.read_jpeg(code, len, fixed.len())?;
                Message::StillResult {
                    id,
                    width,
                    height,
                    jpeg,
                }
            }
            _ => {
                let payload = self.framed.payload(len, wire::name(code))?;
                self.decode(code, &payload)?
            }
        };
        if let Message::Started(_) = message {
            self.started = true;
        }
        Ok(message)
    }

    /// Type, length and order: all checked before a byte of the payload is read.
    fn check_header(&self, code: u8, len: usize) -> Result<(), ProtocolError> {
        let peer = Peer::Helper;
        if code == wire::HELLO {
            return Err(self.out_of_order(code, "a second Hello"));
        }
        let bounds = wire::message_bounds(code, &self.limits)
            .ok_or(ProtocolError::UnknownType { peer, code })?;
        // A JPEG over its configured bound is named by the config key.
        let jpeg = match code {
            wire::FRAME => Some((
                "a Frame JPEG",
                wire::FRAME_FIXED_BYTES,
                self.limits.max_frame_bytes,
                "max_frame_bytes",
            )),
            wire::STILL_RESULT => Some((
                "a StillResult JPEG",
                wire::STILL_FIXED_BYTES,
                self.limits.max_still_bytes,
                "max_still_bytes",
            )),
            _ => None,
        };
        if let Some((what, fixed, max, limit)) = jpeg {
            if len.saturating_sub(fixed) > max {
                let len = len - fixed;
                return Err(ProtocolError::TooLong {
                    peer,
                    what,
                    len,
                    max,
                    limit,
                });
            }
        }
        wire::check_len(peer, code, len, bounds)?;
        match code {
            wire::STARTED if self.started => Err(self.out_of_order(code, "a second Started")),
            wire::STARTED | wire::FAILED | wire::REQUEST_ERROR => Ok(()),
            _ if !self.started => Err(self.out_of_order(code, "before Started")),
            _ => Ok(()),
        }
    }

    /// The fields before a JPEG; a truncation counts against the whole `len`-byte payload.
    fn read_fixed<const N: usize>(
        &mut self,
        code: u8,
        len: usize,
    ) -> Result<[u8; N], ProtocolError> {
        let mut fixed = [0; N];
        let got = self.framed.fill(&mut fixed)?;
        if got < N {
            return Err(self.framed.truncated(wire::name(code), got, len));
        }
        Ok(fixed)
    }

    fn decode(&mut self, code: u8, payload: &[u8]) -> Result<Message, ProtocolError> {
        let mut d = Decoder::new(payload, Peer::Helper, code);
        let message = match code {
            wire::STARTED => {
                let started = Started {
                    width: d.dimension("width")?,
                    height: d.dimension("height")?,
                    format: d.str("Started.format", MAX_FORMAT_BYTES, false)?,
                    fps: d.f64("fps")?,
                    camera_id: d.str("Started.camera_id", MAX_CAMERA_ID_BYTES, false)?,
                    model: d.str("Started.model", MAX_MODEL_BYTES, false)?,
                };
                if !(started.fps > 0.0 && started.fps <= MAX_FPS) {
                    return Err(d.invalid(format!("fps {} is outside (0, {MAX_FPS}]", started.fps)));
                }
                Message::Started(started)
            }
            wire::ALIVE => {
                let seq = d.u64("seq")?;
                self.next_seq(seq)?;
                Message::Alive { seq }
            }
            wire::FAILED => {
                let code = d.u8("kind")?;
                let kind = FailureKind::from_code(code)
                    .ok_or_else(|| d.invalid(format!("unknown failure kind {code}")))?;
                let message = d.str("Failed.message", MAX_TEXT_BYTES, true)?;
                Message::Failed(Failure { kind, message })
            }
            wire::CONTROLS_REPLY => Message::ControlsReply {
                id: d.u32("id")?,
                json: d.json("json")?,
            },
            wire::REQUEST_ERROR => Message::RequestError {
                id: d.u32("id")?,
                message: d.str("RequestError.message", MAX_TEXT_BYTES, true)?,
            },
            _ => unreachable!("read_message reads type {code:#04x} itself"),
        };
        d.finish()?;
        Ok(message)
    }

    /// The JPEG after `fixed` bytes of fields of a `len`-byte payload.
    fn read_jpeg(&mut self, code: u8, len: usize, fixed: usize) -> Result<Bytes, ProtocolError> {
        self.framed
            .jpeg(len - fixed)?
            .map_err(|got| self.framed.truncated(wire::name(code), fixed + got, len))
    }

    /// A FrameShm's JPEG: `len` bytes of slot `slot`, leased from the shared memory.
    fn lease(&self, slot: u32, len: usize) -> Result<Bytes, ProtocolError> {
        let peer = Peer::Helper;
        let Some(region) = &self.frames else {
            return Err(ProtocolError::Invalid {
                peer,
                what: "FrameShm",
                reason: "no shared memory was offered to this helper".into(),
            });
        };
        let max = self.limits.max_frame_bytes;
        if len > max {
            return Err(ProtocolError::TooLong {
                peer,
                what: "FrameShm.len",
                len,
                max,
                limit: "max_frame_bytes",
            });
        }
        region.lease(slot, len).map_err(|e| ProtocolError::Invalid {
            peer,
            what: e.field(),
            reason: e.to_string(),
        })
    }

    fn next_seq(&mut self, seq: u64) -> Result<(), ProtocolError> {
        match self.last_seq {
            Some(last) if seq <= last => Err(ProtocolError::Invalid {
                peer: Peer::Helper,
                what: "seq",
                reason: format!("{seq} after {last}: it must strictly increase"),
            }),
            _ => {
                self.last_seq = Some(seq);
                Ok(())
            }
        }
    }

    fn out_of_order(&self, code: u8, reason: &str) -> ProtocolError {
        ProtocolError::Invalid {
            peer: Peer::Helper,
            what: wire::name(code),
            reason: format!("out of order: {reason}"),
        }
    }
}

/// The fields Frame and FrameShm begin with.
fn frame_info(d: &mut Decoder<'_>) -> Result<FrameInfo, ProtocolError> {
    Ok(FrameInfo {
        seq: d.u64("seq")?,
        captured_unix_ns: d.u64("capture time")?,
        width: d.dimension("width")?,
        height: d.dimension("height")?,
    })
}

impl<R> std::fmt::Debug for MessageReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageReader")
            .field("limits", &self.limits)
            .field("started", &self.started)
            .field("last_seq", &self.last_seq)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

/// Hello after the preamble; `all` = this version's fields, else only the frozen first one.
fn read_hello<R: Read>(framed: &mut Framed<R>, all: bool) -> Result<Hello, ProtocolError> {
    let peer = framed.peer;
    let (code, len) = framed.header().map_err(|e| match e {
        ProtocolError::Closed { .. } => framed.truncated("Hello", 0, HEADER_BYTES),
        e => e,
    })?;
    if code != wire::HELLO {
        return Err(ProtocolError::Invalid {
            peer,
            what: "Hello",
            reason: format!("the preamble is followed by type {code:#04x}, not Hello"),
        });
    }
    // Another version's Hello need only hold its first field, the version string.
    let min = if all { 3 } else { 1 } * wire::STR_LEN_BYTES;
    wire::check_len(peer, code, len, (min, MAX_HELLO_BYTES))?;
    let payload = framed.payload(len, "Hello")?;
    let mut d = Decoder::new(&payload, peer, code);
    let helper_version = d.str("Hello.helper_version", MAX_VERSION_BYTES, false)?;
    if !all {
        return Ok(Hello {
            helper_version,
            libcamera_built: String::new(),
            libcamera_loaded: String::new(),
        });
    }
    let hello = Hello {
        helper_version,
        libcamera_built: d.str("Hello.libcamera_built", MAX_VERSION_BYTES, false)?,
        libcamera_loaded: d.str("Hello.libcamera_loaded", MAX_VERSION_BYTES, false)?,
    };
    d.finish()?;
    Ok(hello)
}
