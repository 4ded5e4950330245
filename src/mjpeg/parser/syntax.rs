//! The line-level syntax of multipart streams, free of parser state: the boundary parameter of
//! a Content-Type, delimiter lines, header blocks, and trimming an unsized JPEG body.

use bytes::Bytes;
use memchr::memmem;

use super::{
    MultipartError, PartHeaders, EOI, MAX_BOUNDARY_BYTES, MAX_DELIMITER_TRAILER_BYTES, SOI,
};

/// The `boundary` parameter of a `multipart/*` Content-Type, unquoted, as declared (a leading `--`
/// is kept: the parser accepts the delimiter with or without it). `None` if not multipart or no
/// usable boundary.
pub fn boundary_from_content_type(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let mime = params.next()?.trim();
    if !mime.to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("boundary") {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        let ok =
            !value.is_empty() && value.len() <= MAX_BOUNDARY_BYTES && !value.contains(['\r', '\n']);
        return ok.then(|| value.to_string());
    }
    None
}

pub(super) enum Find {
    /// A delimiter line spans `start..end` (`end` after its line break).
    Found {
        start: usize,
        end: usize,
        closing: bool,
    },
    /// No delimiter yet; none can start before `resume`.
    Pending { resume: usize },
}

pub(super) enum Tail {
    Line { end: usize, closing: bool },
    NeedMore,
    Bad,
}

/// Finds the first delimiter line at or after `from` whose preceding bytes pass `accept`.
pub(super) fn find_delimiter(
    buf: &[u8],
    finder: &memmem::Finder<'_>,
    from: usize,
    accept: impl Fn(&[u8]) -> bool,
) -> Find {
    let mut pos = from;
    while let Some(off) = finder.find(&buf[pos.min(buf.len())..]) {
        let at = pos + off;
        let start = if at >= 2 && &buf[at - 2..at] == b"--" {
            at - 2
        } else {
            at
        };
        match line_tail(buf, at + finder.needle().len()) {
            Tail::NeedMore => return Find::Pending { resume: at },
            Tail::Line { end, closing } if accept(&buf[..start]) => {
                return Find::Found {
                    start,
                    end,
                    closing,
                }
            }
            _ => pos = at + 1,
        }
    }
    let resume = pos.max((buf.len() + 1).saturating_sub(finder.needle().len()));
    Find::Pending {
        resume: resume.min(buf.len()),
    }
}

/// What follows a boundary token at `at`: optional `--`, blanks, then a line end.
pub(super) fn line_tail(buf: &[u8], at: usize) -> Tail {
    let rest = &buf[at..];
    let (closing, skip) = match rest {
        [b'-', b'-', ..] => (true, 2),
        [b'-'] => return Tail::NeedMore,
        _ => (false, 0),
    };
    for (i, &c) in rest[skip..].iter().enumerate() {
        match c {
            b'\n' => {
                return Tail::Line {
                    end: at + skip + i + 1,
                    closing,
                }
            }
            b' ' | b'\t' | b'\r' if i < MAX_DELIMITER_TRAILER_BYTES => {}
            _ => return Tail::Bad,
        }
    }
    Tail::NeedMore
}

/// `Some(closing)` if `line` (trimmed) is a delimiter for `token`.
pub(super) fn delimiter_line(line: &[u8], token: &[u8]) -> Option<bool> {
    let is = |l: &[u8]| {
        l == token || (l.len() == token.len() + 2 && l.starts_with(b"--") && &l[2..] == token)
    };
    if is(line) {
        return Some(false);
    }
    line.strip_suffix(b"--").filter(|l| is(l)).map(|_| true)
}

/// Offset just after the blank line ending a header block, if complete in `buf`.
pub(super) fn header_block_end(buf: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    for nl in memchr::memchr_iter(b'\n', buf) {
        let line = &buf[line_start..nl];
        if line.is_empty() || line == b"\r" {
            return Some(nl + 1);
        }
        line_start = nl + 1;
    }
    None
}

pub(super) fn parse_headers(block: &[u8], max_part: usize) -> Result<PartHeaders, MultipartError> {
    let mut headers = PartHeaders::default();
    for line in block.split(|&b| b == b'\n') {
        let line = trim(line);
        if line.is_empty() {
            continue;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            return Err(MultipartError::Malformed(format!(
                "part header line without ':': {:?}",
                String::from_utf8_lossy(&line[..line.len().min(64)])
            )));
        };
        let name = String::from_utf8_lossy(trim(&line[..colon])).into_owned();
        let value = String::from_utf8_lossy(trim(&line[colon + 1..])).into_owned();
        if name.eq_ignore_ascii_case("content-length") {
            let len: usize = value.parse().map_err(|_| {
                MultipartError::Malformed(format!("bad part Content-Length {value:?}"))
            })?;
            if len > max_part {
                return Err(MultipartError::PartTooLarge { limit: max_part });
            }
            headers.content_length = Some(len);
        } else if name.eq_ignore_ascii_case("x-timestamp") {
            headers.timestamp = value.parse::<f64>().ok().filter(|t| t.is_finite());
        } else if name.eq_ignore_ascii_case("x-frame-seq") {
            headers.frame_seq = value.parse().ok();
        }
        headers.fields.push((name, value));
    }
    Ok(headers)
}

pub(super) fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

/// A scanned body without the line break that belongs to the delimiter; a JPEG body is cut to
/// SOI..EOI (line breaks before it, bytes after its last EOI are dropped).
pub(super) fn trim_body(body: Bytes) -> Bytes {
    let mut end = body.len();
    if body[..end].ends_with(b"\n") {
        end -= 1;
        if body[..end].ends_with(b"\r") {
            end -= 1;
        }
    }
    let lead = body[..end]
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
        .count();
    let start = if body[lead..end].starts_with(&SOI) {
        lead
    } else {
        0
    };
    if body[start..end].starts_with(&SOI) && !body[start..end].ends_with(&EOI) {
        if let Some(i) = memmem::rfind(&body[start..end], &EOI) {
            end = start + i + 2;
        }
    }
    body.slice(start..end)
}
