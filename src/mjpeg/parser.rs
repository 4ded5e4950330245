//! An incremental, bounded parser for `multipart/x-mixed-replace` (MJPEG) response bodies.
//!
//! Used by the [`crate::probe`] client and meant for the `relay` source, tests and benchmarks.
//! [`MultipartParser`] is a pure state machine: feed it body bytes in chunks of any size with
//! [`push`](MultipartParser::push), then call [`next_part`](MultipartParser::next_part) until it
//! returns `Ok(None)` (it needs more bytes). No I/O, no clock, so it is easy to fuzz.
//!
//! It is liberal in what it accepts, as real MJPEG servers differ (mjpg-streamer, ESP32 cams,
//! IP cameras, our own server):
//! - the boundary from the `Content-Type` may be quoted and may or may not carry the leading `--`
//!   ([`boundary_from_content_type`]); a delimiter line is `--boundary` or just `boundary`,
//!   optionally closing (`--`), with trailing blanks, CRLF or LF-only line ends;
//! - the delimiter may come before each part, after it (our server), or both; blank lines and
//!   repeated delimiters between parts are skipped; a part may have no headers when its body
//!   starts with a JPEG SOI marker;
//! - with `Content-Length` the body is taken by length (fast path: the JPEG is never scanned);
//!   without it the body runs to the next delimiter, and a JPEG body is trimmed to SOI..EOI (stray
//!   line breaks around it are dropped). A delimiter inside such a body counts only at a line start
//!   or right after a JPEG EOI, so boundary text inside the picture is unlikely to cut it.
//! - garbage where a delimiter should follow a sized body is skipped up to the next delimiter
//!   (counted in [`MultipartParser::resyncs`]).
//!
//! Bounded: a part body is at most [`Limits::max_part_bytes`] and a header block at most
//! [`Limits::max_header_bytes`], and at most `max_part_bytes` of garbage are skipped while looking
//! for a delimiter; beyond that `next_part` fails. After draining `next_part`, the parser holds at
//! most `max(max_part_bytes, max_header_bytes)` plus about 100 bytes. An error is final: every
//! later call returns it again.

use bytes::{Buf, BytesMut};
use memchr::memmem;

mod part;
mod syntax;

pub use part::{Part, PartHeaders};
pub use syntax::boundary_from_content_type;
use syntax::{
    delimiter_line, find_delimiter, header_block_end, parse_headers, trim, trim_body, Find,
};

/// Default largest part body (16 MiB: far above any MJPEG frame).
pub const DEFAULT_MAX_PART_BYTES: usize = 16 * 1024 * 1024;
/// Default largest header block of one part.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
/// Longest accepted boundary (RFC 2046 allows 70; some servers use more).
const MAX_BOUNDARY_BYTES: usize = 200;
/// Blanks allowed after a delimiter before its line end.
const MAX_DELIMITER_TRAILER_BYTES: usize = 64;
const SOI: [u8; 2] = [0xFF, 0xD8];
const EOI: [u8; 2] = [0xFF, 0xD9];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("multipart part larger than {limit} bytes")]
    PartTooLarge { limit: usize },
    #[error("multipart part headers larger than {limit} bytes")]
    HeaderTooLarge { limit: usize },
    #[error("malformed multipart stream: {0}")]
    Malformed(String),
}

/// Size limits of one parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest part body (bytes).
    pub max_part_bytes: usize,
    /// Largest header block of one part, blank line included (bytes).
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_part_bytes: DEFAULT_MAX_PART_BYTES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

enum State {
    /// Before the first delimiter, or resynchronising: discard bytes up to a delimiter line.
    Seek {
        skipped: usize,
    },
    /// After a delimiter line: blank and repeated delimiter lines, then headers and a blank line.
    Headers,
    /// A body of known length.
    Sized {
        headers: PartHeaders,
        len: usize,
    },
    /// A body without length, up to the next delimiter; `from`: where to resume the search.
    Scan {
        headers: PartHeaders,
        from: usize,
    },
    /// After a sized body: line breaks, then a delimiter line.
    AfterBody,
    /// After the closing delimiter: the rest is ignored.
    Closed,
    Failed(MultipartError),
}

enum Step {
    Part(Part),
    Continue,
    NeedMore,
}

