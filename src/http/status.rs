//! `/health`, `/api/state` and `/metrics`: the same per-stream figures as JSON and as
//! Prometheus text. `/api/state` and `/metrics` show only the streams of the request's
//! [`Scope`] (a user whose `status` is limited to some streams sees only those); `/metrics`
//! also counts connections (open, waiting, refused, evicted) and the addresses the login
//! throttle tracks.
//!
//! A stream is healthy when its source is running and its newest live frame is younger than its
//! stall timeout, or its source is alive but idle (idle mode: nobody wants frames) or paused on
//! purpose (a camera's pause file); `/health`
//! answers 503 when any stream is not.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use http::StatusCode;
use serde::Serialize;

use super::responses::{json, with_type, ResponseBody};
use super::{AppState, StreamHandle};
use crate::auth::Scope;
use crate::pipeline::slot::FrameKind;
use crate::supervise::SourceState;

#[derive(Serialize)]
pub struct StreamState {
    pub id: String,
    pub source: &'static str,
    pub description: String,
    pub state: SourceState,
    pub healthy: bool,
    pub last_error: Option<String>,
    pub restarts: u64,
    pub width: u32,
    pub height: u32,
    pub fps_captured: f64,
    pub fps_sent: f64,
    pub clients: usize,
    /// Seconds since the newest frame was published (null before the first).
    pub last_frame_age_s: Option<f64>,
    pub showing_placeholder: bool,
    /// Idle mode: the source is alive but encodes nothing until a client or snapshot asks.
    pub idle: bool,
    /// Paused on purpose (a camera's pause file or `POST /api/streams/<id>/pause`): the camera
    /// is released for other programs.
    pub paused: bool,
    pub frames_captured: u64,
    pub frames_sent: u64,
    pub frames_dropped: u64,
    pub frames_skipped: u64,
    pub bytes_sent: u64,
}

#[derive(Serialize)]
pub struct ServerState {
    pub version: &'static str,
    pub uptime_s: f64,
    pub clients: usize,
    pub max_clients: usize,
    pub streams: Vec<StreamState>,
}

pub fn stream_state(s: &StreamHandle) -> StreamState {
    let st = &s.stats;
    let status = s.status.get();
    let latest = s.slot.latest();
    let age = latest.as_ref().map(|f| f.published_at.elapsed());
    let placeholder = latest.as_ref().is_some_and(|f| f.kind != FrameKind::Live);
    let idle = st.idle.load(Relaxed);
    // The pause file as the source saw it, or a pause over the API from the moment it is asked.
    let paused = st.paused.load(Relaxed) || s.camera.as_ref().is_some_and(|c| c.is_paused());
    // Paused on purpose is healthy (its picture says so); so is idle with an old frame.
    let healthy = status.state == SourceState::Running
        && (paused || !placeholder && (idle || age.is_some_and(|a| a <= s.stale_after)));
    StreamState {
        id: s.id.clone(),
        source: st.kind,
        description: status.description,
        state: status.state,
        healthy,
        last_error: status.last_error,
        restarts: status.restarts,
        width: st.width.load(Relaxed),
        height: st.height.load(Relaxed),
        fps_captured: round2(st.frames_captured.rate()),
        fps_sent: round2(st.frames_sent.rate()),
        clients: st.clients.load(Relaxed),
        last_frame_age_s: age.map(|a| round2(a.as_secs_f64())),
        showing_placeholder: placeholder,
        idle,
        paused,
        frames_captured: st.frames_captured.total(),
        frames_sent: st.frames_sent.total(),
        frames_dropped: st.frames_dropped.load(Relaxed),
        frames_skipped: st.frames_skipped.load(Relaxed),
        bytes_sent: st.bytes_sent.load(Relaxed),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Whether `scope` shows stream `id`.
fn in_scope(scope: &Scope, id: &str) -> bool {
    match scope {
        Scope::All => true,
        Scope::Only(ids) => ids.iter().any(|s| &**s == id),
    }
}

pub fn server_state(state: &AppState, scope: &Scope) -> ServerState {
    let streams: Vec<_> = (state.streams.iter())
        .filter(|s| in_scope(scope, &s.id))
        .map(stream_state)
        .collect();
    ServerState {
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: round2(state.started.elapsed().as_secs_f64()),
        clients: streams.iter().map(|s| s.clients).sum(),
        max_clients: state.config.max_clients,
        streams,
    }
}

pub fn state_json(state: &AppState, scope: &Scope) -> http::Response<ResponseBody> {
    let body = serde_json::to_string_pretty(&server_state(state, scope)).unwrap_or_default();
    json(StatusCode::OK, body)
}

pub fn health(state: &AppState) -> http::Response<ResponseBody> {
    let streams: Vec<_> = state.streams.iter().map(stream_state).collect();
    let ok = streams.iter().all(|s| s.healthy);
    let per_stream: serde_json::Map<_, _> = streams
        .iter()
        .map(|s| (s.id.clone(), serde_json::json!(s.state)))
        .collect();
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "unhealthy" },
        "streams": per_stream,
    });
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(code, body.to_string())
}

