//! Request routing: every URL the server answers and its errors (404, 405, 400, 503).
//!
//! | path | what |
//! |---|---|
//! | `/stream.mjpg`, `/stream`, `/?action=stream` | default stream (multipart MJPEG) |
//! | `/snapshot.jpg`, `/?action=snapshot` | newest frame of the default stream |
//! | `/streams/<id>/stream.mjpg`, `/streams/<id>/snapshot.jpg` | any stream |
//! | `/` | the viewer page |
//! | `/health`, `/api/state`, `/metrics` | see [`super::status`] |
//! | `/still.jpg`, `/streams/<id>/still.jpg` | a still (camera streams, see [`super::camera`]) |
//! | `/api/streams/<id>/controls`, `…/pause`, `…/resume` | camera controls and pause |
//!
//! Each route's methods are [`Route::methods`] (else 405 with `Allow`), and the permission it
//! needs is decided in one place, [`permission`] (users and permissions of issue 11 are not
//! enforced by this build yet; the camera routes need `control`).
//!
//! Query `fps=N` caps a stream client's rate (at most `max_client_fps`); other query keys are
//! ignored (browsers and OctoPrint add cache busters), a malformed `fps` or `action` is a 400.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use tracing::{debug, info};

use super::camera;
use super::conn::ClientSocket;
use super::responses::{empty, html, no_cache, text, ResponseBody};
use super::snapshot::snapshot;
use super::stream_body::{ClientSlot, MjpegBody};
use super::{status, AppState, StreamHandle};
use crate::auth::Permission;
use crate::mjpeg::format;

/// How long a POST body may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

const VIEWER_HTML: &str = include_str!("viewer.html");

enum Route<'a> {
    Stream(&'a StreamHandle),
    Snapshot(&'a StreamHandle),
    Viewer,
    Health,
    State,
    Metrics,
    Still(&'a StreamHandle),
    Controls(&'a StreamHandle),
    Pause(&'a StreamHandle),
    Resume(&'a StreamHandle),
}

impl Route<'_> {
    /// The methods the route answers (HEAD wherever GET is).
    fn methods(&self) -> &'static [Method] {
        match self {
            Route::Controls(_) => &[Method::GET, Method::HEAD, Method::POST],
            Route::Pause(_) | Route::Resume(_) => &[Method::POST],
            _ => &[Method::GET, Method::HEAD],
        }
    }
}

/// The permission a route needs: the one place that decides it (issue 11's users get it).
fn permission(route: &Route) -> Permission {
    match route {
        Route::Stream(_) | Route::Snapshot(_) | Route::Viewer => Permission::View,
        Route::State | Route::Metrics => Permission::Status,
        Route::Health => Permission::Health,
        Route::Still(_) | Route::Controls(_) | Route::Pause(_) | Route::Resume(_) => {
            Permission::Control
        }
    }
}

/// Answers one request.
pub async fn handle<B>(req: Request<B>, state: &Arc<AppState>) -> Response<ResponseBody>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let query = match Query::parse(req.uri().query().unwrap_or("")) {
        Ok(q) => q,
        Err(msg) => return text(StatusCode::BAD_REQUEST, &format!("{msg}\n")),
    };
    let route = match route(req.uri().path(), &query, state) {
        Ok(r) => r,
        Err(no) => return no.response(),
    };
    let allowed = route.methods();
    if !allowed.contains(req.method()) {
        let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        let mut resp = text(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("use {} here\n", names.join(" or ")),
        );
        let allow = HeaderValue::from_str(&names.join(", ")).expect("method names");
        resp.headers_mut().insert(header::ALLOW, allow);
        return resp;
    }
    debug!(permission = ?permission(&route), "request");
    let head_only = req.method() == Method::HEAD;
    let post = req.method() == Method::POST;
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
        Route::Still(s) => camera::still(s).await,
        Route::Controls(s) if post => match read_body(req.into_body()).await {
            Ok(body) => camera::set_controls(s, body).await,
            Err(resp) => *resp,
        },
        Route::Controls(s) => camera::list_controls(s).await,
        Route::Pause(s) => camera::pause(s, true),
        Route::Resume(s) => camera::pause(s, false),
    };
    if head_only {
        let (parts, _) = resp.into_parts();
        return Response::from_parts(parts, empty());
    }
    resp
}

/// A POST body, bounded in size and time.
async fn read_body<B>(body: B) -> Result<Bytes, Box<Response<ResponseBody>>>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limited = Limited::new(body, camera::MAX_CONTROLS_BODY_BYTES);
    match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) => Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            &format!(
                "cannot read the body (at most {} bytes): {e}\n",
                camera::MAX_CONTROLS_BODY_BYTES
            ),
        ))),
        Err(_) => Err(Box::new(text(
            StatusCode::REQUEST_TIMEOUT,
            "the body did not arrive in time\n",
        ))),
    }
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
        "/still.jpg" => Route::Still(default),
        "/health" => Route::Health,
        "/api/state" => Route::State,
        "/metrics" => Route::Metrics,
        _ if path.starts_with("/api/streams/") => {
            let rest = &path["/api/streams/".len()..];
            let (id, what) = rest.split_once('/').ok_or(NoRoute::NotFound)?;
            let s = state.stream(id).ok_or(NoRoute::NotFound)?;
            match what {
                "controls" => Route::Controls(s),
                "pause" => Route::Pause(s),
                "resume" => Route::Resume(s),
                _ => return Err(NoRoute::NotFound),
            }
        }
        _ => {
            let rest = path.strip_prefix("/streams/").ok_or(NoRoute::NotFound)?;
            let (id, what) = rest.split_once('/').ok_or(NoRoute::NotFound)?;
            let s = state.stream(id).ok_or(NoRoute::NotFound)?;
            match what {
                "stream.mjpg" | "stream" => Route::Stream(s),
                "snapshot.jpg" => Route::Snapshot(s),
                "still.jpg" => Route::Still(s),
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
    s.demand.note();
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
        HeaderValue::from_str(&format::content_type()).expect("a valid header value"),
    );
    no_cache(h);
    resp
}

#[cfg(test)]
mod tests;