/// The incremental parser; see the module doc.
pub struct MultipartParser {
    /// The boundary as declared (the delimiter is `--token` or `token`).
    token: Vec<u8>,
    finder: memmem::Finder<'static>,
    limits: Limits,
    buf: BytesMut,
    state: State,
    resyncs: u64,
}

impl MultipartParser {
    /// A parser for `boundary` (as from [`boundary_from_content_type`]; quotes already removed).
    pub fn new(boundary: &str, limits: Limits) -> Result<Self, MultipartError> {
        if boundary.is_empty()
            || boundary.len() > MAX_BOUNDARY_BYTES
            || boundary.contains(['\r', '\n'])
        {
            return Err(MultipartError::Malformed(format!(
                "unusable boundary {boundary:?}"
            )));
        }
        let token = boundary.as_bytes().to_vec();
        Ok(Self {
            finder: memmem::Finder::new(&token).into_owned(),
            token,
            limits,
            buf: BytesMut::new(),
            state: State::Seek { skipped: 0 },
            resyncs: 0,
        })
    }

    /// Appends body bytes. Call [`next_part`](Self::next_part) until `Ok(None)` after each push.
    pub fn push(&mut self, data: &[u8]) {
        if !matches!(self.state, State::Closed | State::Failed(_)) {
            self.buf.extend_from_slice(data);
        }
    }

    /// Bytes currently held (for memory-bound checks).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How often garbage after a sized body was skipped to find the next delimiter.
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// Whether the closing delimiter (`--boundary--`) was seen.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The next complete part, `Ok(None)` if more bytes are needed.
    pub fn next_part(&mut self) -> Result<Option<Part>, MultipartError> {
        loop {
            match self.step() {
                Ok(Step::Part(part)) => return Ok(Some(part)),
                Ok(Step::Continue) => {}
                Ok(Step::NeedMore) => return Ok(None),
                Err(err) => {
                    self.buf = BytesMut::new();
                    self.state = State::Failed(err.clone());
                    return Err(err);
                }
            }
        }
    }

    /// At end of input: the last part if the stream ended right after a complete body without a
    /// delimiter (servers that write the boundary before each part), an error if it ended inside a
    /// part, else `Ok(None)`.
    pub fn finish(&mut self) -> Result<Option<Part>, MultipartError> {
        if let Some(part) = self.next_part()? {
            return Ok(Some(part));
        }
        let state = std::mem::replace(&mut self.state, State::Closed);
        let buf = std::mem::take(&mut self.buf).freeze();
        match state {
            State::Scan { headers, .. } if !buf.is_empty() => {
                let body = trim_body(buf);
                if body.starts_with(&SOI) && !body.ends_with(&EOI) {
                    return Err(MultipartError::Malformed(
                        "stream ended inside a JPEG".into(),
                    ));
                }
                Ok(Some(Part { headers, body }))
            }
            State::Sized { len, .. } => Err(MultipartError::Malformed(format!(
                "stream ended after {} of {len} body bytes",
                buf.len()
            ))),
            State::Headers if !buf.iter().all(u8::is_ascii_whitespace) => Err(
                MultipartError::Malformed("stream ended inside part headers".into()),
            ),
            State::Failed(err) => Err(err),
            _ => Ok(None),
        }
    }

