//! [`Framed`]: the byte level of reading — whole fields or a typed error at the end of the
//! pipe, headers, payloads and JPEGs read into an allocation of their own.

use std::io::{self, BufRead, BufReader, Read};

use bytes::Bytes;

use super::wire::HEADER_BYTES;
use super::{Peer, ProtocolError};

/// Read buffer: headers and small messages take no syscall of their own; a JPEG mostly
/// bypasses it.
const READ_BUFFER_BYTES: usize = 8 * 1024;
/// How much of a stranger's output goes into [`ProtocolError::NotOurProtocol`].
pub(super) const SHOWN_BYTES: usize = 200;

/// A byte stream of messages from `peer`.
pub(super) struct Framed<R> {
    pub(super) inner: BufReader<R>,
    pub(super) peer: Peer,
}

impl<R: Read> Framed<R> {
    pub(super) fn new(inner: R, peer: Peer) -> Self {
        Self {
            inner: BufReader::with_capacity(READ_BUFFER_BYTES, inner),
            peer,
        }
    }

    pub(super) fn io(&self, source: io::Error) -> ProtocolError {
        ProtocolError::Io {
            peer: self.peer,
            source,
        }
    }

    /// Reads until `buf` is full or the pipe ends; returns how many bytes were read.
    pub(super) fn fill(&mut self, buf: &mut [u8]) -> Result<usize, ProtocolError> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
        }
        Ok(got)
    }

    pub(super) fn exact(
        &mut self,
        buf: &mut [u8],
        what: &'static str,
    ) -> Result<(), ProtocolError> {
        let got = self.fill(buf)?;
        if got == buf.len() {
            Ok(())
        } else {
            Err(self.truncated(what, got, buf.len()))
        }
    }

    pub(super) fn truncated(
        &self,
        what: &'static str,
        got: usize,
        expected: usize,
    ) -> ProtocolError {
        ProtocolError::Truncated {
            peer: self.peer,
            what,
            got,
            expected,
        }
    }

    /// The next header `(type, payload length)`; [`ProtocolError::Closed`] at a clean end.
    pub(super) fn header(&mut self) -> Result<(u8, usize), ProtocolError> {
        let mut h = [0; HEADER_BYTES];
        match self.fill(&mut h)? {
            0 => Err(ProtocolError::Closed { peer: self.peer }),
            HEADER_BYTES => {
                let len = u32::from_le_bytes([h[1], h[2], h[3], h[4]]);
                Ok((h[0], len as usize))
            }
            got => Err(self.truncated("a message header", got, HEADER_BYTES)),
        }
    }

    /// A payload already bounded by its header check.
    pub(super) fn payload(
        &mut self,
        len: usize,
        what: &'static str,
    ) -> Result<Vec<u8>, ProtocolError> {
        let mut buf = vec![0; len];
        self.exact(&mut buf, what)?;
        Ok(buf)
    }

    /// The `len` bytes of a JPEG (bounded by the caller) into one allocation of exactly that
    /// size: what the buffer holds, then straight from the pipe (not zeroed first where `R`
    /// reads into spare capacity itself, as pipes, files and slices do). Returns how many bytes
    /// arrived when the pipe ends early.
    pub(super) fn jpeg(&mut self, len: usize) -> Result<Result<Bytes, usize>, ProtocolError> {
        let mut data = Vec::with_capacity(len);
        let buffered = self.inner.buffer();
        let n = buffered.len().min(len);
        data.extend_from_slice(&buffered[..n]);
        self.inner.consume(n);
        if n < len {
            // The buffer is empty now, so reading past it loses nothing.
            let mut rest = self.inner.get_mut().take((len - n) as u64);
            rest.read_to_end(&mut data).map_err(|e| self.io(e))?;
        }
        Ok(if data.len() == len {
            Ok(Bytes::from(data))
        } else {
            Err(data.len())
        })
    }
}
