//! Request routing: every URL the server answers, the permission it needs, and its errors
//! (404, 405, 400, 503; 401/403/429 come from [`super::access`]).
//!
//! | path | what | permission |
//! |---|---|---|
//! | `/stream.mjpg`, `/stream`, `/?action=stream` | default stream (multipart MJPEG) | `view` |
//! | `/snapshot.jpg`, `/?action=snapshot` | newest frame of the default stream | `view` |
//! | `/streams/<id>/stream.mjpg`, `/streams/<id>/snapshot.jpg` | any stream | `view` |
//! | `/` | the viewer page (the streams the user may view) | `view` |
//! | `/api/state`, `/metrics` | see [`super::status`] (the streams the user may see) | `status` |
//! | `/health` | see [`super::status`] (open while no `[[user]]` sets `health`) | `health` |
//! | `/still.jpg`, `/streams/<id>/still.jpg` | a still (camera streams, see [`super::camera`]) | `control` |
//! | `/api/streams/<id>/controls` (GET, POST) | the camera's controls | `control` |
//! | `/streams/<id>/controls` | the controls page (built from the list above) | `control` |
//! | `/api/streams/<id>/pause`, `…/resume` (POST) | release / retake the camera | `control` |
//!
//! [`Route::permission`] is the one place that decides what a route needs, [`Route::methods`]
//! the methods it takes (else 405 with `Allow`).
//!
//! Query `fps=N` caps a stream client's rate (at most `max_client_fps`); `token=…` logs in
//! (see [`crate::auth`]) on every route; other query keys are ignored (browsers and OctoPrint
//! add cache busters), a malformed `fps` or `action` is a 400. An unknown path needs a login
//! like a `view` route before it is a 404, so stream ids cannot be probed without one. Every
//! response carries `X-Content-Type-Options: nosniff` and, for the `cors_origins`, CORS headers.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tracing::{debug, info};

use super::access::{self, Allowed};
use super::camera;
use super::conn::ClientSocket;
use super::responses::{cors, empty, html, no_cache, nosniff, preflight, text, ResponseBody};
use super::snapshot::snapshot;
use super::stream_body::{ClientSlot, MjpegBody};
use super::{status, AppState, StreamHandle};
use crate::auth::{Permission, Scope};
use crate::mjpeg::format;
use crate::util::redact_target;

const VIEWER_HTML: &str = include_str!("viewer.html");
/// Where the viewer page gets the ids of the streams it shows, and whether it may poll
/// `/api/state` (a 401 there would make a browser ask for a login on every page load).
const VIEWER_STREAMS: &str = "__STREAM_IDS__";
const VIEWER_STATUS: &str = "__STATUS_ALLOWED__";

/// Marks a stream response (a request extension of the response): it never ends by itself.
#[derive(Debug, Clone, Copy)]
pub struct Streaming;