    fn step(&mut self) -> Result<Step, MultipartError> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Seek { skipped } => self.seek(skipped),
            State::Headers => self.headers(),
            State::Sized { headers, len } => {
                if self.buf.len() < len {
                    self.state = State::Sized { headers, len };
                    return Ok(Step::NeedMore);
                }
                let body = self.buf.split_to(len).freeze();
                self.state = State::AfterBody;
                Ok(Step::Part(Part { headers, body }))
            }
            State::Scan { headers, from } => self.scan(headers, from),
            State::AfterBody => self.after_body(),
            State::Closed => {
                self.buf.clear();
                Ok(Step::NeedMore)
            }
            State::Failed(err) => {
                self.state = State::Failed(err.clone());
                Err(err)
            }
        }
    }

    fn seek(&mut self, skipped: usize) -> Result<Step, MultipartError> {
        match find_delimiter(&self.buf, &self.finder, 0, |_| true) {
            Find::Found { end, closing, .. } => {
                self.buf.advance(end);
                self.state = if closing {
                    State::Closed
                } else {
                    State::Headers
                };
                Ok(Step::Continue)
            }
            Find::Pending { resume } => {
                self.buf.advance(resume);
                let skipped = skipped + resume;
                if skipped > self.limits.max_part_bytes {
                    return Err(MultipartError::Malformed(format!(
                        "no boundary in {skipped} bytes"
                    )));
                }
                self.state = State::Seek { skipped };
                Ok(Step::NeedMore)
            }
        }
    }

    fn headers(&mut self) -> Result<Step, MultipartError> {
        let limit = self.limits.max_header_bytes;
        if self.buf.first() == Some(&SOI[0]) {
            // No headers: the JPEG starts right after the delimiter.
            self.state = State::Scan {
                headers: PartHeaders::default(),
                from: 0,
            };
            return Ok(Step::Continue);
        }
        let window = &self.buf[..self.buf.len().min(limit)];
        let Some(nl) = memchr::memchr(b'\n', window) else {
            self.state = State::Headers;
            return if self.buf.len() >= limit {
                Err(MultipartError::HeaderTooLarge { limit })
            } else {
                Ok(Step::NeedMore)
            };
        };
        let first = trim(&window[..nl]);
        if first.is_empty() || delimiter_line(first, &self.token).is_some() {
            // A blank line or a repeated delimiter before the headers: skip it.
            let closing = delimiter_line(first, &self.token) == Some(true);
            self.buf.advance(nl + 1);
            self.state = if closing {
                State::Closed
            } else {
                State::Headers
            };
            return Ok(Step::Continue);
        }
        let Some(end) = header_block_end(window) else {
            self.state = State::Headers;
            return if self.buf.len() >= limit {
                Err(MultipartError::HeaderTooLarge { limit })
            } else {
                Ok(Step::NeedMore)
            };
        };
        let headers = parse_headers(&window[..end], self.limits.max_part_bytes)?;
        self.buf.advance(end);
        self.state = match headers.content_length {
            Some(len) => State::Sized { headers, len },
            None => State::Scan { headers, from: 0 },
        };
        Ok(Step::Continue)
    }

    fn scan(&mut self, headers: PartHeaders, from: usize) -> Result<Step, MultipartError> {
        let limit = self.limits.max_part_bytes;
        let accept =
            |body: &[u8]| body.is_empty() || body.ends_with(b"\n") || trim(body).ends_with(&EOI);
        match find_delimiter(&self.buf, &self.finder, from, accept) {
            Find::Found {
                start,
                end,
                closing,
            } => {
                if start > limit {
                    return Err(MultipartError::PartTooLarge { limit });
                }
                let body = trim_body(self.buf.split_to(start).freeze());
                self.buf.advance(end - start);
                self.state = if closing {
                    State::Closed
                } else {
                    State::Headers
                };
                Ok(Step::Part(Part { headers, body }))
            }
            Find::Pending { resume } => {
                if resume > limit {
                    return Err(MultipartError::PartTooLarge { limit });
                }
                self.state = State::Scan {
                    headers,
                    from: resume,
                };
                Ok(Step::NeedMore)
            }
        }
    }

    fn after_body(&mut self) -> Result<Step, MultipartError> {
        let blanks = self
            .buf
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        self.buf.advance(blanks);
        let window = &self.buf[..self
            .buf
            .len()
            .min(self.token.len() + 4 + MAX_DELIMITER_TRAILER_BYTES)];
        let Some(nl) = memchr::memchr(b'\n', window) else {
            if self.buf.len() > window.len() || (!self.buf.is_empty() && !self.could_be_delimiter())
            {
                return self.resync();
            }
            self.state = State::AfterBody;
            return Ok(Step::NeedMore);
        };
        match delimiter_line(trim(&window[..nl]), &self.token) {
            Some(closing) => {
                self.buf.advance(nl + 1);
                self.state = if closing {
                    State::Closed
                } else {
                    State::Headers
                };
                Ok(Step::Continue)
            }
            None => self.resync(),
        }
    }

    /// Whether the buffered bytes can still grow into a delimiter line.
    fn could_be_delimiter(&self) -> bool {
        let rest = &self.buf[..];
        let dashed = [b"--".as_slice(), &self.token].concat();
        [&dashed[..], &self.token[..]].iter().any(|d| {
            let n = rest.len().min(d.len());
            rest[..n] == d[..n]
        })
    }

    fn resync(&mut self) -> Result<Step, MultipartError> {
        self.resyncs += 1;
        self.state = State::Seek { skipped: 0 };
        Ok(Step::Continue)
    }
}

#[cfg(test)]
mod tests;
