//! `/snapshot.jpg`: one JPEG of a stream, fresh if the source delivers one within
//! `snapshot_timeout`. A request counts as demand, so an idle source wakes up for it.

use std::sync::Arc;
use std::time::Duration;

use http::{Response, StatusCode};
use tracing::debug;

use super::responses::{self, ResponseBody};
use super::{AppState, StreamHandle};
use crate::pipeline::slot::Frame;
use crate::shutdown::Shutdown;

pub async fn snapshot(s: &StreamHandle, state: &AppState) -> Response<ResponseBody> {
    s.demand.note();
    let Some(frame) = wait_for_frame(s, state.config.snapshot_timeout, &state.shutdown).await
    else {
        return responses::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "no frame available yet; try again\n",
        );
    };
    debug!(stream = %s.id, seq = frame.seq, "snapshot");
    responses::jpeg(&frame)
}

/// A fresh frame: the newest if it is recent, else the next one (bounded by `timeout`); the
/// newest, however old, if none comes in time.
async fn wait_for_frame(
    s: &StreamHandle,
    timeout: Duration,
    shutdown: &Shutdown,
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