enum Route<'a> {
    Stream(&'a StreamHandle),
    Snapshot(&'a StreamHandle),
    Viewer,
    Health,
    State,
    Metrics,
    Still(&'a StreamHandle),
    Controls(&'a StreamHandle),
    ControlsPage(&'a StreamHandle),
    Pause(&'a StreamHandle),
    Resume(&'a StreamHandle),
}

impl Route<'_> {
    /// What the route needs, and the stream it is about (the resolved id, also for aliases).
    fn permission(&self) -> (Permission, Option<&str>) {
        match self {
            Route::Stream(s) | Route::Snapshot(s) => (Permission::View, Some(&s.id)),
            Route::Viewer => (Permission::View, None),
            Route::State | Route::Metrics => (Permission::Status, None),
            Route::Health => (Permission::Health, None),
            Route::Still(s)
            | Route::Controls(s)
            | Route::ControlsPage(s)
            | Route::Pause(s)
            | Route::Resume(s) => (Permission::Control, Some(&s.id)),
        }
    }

    /// The methods the route takes (HEAD wherever GET is).
    fn methods(&self) -> &'static [Method] {
        match self {
            Route::Controls(_) => &[Method::GET, Method::HEAD, Method::POST],
            Route::Pause(_) | Route::Resume(_) => &[Method::POST],
            _ => &[Method::GET, Method::HEAD],
        }
    }
}

/// Answers one request.
pub async fn handle<B>(req: Request<B>, state: &Arc<AppState>) -> Response<ResponseBody>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if tracing::enabled!(tracing::Level::DEBUG) {
        let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
        debug!(method = %req.method(), target = %redact_target(target), "request");
    }
    // The head is what routing and access look at; the body is read only by a route that
    // takes one (POST controls).
    let (parts, body) = req.into_parts();
    let req = Request::from_parts(parts, ());
    let mut resp = respond(&req, body, state).await;
    let h = resp.headers_mut();
    nosniff(h);
    cors(
        h,
        req.headers().get(header::ORIGIN),
        &state.config.cors_origins,
    );
    if req.method() == Method::HEAD {
        // No body goes out: the connection waits for its next request like any other.
        let (mut parts, _) = resp.into_parts();
        parts.extensions.remove::<Streaming>();
        return Response::from_parts(parts, empty());
    }
    resp
}

async fn respond<B>(req: &Request<()>, body: B, state: &Arc<AppState>) -> Response<ResponseBody>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let origins = &state.config.cors_origins;
    if req.method() == Method::OPTIONS
        && !origins.is_empty()
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return preflight(req.headers().get(header::ORIGIN), origins);
    }
    let query = match Query::parse(req.uri().query().unwrap_or("")) {
        Ok(q) => q,
        Err(msg) => return text(StatusCode::BAD_REQUEST, &format!("{msg}\n")),
    };
    let route = route(req.uri().path(), &query, state);
    let (permission, stream) = match &route {
        Ok(r) => r.permission(),
        Err(_) => (Permission::View, None),
    };
    let allowed = match access::authorize(&state.auth, req, query.token, permission, stream).await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let route = match route {
        Ok(r) => r,
        Err(no) => return no.response(),
    };
    let methods = route.methods();
    if !methods.contains(req.method()) {
        let names: Vec<&str> = methods.iter().map(Method::as_str).collect();
        let mut resp = text(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("use {} here\n", names.join(" or ")),
        );
        let allow = HeaderValue::from_str(&names.join(", ")).expect("method names");
        resp.headers_mut().insert(header::ALLOW, allow);
        return resp;
    }
    match route {
        Route::Stream(s) => {
            let socket = req.extensions().get::<ClientSocket>().map(|c| c.0);
            stream_response(s, &query, state, socket, &allowed)
        }
        Route::Snapshot(s) => snapshot(s, state).await,
        Route::Viewer => {
            let status = access::permits(&state.auth, req, query.token, Permission::Status).await;
            viewer(state, &allowed.scope, status)
        }
        Route::Health => status::health(state),
        Route::State => status::state_json(state, &allowed.scope),
        Route::Metrics => status::metrics(state, &allowed.scope),
        Route::Still(s) => camera::still(s).await,
        Route::Controls(s) if req.method() == Method::POST => match camera::read_body(body).await {
            Ok(body) => camera::set_controls(s, body).await,
            Err(resp) => *resp,
        },
        Route::Controls(s) => camera::list_controls(s).await,
        Route::ControlsPage(s) => camera::controls_page(s),
        Route::Pause(s) => camera::pause(s, true),
        Route::Resume(s) => camera::pause(s, false),
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
        "/" => match q.action {
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
                "controls" => Route::ControlsPage(s),
                _ => return Err(NoRoute::NotFound),
            }
        }
    })
}

/// The query keys we understand.
#[derive(Debug, Default)]
struct Query<'a> {
    fps: Option<u32>,
    action: Option<&'a str>,
    /// `token=…`: a login (tokens are URL-safe: used as they are).
    token: Option<&'a str>,
}

impl<'a> Query<'a> {
    fn parse(raw: &'a str) -> Result<Query<'a>, String> {
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
                "action" => q.action = Some(v),
                "token" => q.token = Some(v),
                _ => {}
            }
        }
        Ok(q)
    }
}

/// The viewer page, showing the streams the request may view.
fn viewer(state: &AppState, scope: &Scope, status: bool) -> Response<ResponseBody> {
    let ids: Vec<&str> = (state.streams.iter())
        .map(|s| s.id.as_str())
        .filter(|id| match scope {
            Scope::All => true,
            Scope::Only(ids) => ids.iter().any(|s| &**s == *id),
        })
        .collect();
    let ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    let page = VIEWER_HTML
        .replace(VIEWER_STREAMS, &ids)
        .replace(VIEWER_STATUS, if status { "true" } else { "false" });
    let mut resp = html(page);
    no_cache(resp.headers_mut());
    resp
}

fn stream_response(
    s: &StreamHandle,
    q: &Query,
    state: &Arc<AppState>,
    socket: Option<std::os::fd::RawFd>,
    allowed: &Allowed,
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
    let user = allowed.user.as_deref();
    let span = tracing::info_span!("stream", stream = %s.id, fps, user);
    info!(parent: &span, "client connected");
    s.demand.note();
    let shutdown = state.shutdown.clone();
    let body = MjpegBody::new(
        &s.slot,
        fps.map(|f| Duration::from_secs_f64(1.0 / f64::from(f))),
        state.config.idle_resend,
        async move { shutdown.triggered().await },
        ClientSlot::new(s.stats.clone(), permit),
        socket,
        span,
    )
    .disconnect_stalled_after(state.config.write_timeout);
    let mut resp = Response::new(body.boxed_unsync());
    resp.extensions_mut().insert(Streaming);
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
