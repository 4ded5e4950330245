//! The camera endpoints (issue 12): a still at the still size, the camera's controls (listed
//! and set), and pause/resume, each answered from the stream's [`CameraLink`].
//!
//! | path | methods | answer |
//! |---|---|---|
//! | `/still.jpg`, `/streams/<id>/still.jpg` | GET | a JPEG at the still size |
//! | `/api/streams/<id>/controls` | GET | `{"stream", "controls": [...]}` |
//! | `/api/streams/<id>/controls` | POST `{"name": value, …}` | `{"stream", "applied": {…}}` |
//! | `/api/streams/<id>/pause`, `/resume` | POST | `{"stream", "paused"}` |
//! | `/streams/<id>/controls` | GET | the controls page: a widget per settable control (slider, |
//! | | | menu, checkbox, a focus button for AfTrigger, a zoom slider for ScalerCrop), built in the |
//! | | | browser from the list above; each change is POSTed and the applied values echoed |
//!
//! Errors: a stream that is not a camera is a `404` saying so; a refused control is a `400`
//! naming it (nothing applied), no camera to ask a `503`, no answer in time a `504`
//! ([`LinkError::http_status`]); the API's errors are JSON `{"error", …}`.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Limited};
use serde_json::json;

use super::responses::{html, json, no_cache, text, with_type, ResponseBody};
use super::StreamHandle;
use crate::source::camera::link::{CameraLink, LinkError};
use http::Response;

/// Largest POST body for controls (the protocol's bound of a SetControls).
pub const MAX_CONTROLS_BODY_BYTES: usize = crate::source::camera::protocol::MAX_SET_CONTROLS_BYTES;

/// How long a POST body may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// A POST body, bounded in size and time (else the error response).
pub async fn read_body<B>(body: B) -> Result<Bytes, Box<Response<ResponseBody>>>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limited = Limited::new(body, MAX_CONTROLS_BODY_BYTES);
    match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) => Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            &format!("cannot read the body (at most {MAX_CONTROLS_BODY_BYTES} bytes): {e}\n"),
        ))),
        Err(_) => Err(Box::new(text(
            StatusCode::REQUEST_TIMEOUT,
            "the body did not arrive in time\n",
        ))),
    }
}

/// The stream's link, or the 404 of a stream that is not a camera.
fn link(s: &StreamHandle, api: bool) -> Result<&CameraLink, Box<Response<ResponseBody>>> {
    s.camera.as_deref().ok_or_else(|| {
        let message = format!(
            "stream {} is a {} source, not a camera: stills, controls and pause need source = \"camera\"",
            s.id, s.stats.kind
        );
        Box::new(match api {
            true => json(
                StatusCode::NOT_FOUND,
                json!({"error": message, "stream": s.id}).to_string(),
            ),
            false => text(StatusCode::NOT_FOUND, &format!("{message}\n")),
        })
    })
}

fn api_error(s: &StreamHandle, e: &LinkError) -> Response<ResponseBody> {
    let body = match e {
        LinkError::Rejected(r) => json!({
            "error": e.to_string(),
            "stream": s.id,
            "control": r.control,
            "reason": r.reason,
        }),
        _ => json!({"error": e.to_string(), "stream": s.id}),
    };
    json(e.http_status(), body.to_string())
}

/// `GET /still.jpg`: waits (at most `still_timeout`) for a still at the still size.
pub async fn still(s: &StreamHandle) -> Response<ResponseBody> {
    let link = match link(s, false) {
        Ok(l) => l,
        Err(resp) => return *resp,
    };
    match link.still().await {
        Ok(still) => {
            let mut resp = with_type(StatusCode::OK, "image/jpeg", still.jpeg);
            no_cache(resp.headers_mut());
            resp
        }
        Err(e) => text(e.http_status(), &format!("stream {}: {e}\n", s.id)),
    }
}

const CONTROLS_HTML: &str = include_str!("controls.html");

/// `GET /streams/<id>/controls`: the page (its script reads and sets the controls).
pub fn controls_page(s: &StreamHandle) -> Response<ResponseBody> {
    if let Err(resp) = link(s, false) {
        return *resp;
    }
    let id = serde_json::to_string(&s.id).unwrap_or_else(|_| "\"\"".into());
    let mut resp = html(CONTROLS_HTML.replace("\"__STREAM_ID__\"", &id));
    no_cache(resp.headers_mut());
    resp
}

/// `GET /api/streams/<id>/controls`.
pub async fn list_controls(s: &StreamHandle) -> Response<ResponseBody> {
    let link = match link(s, true) {
        Ok(l) => l,
        Err(resp) => return *resp,
    };
    match link.list_controls().await {
        Ok(list) => json(
            StatusCode::OK,
            json!({"stream": s.id, "controls": list}).to_string(),
        ),
        Err(e) => api_error(s, &e),
    }
}

/// `POST /api/streams/<id>/controls` with a JSON object of name → value.
pub async fn set_controls(s: &StreamHandle, body: Bytes) -> Response<ResponseBody> {
    let link = match link(s, true) {
        Ok(l) => l,
        Err(resp) => return *resp,
    };
    let object = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        Ok(_) | Err(_) => {
            let message = "the body must be a JSON object of control name → value, e.g. {\"Brightness\": 0.2}";
            return json(
                StatusCode::BAD_REQUEST,
                json!({"error": message, "stream": s.id}).to_string(),
            );
        }
    };
    match link.set_controls(object.to_string()).await {
        Ok(applied) => json(
            StatusCode::OK,
            json!({"stream": s.id, "applied": applied}).to_string(),
        ),
        Err(e) => api_error(s, &e),
    }
}

/// `POST /api/streams/<id>/pause` (`pause = true`) or `/resume`.
pub fn pause(s: &StreamHandle, pause: bool) -> Response<ResponseBody> {
    let link = match link(s, true) {
        Ok(l) => l,
        Err(resp) => return *resp,
    };
    let changed = match pause {
        true => link.pause(),
        false => link.resume(),
    };
    tracing::info!(stream = %s.id, paused = pause, changed, "pause over the API");
    json(
        StatusCode::OK,
        json!({"stream": s.id, "paused": link.is_paused()}).to_string(),
    )
}
