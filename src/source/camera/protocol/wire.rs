//! The byte layout shared by the readers and the writers: type codes, the payload bounds of
//! each type, and the field encoder and decoder. The layout itself is documented in the parent
//! module; this file is its one implementation.

use super::{
    Limits, Peer, ProtocolError, MAX_CAMERA_ID_BYTES, MAX_CONTROLS_REPLY_BYTES, MAX_DIMENSION,
    MAX_FORMAT_BYTES, MAX_MODEL_BYTES, MAX_SETTINGS_BYTES, MAX_SET_CONTROLS_BYTES, MAX_TEXT_BYTES,
};

/// Message header: type u8 + payload length u32.
pub(super) const HEADER_BYTES: usize = 5;

// Helper → server.
pub(super) const HELLO: u8 = 0x01;
pub(super) const STARTED: u8 = 0x02;
pub(super) const FRAME: u8 = 0x03;
pub(super) const ALIVE: u8 = 0x04;
pub(super) const FAILED: u8 = 0x05;
pub(super) const STILL_RESULT: u8 = 0x06;
pub(super) const CONTROLS_REPLY: u8 = 0x07;
pub(super) const REQUEST_ERROR: u8 = 0x08;
pub(super) const FRAME_SHM: u8 = 0x09;
// Server → helper: the high bit set.
pub(super) const START: u8 = 0x81;
pub(super) const DEMAND: u8 = 0x82;
pub(super) const STOP: u8 = 0x83;
pub(super) const STILL: u8 = 0x84;
pub(super) const SET_CONTROLS: u8 = 0x85;
pub(super) const LIST_CONTROLS: u8 = 0x86;

/// Frame's fields before the JPEG: seq, captured_unix_ns, width, height.
pub(super) const FRAME_FIXED_BYTES: usize = 8 + 8 + 4 + 4;
/// FrameShm's fields: Frame's four, then slot and len.
pub(super) const FRAME_SHM_BYTES: usize = FRAME_FIXED_BYTES + 4 + 4;
/// StillResult's fields before the JPEG: id, width, height.
pub(super) const STILL_FIXED_BYTES: usize = 4 + 4 + 4;
/// A `str` field's length prefix.
pub(super) const STR_LEN_BYTES: usize = 2;
const STARTED_MAX_BYTES: usize =
    4 + 4 + 8 + 3 * STR_LEN_BYTES + MAX_FORMAT_BYTES + MAX_CAMERA_ID_BYTES + MAX_MODEL_BYTES;

/// A message type's name, for errors.
pub(super) fn name(code: u8) -> &'static str {
    match code {
        HELLO => "Hello",
        STARTED => "Started",
        FRAME => "Frame",
        ALIVE => "Alive",
        FAILED => "Failed",
        STILL_RESULT => "StillResult",
        CONTROLS_REPLY => "ControlsReply",
        REQUEST_ERROR => "RequestError",
        FRAME_SHM => "FrameShm",
        START => "Start",
        DEMAND => "Demand",
        STOP => "Stop",
        STILL => "Still",
        SET_CONTROLS => "SetControls",
        LIST_CONTROLS => "ListControls",
        _ => "unknown message",
    }
}

/// The payload bounds `(min, max)` of a helper → server type after Hello (None: not one of
/// them; Hello has its own, frozen bound).
pub(super) fn message_bounds(code: u8, limits: &Limits) -> Option<(usize, usize)> {
    Some(match code {
        STARTED => (4 + 4 + 8 + 3 * STR_LEN_BYTES, STARTED_MAX_BYTES),
        FRAME => (
            FRAME_FIXED_BYTES + 1,
            FRAME_FIXED_BYTES.saturating_add(limits.max_frame_bytes),
        ),
        ALIVE => (8, 8),
        FRAME_SHM => (FRAME_SHM_BYTES, FRAME_SHM_BYTES),
        FAILED => (1 + STR_LEN_BYTES, 1 + STR_LEN_BYTES + MAX_TEXT_BYTES),
        STILL_RESULT => (
            STILL_FIXED_BYTES + 1,
            STILL_FIXED_BYTES.saturating_add(limits.max_still_bytes),
        ),
        CONTROLS_REPLY => (4, 4 + MAX_CONTROLS_REPLY_BYTES),
        REQUEST_ERROR => (4 + STR_LEN_BYTES, 4 + STR_LEN_BYTES + MAX_TEXT_BYTES),
        _ => return None,
    })
}

