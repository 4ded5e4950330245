//! What the parser yields: a part's headers (with the ones the probe and relay use parsed)
//! and its body.

use bytes::Bytes;

/// The headers of one part, plus the ones the probe and relay need, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartHeaders {
    /// `(name, value)` in arrival order, trimmed, names as sent.
    pub fields: Vec<(String, String)>,
    pub content_length: Option<usize>,
    /// `X-Timestamp`: capture time in seconds since the Unix epoch (ignored if not a number).
    pub timestamp: Option<f64>,
    /// `X-Frame-Seq`: the server's frame sequence number (ignored if not a number).
    pub frame_seq: Option<u64>,
}

impl PartHeaders {
    /// The first value of header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One part: its headers and its body (a JPEG for MJPEG streams).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub headers: PartHeaders,
    pub body: Bytes,
}
