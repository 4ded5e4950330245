//! Building responses: plain text, JSON, HTML, a JPEG, the no-cache headers, and the one body
//! type every response shares ([`ResponseBody`]).

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};

use crate::mjpeg::format::PartBuf;
use crate::pipeline::slot::Frame;

/// Every response body yields [`PartBuf`]s, so stream parts go out without copying the JPEG.
pub type ResponseBody = UnsyncBoxBody<PartBuf, std::convert::Infallible>;

pub fn jpeg(frame: &Frame) -> Response<ResponseBody> {
    let mut resp = Response::new(full(frame.jpeg.clone()));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(
        "x-timestamp",
        HeaderValue::from_str(&format!("{:.6}", frame.timestamp_secs())).unwrap(),
    );
    h.insert("x-frame-seq", HeaderValue::from(frame.seq));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline; filename=\"snapshot.jpg\""),
    );
    no_cache(h);
    resp
}

pub fn no_cache(h: &mut http::HeaderMap) {
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::EXPIRES, HeaderValue::from_static("0"));
}

pub fn text(code: StatusCode, body: &str) -> Response<ResponseBody> {
    with_type(
        code,
        "text/plain; charset=utf-8",
        Bytes::from(body.to_string()),
    )
}

pub fn json(code: StatusCode, body: String) -> Response<ResponseBody> {
    let mut resp = with_type(code, "application/json", Bytes::from(body));
    no_cache(resp.headers_mut());
    resp
}

pub fn html(body: &'static str) -> Response<ResponseBody> {
    with_type(
        StatusCode::OK,
        "text/html; charset=utf-8",
        Bytes::from_static(body.as_bytes()),
    )
}

pub fn with_type(code: StatusCode, ctype: &'static str, body: Bytes) -> Response<ResponseBody> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = code;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    resp
}

pub fn full(body: Bytes) -> ResponseBody {
    use bytes::Buf;
    // `Full` of the chained buffer (not `map_frame`, which drops the exact size hint): hyper then
    // sends `Content-Length` instead of chunking snapshots and JSON.
    Full::new(body.chain(Bytes::new()).chain(Bytes::new())).boxed_unsync()
}

pub fn empty() -> ResponseBody {
    full(Bytes::new())
}