/// The payload bounds `(min, max)` of a server → helper type (None: not one of them).
pub(super) fn command_bounds(code: u8) -> Option<(usize, usize)> {
    Some(match code {
        START => (0, MAX_SETTINGS_BYTES),
        DEMAND => (1, 1),
        STOP => (0, 0),
        STILL | LIST_CONTROLS => (4, 4),
        SET_CONTROLS => (4, 4 + MAX_SET_CONTROLS_BYTES),
        _ => return None,
    })
}

/// Checks a header's payload length against its type's bounds, before anything is read.
pub(super) fn check_len(
    peer: Peer,
    code: u8,
    len: usize,
    (min, max): (usize, usize),
) -> Result<(), ProtocolError> {
    let what = name(code);
    if min == max && len != min {
        Err(ProtocolError::Invalid {
            peer,
            what,
            reason: format!("payload of {len} bytes, must be {min}"),
        })
    } else if len > max {
        Err(ProtocolError::TooLong {
            peer,
            what,
            len,
            max,
            limit: "protocol",
        })
    } else if len < min {
        Err(ProtocolError::Invalid {
            peer,
            what,
            reason: format!("payload of {len} bytes, at least {min} expected"),
        })
    } else {
        Ok(())
    }
}

/// Whether a `str` field may hold `s`: no control characters; `text` fields allow `\n`, `\t`.
pub(super) fn clean_str(s: &str, text: bool) -> bool {
    s.chars()
        .all(|c| !c.is_control() || (text && (c == '\n' || c == '\t')))
}

/// Whether a picture dimension is in range.
pub(super) fn dimension_ok(v: u32) -> bool {
    (1..=MAX_DIMENSION).contains(&v)
}

/// Builds one message (header and fields) in a reusable buffer; a trailing JPEG is passed to
/// [`Encoder::finish`] by length only and written from the caller's slice.
pub(super) struct Encoder<'a> {
    buf: &'a mut Vec<u8>,
    what: &'static str,
}

impl<'a> Encoder<'a> {
    pub(super) fn new(buf: &'a mut Vec<u8>, code: u8) -> Self {
        buf.clear();
        buf.push(code);
        buf.extend_from_slice(&[0; 4]);
        Self {
            buf,
            what: name(code),
        }
    }

    pub(super) fn u8(self, v: u8) -> Self {
        self.buf.push(v);
        self
    }

    pub(super) fn u32(self, v: u32) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(super) fn u64(self, v: u64) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(super) fn f64(self, v: f64) -> Self {
        self.u64(v.to_bits())
    }

    /// A `str` (or `text`) field of at most `max` bytes.
    pub(super) fn str(
        self,
        field: &str,
        s: &str,
        max: usize,
        text: bool,
    ) -> Result<Self, ProtocolError> {
        if s.len() > max.min(usize::from(u16::MAX)) {
            return Err(self.refused(format!("{field} is {} bytes, over its {max}", s.len())));
        }
        if !clean_str(s, text) {
            return Err(self.refused(format!("{field} contains control characters")));
        }
        self.buf.extend_from_slice(&(s.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(s.as_bytes());
        Ok(self)
    }

    /// A `text` field, cut to [`MAX_TEXT_BYTES`] at a character boundary: a failure report
    /// must get through.
    pub(super) fn text(self, field: &str, s: &str) -> Result<Self, ProtocolError> {
        let mut end = s.len().min(MAX_TEXT_BYTES);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.str(field, &s[..end], MAX_TEXT_BYTES, true)
    }

    /// Raw bytes (a `json` field: the rest of the payload, checked by the caller).
    pub(super) fn bytes(self, b: &[u8]) -> Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// Patches the payload length in: the fields so far plus `trailing` bytes sent after them.
    pub(super) fn finish(self, trailing: usize) -> Result<(), ProtocolError> {
        let len = (self.buf.len() - HEADER_BYTES)
            .checked_add(trailing)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.refused("payload over 4 GiB".into()))?;
        self.buf[1..HEADER_BYTES].copy_from_slice(&len.to_le_bytes());
        Ok(())
    }

    fn refused(&self, reason: String) -> ProtocolError {
        ProtocolError::Refused {
            what: self.what,
            reason,
        }
    }
}

/// A writer's refusal to send a message of type `code`.
pub(super) fn refused(code: u8, reason: String) -> ProtocolError {
    ProtocolError::Refused {
        what: name(code),
        reason,
    }
}

/// Reads the fields of one payload held in memory; every shortfall or excess is
/// [`ProtocolError::Invalid`].
pub(super) struct Decoder<'a> {
    rest: &'a [u8],
    peer: Peer,
    what: &'static str,
}

