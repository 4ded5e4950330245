//! Request routing: every URL the server answers and its errors (404, 405, 400, 503).
//!
//! | path | what |
//! |---|---|
//! | `/stream.mjpg`, `/stream`, `/?action=stream` | default stream (multipart MJPEG) |
//! | `/snapshot.jpg`, `/?action=snapshot` | newest frame of the default stream |
//! | `/streams/<id>/stream.mjpg`, `/streams/<id>/snapshot.jpg` | any stream |
//! | `/` | the viewer page |
//! | `/health`, `/api/state`, `/metrics` | see [`super::status`] |
//!
//! Query `fps=N` caps a stream client's rate (at most `max_client_fps`); other query keys are
//! ignored (browsers and OctoPrint add cache busters), a malformed `fps` or `action` is a 400.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use tracing::{debug, info};

use super::conn::ClientSocket;
use super::mjpeg::{ClientSlot, MjpegBody, PartBuf, BOUNDARY};
use super::{status, AppState, StreamHandle};
use crate::frame::Frame;

/// Every response body yields [`PartBuf`]s, so stream parts go out without copying the JPEG.
pub type ResponseBody = UnsyncBoxBody<PartBuf, std::convert::Infallible>;

const VIEWER_HTML: &str = include_str!("viewer.html");

enum Route<'a> {
    Stream(&'a StreamHandle),
    Snapshot(&'a StreamHandle),
    Viewer,
    Health,
    State,
    Metrics,
}

/// Answers one request.
pub async fn handle<B>(req: Request<B>, state: &Arc<AppState>) -> Response<ResponseBody> {
    let head_only = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head_only {
        let mut resp = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are supported\n",
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let query = match Query::parse(req.uri().query().unwrap_or("")) {
        Ok(q) => q,
        Err(msg) => return text(StatusCode::BAD_REQUEST, &format!("{msg}\n")),
    };
    let route = match route(req.uri().path(), &query, state) {
        Ok(r) => r,
        Err(no) => return no.response(),
    };
    let resp = match route {
        Route::Stream(s) => {
            let socket = req.extensions().get::<ClientSocket>().map(|c| c.0);
            stream(s, &query, state, socket)
        }
        Route::Snapshot(s) => snapshot(s, state).await,
        Route::Viewer => html(VIEWER_HTML),
        Route::Health => status::health(state),
        Route::State => status::state_json(state),
        Route::Metrics => status::metrics(state),
    };
    if head_only {
        let (parts, _) = resp.into_parts();
        return Response::from_parts(parts, empty());
    }
    resp
}

/// Why a path has no route.
enum NoRoute {
    NotFound,
    BadAction(String),
}

impl NoRoute {
    fn response(self) -> Response<ResponseBody> {
        match self {
            NoRoute::NotFound => text(StatusCode::NOT_FOUND, "not found\n"),
            NoRoute::BadAction(a) => text(
                StatusCode::BAD_REQUEST,
                &format!("unknown action {a:?}: use stream or snapshot\n"),
            ),
        }
    }
}

fn route<'a>(path: &str, q: &Query, state: &'a AppState) -> Result<Route<'a>, NoRoute> {
    let default = &state.streams[0];
    Ok(match path {
        "/" => match q.action.as_deref() {
            None => Route::Viewer,
            Some("stream") => Route::Stream(default),
            Some("snapshot") => Route::Snapshot(default),
            Some(other) => return Err(NoRoute::BadAction(other.to_string())),
        },
        "/stream.mjpg" | "/stream" => Route::Stream(default),
        "/snapshot.jpg" => Route::Snapshot(default),
        "/health" => Route::Health,
        "/api/state" => Route::State,
        "/metrics" => Route::Metrics,
        _ => {
            let rest = path.strip_prefix("/streams/").ok_or(NoRoute::NotFound)?;
            let (id, what) = rest.split_once('/').ok_or(NoRoute::NotFound)?;
            let s = state.stream(id).ok_or(NoRoute::NotFound)?;
            match what {
                "stream.mjpg" | "stream" => Route::Stream(s),
                "snapshot.jpg" => Route::Snapshot(s),
                _ => return Err(NoRoute::NotFound),
            }
        }
    })
}

/// The query keys we understand.
#[derive(Debug, Default)]
struct Query {
    fps: Option<u32>,
    action: Option<String>,
}

