//! Building responses: plain text, JSON, HTML, a JPEG, the headers every response gets
//! (no-cache where it matters, `X-Content-Type-Options: nosniff`, CORS for the configured
//! origins), and the one body type every response shares ([`ResponseBody`]).

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

/// Headers every response carries: browsers must not guess a type (a JPEG, JSON or text
/// response can never be run as a script or page).
pub fn nosniff(h: &mut http::HeaderMap) {
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// CORS: lets scripts of `origin` read the response when it is in `allowed` (`"*"` allows any
/// origin, without credentials). Nothing is added for other origins, so the browser keeps the
/// response from the script. `Vary: Origin` keeps caches from mixing the answers.
pub fn cors(h: &mut http::HeaderMap, origin: Option<&HeaderValue>, allowed: &[String]) {
    if allowed.is_empty() {
        return;
    }
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = origin else { return };
    if allowed.iter().any(|a| a.as_bytes() == origin.as_bytes()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    } else if allowed.iter().any(|a| a == "*") {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
}

/// The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`): which
/// methods and headers scripts of an allowed origin may use.
pub fn preflight(origin: Option<&HeaderValue>, allowed: &[String]) -> Response<ResponseBody> {
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let h = resp.headers_mut();
    cors(h, origin, allowed);
    if h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    resp
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

pub fn html(body: impl Into<Bytes>) -> Response<ResponseBody> {
    with_type(StatusCode::OK, "text/html; charset=utf-8", body.into())
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
