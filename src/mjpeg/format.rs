//! The MJPEG wire format we write: one `multipart/x-mixed-replace` response whose parts carry
//! `Content-Type: image/jpeg`, `Content-Length`, `X-Timestamp` and `X-Frame-Seq`, with the
//! boundary written right after each JPEG (Chrome shows a frame only once the next boundary
//! arrives; writing it first would cost a frame interval of lag).
//!
//! A part's header bytes are built once per frame (cached in the frame) whatever the number of
//! clients; the JPEG is never copied: a part is a chain of (headers, shared JPEG, boundary).

use std::fmt::Write as _;
use std::time::SystemTime;

use bytes::buf::Chain;
use bytes::Bytes;

use crate::pipeline::slot::Frame;

/// The multipart boundary (without the leading `--`).
pub const BOUNDARY: &str = "streamserver-boundary";

/// One part on the wire: headers, the shared JPEG, the closing boundary.
pub type PartBuf = Chain<Chain<Bytes, Bytes>, Bytes>;

/// How every part after the first begins, whatever its frame: a client that is behind can be
/// sent these bytes ahead of its next part (see `http::stream_body`).
pub const PART_PREFIX: &[u8] = b"Content-Type: image/jpeg\r\nContent-Length: ";

/// The part headers of `frame`; the very first part is preceded by the opening boundary.
pub fn part_headers(frame: &Frame, first: bool) -> Bytes {
    // Built once per frame, whatever the number of clients; only a client's very first part
    // (opened by the boundary) costs an allocation of its own.
    let head = frame.part_head.get_or_init(|| {
        let t = frame
            .captured_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let mut head = String::with_capacity(128);
        head.push_str(std::str::from_utf8(PART_PREFIX).expect("ASCII"));
        let _ = write!(
            head,
            "{}\r\nX-Timestamp: {}.{:06}\r\nX-Frame-Seq: {}\r\n\r\n",
            frame.jpeg.len(),
            t.as_secs(),
            t.subsec_micros(),
            frame.seq
        );
        Bytes::from(head)
    });
    if first {
        let mut opened = format!("--{BOUNDARY}\r\n").into_bytes();
        opened.extend_from_slice(head);
        Bytes::from(opened)
    } else {
        head.clone()
    }
}

/// The bytes after each JPEG: line break plus the next part's boundary.
pub fn closing_boundary() -> Bytes {
    Bytes::from(format!("\r\n--{BOUNDARY}\r\n"))
}

/// The response's `Content-Type` header value.
pub fn content_type() -> String {
    format!("multipart/x-mixed-replace;boundary={BOUNDARY}")
}