impl Query {
    fn parse(raw: &str) -> Result<Query, String> {
        let mut q = Query::default();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "fps" => {
                    let fps: u32 = v
                        .parse()
                        .ok()
                        .filter(|f| (1..=1000).contains(f))
                        .ok_or_else(|| format!("bad fps {v:?}: use a whole number 1-1000"))?;
                    q.fps = Some(fps);
                }
                "action" => q.action = Some(v.to_string()),
                _ => {}
            }
        }
        Ok(q)
    }
}

fn stream(
    s: &StreamHandle,
    q: &Query,
    state: &Arc<AppState>,
    socket: Option<std::os::fd::RawFd>,
) -> Response<ResponseBody> {
    let Ok(permit) = state.stream_permits.clone().try_acquire_owned() else {
        info!(stream = %s.id, "client refused: max_clients reached");
        let mut resp = text(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "too many clients: this server allows {} streams at once; try again later\n",
                state.config.max_clients
            ),
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return resp;
    };
    let cap = state.config.max_client_fps;
    let fps = match (q.fps, cap) {
        (Some(f), 0) => Some(f),
        (Some(f), cap) => Some(f.min(cap)),
        (None, 0) => None,
        (None, cap) => Some(cap),
    };
    let span = tracing::info_span!("stream", stream = %s.id, fps);
    info!(parent: &span, "client connected");
    s.slot.note_demand();
    let shutdown = state.shutdown.clone();
    let body = MjpegBody::new(
        s.slot.subscribe(),
        fps.map(|f| Duration::from_secs_f64(1.0 / f64::from(f))),
        state.config.idle_resend,
        async move { shutdown.triggered().await },
        ClientSlot::new(s.stats.clone(), permit),
        socket,
        span,
    )
    .disconnect_stalled_after(state.config.write_timeout);
    let mut resp = Response::new(body.boxed_unsync());
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&format!("multipart/x-mixed-replace;boundary={BOUNDARY}")).unwrap(),
    );
    no_cache(h);
    resp
}

async fn snapshot(s: &StreamHandle, state: &AppState) -> Response<ResponseBody> {
    s.slot.note_demand();
    let Some(frame) = wait_for_frame(s, state.config.snapshot_timeout, &state.shutdown).await
    else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "no frame available yet; try again\n",
        );
    };
    debug!(stream = %s.id, seq = frame.seq, "snapshot");
    jpeg_response(&frame)
}

/// A fresh frame: the newest if it is recent, else the next one (bounded by `timeout`); the
/// newest, however old, if none comes in time.
async fn wait_for_frame(
    s: &StreamHandle,
    timeout: Duration,
    shutdown: &crate::shutdown::Shutdown,
) -> Option<Arc<Frame>> {
    const FRESH: Duration = Duration::from_secs(1);
    let mut rx = s.slot.subscribe();
    let current = rx.borrow_and_update().clone();
    if let Some(f) = &current {
        if f.published_at.elapsed() < FRESH {
            return current;
        }
    }
    // Shutdown must not wait for a snapshot that waits for a frame.
    tokio::select! {
        waited = tokio::time::timeout(timeout, rx.changed()) => match waited {
            Ok(Ok(())) => rx.borrow().clone().or(current),
            _ => current,
        },
        _ = shutdown.triggered() => current,
    }
}

fn jpeg_response(frame: &Frame) -> Response<ResponseBody> {
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

fn no_cache(h: &mut http::HeaderMap) {
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

fn html(body: &'static str) -> Response<ResponseBody> {
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

fn full(body: Bytes) -> ResponseBody {
    use bytes::Buf;
    // `Full` of the chained buffer (not `map_frame`, which drops the exact size hint): hyper then
    // sends `Content-Length` instead of chunking snapshots and JSON.
    Full::new(body.chain(Bytes::new()).chain(Bytes::new())).boxed_unsync()
}

fn empty() -> ResponseBody {
    full(Bytes::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        assert_eq!(Query::parse("fps=5&t=123").unwrap().fps, Some(5));
        assert_eq!(
            Query::parse("action=stream").unwrap().action.as_deref(),
            Some("stream")
        );
        assert!(Query::parse("fps=abc").is_err());
        assert!(Query::parse("fps=0").is_err());
        assert!(Query::parse("").unwrap().fps.is_none());
    }
}