impl<'a> Decoder<'a> {
    pub(super) fn new(payload: &'a [u8], peer: Peer, code: u8) -> Self {
        Self {
            rest: payload,
            peer,
            what: name(code),
        }
    }

    pub(super) fn invalid(&self, reason: String) -> ProtocolError {
        ProtocolError::Invalid {
            peer: self.peer,
            what: self.what,
            reason,
        }
    }

    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], ProtocolError> {
        if self.rest.len() < n {
            return Err(self.invalid(format!("payload ends inside {field}")));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N], ProtocolError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N, field)?);
        Ok(a)
    }

    pub(super) fn u8(&mut self, field: &str) -> Result<u8, ProtocolError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(super) fn u32(&mut self, field: &str) -> Result<u32, ProtocolError> {
        self.array(field).map(u32::from_le_bytes)
    }

    pub(super) fn u64(&mut self, field: &str) -> Result<u64, ProtocolError> {
        self.array(field).map(u64::from_le_bytes)
    }

    pub(super) fn f64(&mut self, field: &str) -> Result<f64, ProtocolError> {
        self.u64(field).map(f64::from_bits)
    }

    /// A width or height, 1..=[`MAX_DIMENSION`].
    pub(super) fn dimension(&mut self, field: &str) -> Result<u32, ProtocolError> {
        let v = self.u32(field)?;
        if dimension_ok(v) {
            Ok(v)
        } else {
            Err(self.invalid(format!("{field} {v} is outside 1..={MAX_DIMENSION}")))
        }
    }

    /// A `str` (or `text`) field of at most `max` bytes.
    pub(super) fn str(
        &mut self,
        field: &'static str,
        max: usize,
        text: bool,
    ) -> Result<String, ProtocolError> {
        let len = usize::from(u16::from_le_bytes(self.array(field)?));
        if len > max {
            return Err(ProtocolError::TooLong {
                peer: self.peer,
                what: field,
                len,
                max,
                limit: "protocol",
            });
        }
        let s = std::str::from_utf8(self.take(len, field)?)
            .map_err(|e| self.invalid(format!("{field} is not UTF-8: {e}")))?;
        if !clean_str(s, text) {
            return Err(self.invalid(format!("{field} contains control characters")));
        }
        Ok(s.to_owned())
    }

    /// A `json` field: the rest of the payload, UTF-8 JSON text (the caller bounded it).
    pub(super) fn json(&mut self, field: &str) -> Result<String, ProtocolError> {
        let rest = std::mem::take(&mut self.rest);
        let s = std::str::from_utf8(rest)
            .map_err(|e| self.invalid(format!("{field} is not UTF-8: {e}")))?;
        serde_json::from_str::<serde::de::IgnoredAny>(s)
            .map_err(|e| self.invalid(format!("{field} is not JSON: {e}")))?;
        Ok(s.to_owned())
    }

    /// Ends the payload: bytes left over are invalid.
    pub(super) fn finish(self) -> Result<(), ProtocolError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.invalid(format!(
                "{} bytes left over after its fields",
                self.rest.len()
            )))
        }
    }
}
