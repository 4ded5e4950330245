//! The process's one libcamera camera manager.
//!
//! libcamera allows a single `CameraManager` per process (a second one is a fatal error that
//! aborts), yet several parts of streamserver need one: every camera stream, each restart of
//! it, and `list-cameras`. So the first user starts it and it lives until the process exits;
//! a failed start is not remembered, the next user tries again.

use std::sync::Mutex;

use libcamera::camera_manager::CameraManager;

use super::CameraError;

/// The manager, shared between capture threads.
struct Shared(CameraManager);

// SAFETY: libcamera documents `CameraManager::cameras()`/`get()` as thread-safe, and the manager
// runs its own thread for events; we only call those through `&`, never stop or drop it (the
// value is leaked), and each `Camera` taken from it is used by one thread at a time.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

static MANAGER: Mutex<Option<&'static Shared>> = Mutex::new(None);

/// The started camera manager, starting it on first use.
pub fn get() -> Result<&'static CameraManager, CameraError> {
    let mut slot = MANAGER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(shared) = *slot {
        return Ok(&shared.0);
    }
    let manager = CameraManager::new().map_err(CameraError::Manager)?;
    let shared: &'static Shared = Box::leak(Box::new(Shared(manager)));
    *slot = Some(shared);
    Ok(&shared.0)
}