pub fn metrics(state: &AppState, scope: &Scope) -> http::Response<ResponseBody> {
    let s = server_state(state, scope);
    let mut out = String::new();
    connection_metrics(state, &mut out);
    let _ = writeln!(
        out,
        "# HELP streamserver_uptime_seconds Seconds since the server started."
    );
    let _ = writeln!(out, "# TYPE streamserver_uptime_seconds gauge");
    let _ = writeln!(out, "streamserver_uptime_seconds {}", s.uptime_s);
    type Get = fn(&StreamState) -> f64;
    let families: [(&str, &str, &str, Get); 12] = [
        ("clients", "gauge", "Connected stream clients.", |x| {
            x.clients as f64
        }),
        (
            "source_up",
            "gauge",
            "1 when the source runs and frames are fresh.",
            |x| f64::from(u8::from(x.healthy)),
        ),
        (
            "source_restarts_total",
            "counter",
            "Source restarts by the supervisor.",
            |x| x.restarts as f64,
        ),
        (
            "frames_captured_total",
            "counter",
            "Frames published by the source.",
            |x| x.frames_captured as f64,
        ),
        (
            "frames_sent_total",
            "counter",
            "Frames sent, summed over clients.",
            |x| x.frames_sent as f64,
        ),
        (
            "bytes_sent_total",
            "counter",
            "JPEG bytes sent, summed over clients.",
            |x| x.bytes_sent as f64,
        ),
        (
            "frames_dropped_total",
            "counter",
            "Frames the source produced but did not publish.",
            |x| x.frames_dropped as f64,
        ),
        (
            "frames_skipped_total",
            "counter",
            "Newer frames slow clients skipped.",
            |x| x.frames_skipped as f64,
        ),
        (
            "fps_captured",
            "gauge",
            "Frames per second published.",
            |x| x.fps_captured,
        ),
        (
            "fps_sent",
            "gauge",
            "Frames per second sent, summed over clients.",
            |x| x.fps_sent,
        ),
        (
            "last_frame_age_seconds",
            "gauge",
            "Age of the newest frame (-1 before the first).",
            |x| x.last_frame_age_s.unwrap_or(-1.0),
        ),
        (
            "frame_width_pixels",
            "gauge",
            "Width of the newest frame.",
            |x| f64::from(x.width),
        ),
    ];
    for (name, kind, help, get) in families {
        let _ = writeln!(out, "# HELP streamserver_{name} {help}");
        let _ = writeln!(out, "# TYPE streamserver_{name} {kind}");
        for st in &s.streams {
            let _ = writeln!(
                out,
                "streamserver_{name}{{stream=\"{}\"}} {}",
                st.id,
                get(st)
            );
        }
    }
    with_type(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        bytes::Bytes::from(out),
    )
}

/// The server-wide connection and login figures.
fn connection_metrics(state: &AppState, out: &mut String) {
    let a = state.admission.stats();
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(&str, f64)]| {
        let _ = writeln!(out, "# HELP streamserver_{name} {help}");
        let _ = writeln!(out, "# TYPE streamserver_{name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "streamserver_{name}{labels} {value}");
        }
    };
    family(
        "connections_open",
        "gauge",
        "Open client connections.",
        &[("", a.open as f64)],
    );
    family(
        "connections_pending",
        "gauge",
        "Connections waiting for a request head (new or between requests).",
        &[("", a.pending as f64)],
    );
    family(
        "connections_refused_total",
        "counter",
        "Connections closed at once: over the per-address or the total limit.",
        &[
            ("{reason=\"per_address\"}", a.refused_per_address as f64),
            ("{reason=\"full\"}", a.refused_full as f64),
        ],
    );
    family(
        "connections_evicted_total",
        "counter",
        "Waiting connections closed to make room (max_pending_connections).",
        &[("", a.evicted as f64)],
    );
    family(
        "login_throttled_addresses",
        "gauge",
        "Addresses with failed logins the throttle tracks.",
        &[("", state.auth.throttled_addresses() as f64)],
    );
}
