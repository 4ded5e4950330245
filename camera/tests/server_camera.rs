//! The server streaming libcamera's virtual camera through the real helper, in the Debian trixie
//! root of `scripts/libcamera-check.sh` (with the udmabuf LD_PRELOAD shim providing buffers):
//! the colour bars on `/stream.mjpg`, sequence numbers rising across helper restarts, recovery
//! from a camera hung for good below libcamera (the shim's permanent hang: the hanging process
//! blocks until it is killed), from a libcamera library that went away, and a pause file that
//! releases the camera. Without libcamera in this build each test prints one SKIPPED line.

mod common;

use std::time::{Duration, Instant};

use common::bars;
use common::drill::{Rig, FRAME_TIMEOUT};

/// Whether the virtual camera is there (else says, once, why the tests do nothing).
fn with_virtual_camera() -> bool {
    use std::sync::Once;
    static SAID: Once = Once::new();
    let why = if !cfg!(has_libcamera) {
        Some("built without libcamera (the libcamera feature of streamserver-camera)")
    } else if std::env::var_os("STREAMSERVER_CAMERA_CHECK").is_none_or(|v| v != "1") {
        Some("needs libcamera's virtual camera (scripts/libcamera-check.sh sets STREAMSERVER_CAMERA_CHECK=1)")
    } else {
        None
    };
    if let Some(why) = why {
        SAID.call_once(|| common::skipped(why));
    }
    why.is_none()
}

fn camera_rig(tag: &str) -> Rig {
    let rig = Rig::start_with(tag, false, |s| {
        if let streamserver::config::SourceConfig::Camera(c) = &mut s.source {
            c.width = 640;
            c.height = 480;
        }
    });
    rig.assert_live(Duration::from_secs(20), "the virtual camera");
    rig
}

#[test]
fn the_virtual_cameras_bars_reach_the_client_and_sequence_numbers_rise_across_restarts() {
    if !with_virtual_camera() {
        return;
    }
    let rig = camera_rig("bars");
    let jpeg = rig.last_jpeg.lock().unwrap().clone();
    let (w, h, _) = bars::decode(&jpeg);
    assert_eq!((w, h), (640, 480));
    bars::assert_colour_bars(&jpeg);
    for _ in 0..3 {
        let t = Instant::now();
        let pid = rig.helper_pid().expect("a helper runs");
        // SAFETY: kill(2) of the helper this test's server started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let shown = rig
            .wait_part(t, true, Duration::from_secs(5))
            .expect("the placeholder for the killed helper");
        // Live after the placeholder: the new helper's (frames the old one sent before it died
        // may still arrive after `t`).
        assert!(rig.live_after(shown, Duration::from_secs(10)).is_some());
    }
    let seqs: Vec<u64> = rig.parts.lock().unwrap().iter().map(|g| g.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] > w[0]),
        "sequence numbers strictly rise over {} parts",
        seqs.len()
    );
    assert!(rig.client_alive.load(std::sync::atomic::Ordering::Relaxed));
    rig.stop();
}

#[test]
fn a_camera_hung_for_good_below_libcamera_is_recovered_by_killing_its_helper() {
    if !with_virtual_camera() {
        return;
    }
    let trigger = std::env::var("UDMABUF_SHIM_HANG_FILE").expect("the script sets the hang file");
    let rig = camera_rig("hang");
    // The hanging process takes the trigger and blocks until killed (a wedged driver); only
    // the helper's death frees the camera.
    let wrapper = format!(
        "export UDMABUF_SHIM_HANG_MODE=permanent\nexec '{}' \"$@\"",
        common::HELPER
    );
    rig.helper_script(&wrapper);
    let pid = rig.helper_pid().expect("a helper runs");
    let t = Instant::now();
    // SAFETY: kill(2) of the helper this test's server started (the next one has the mode).
    unsafe { libc::kill(pid, libc::SIGKILL) };
    // Live after the kill's placeholder, not merely after `t`: a frame the old helper sent
    // before it died may arrive after `t`, and the rounds below must start with the new helper
    // streaming (else a round's placeholder could be this kill's, with the trigger untaken).
    let shown = rig
        .wait_part(t, true, Duration::from_secs(5))
        .expect("the placeholder for the killed helper");
    assert!(rig.live_after(shown, Duration::from_secs(10)).is_some());
    for round in 0..3 {
        std::fs::write(&trigger, b"hang").unwrap();
        let t = Instant::now();
        let shown = rig
            .wait_part(t, true, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("round {round}: no placeholder for the hang"));
        assert!(
            shown - t <= FRAME_TIMEOUT + Duration::from_secs(1),
            "{:?}",
            shown - t
        );
        // The server killed the wedged helper (the trigger is gone: the cause is gone).
        assert!(!std::path::Path::new(&trigger).exists());
        let live = rig
            .live_after(shown, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("round {round}: no live frame after the kill"));
        assert!(live <= Duration::from_secs(3), "{live:?}");
    }
    rig.stop();
}

#[test]
fn a_libcamera_that_went_away_is_an_error_on_the_stream_until_it_is_back() {
    if !with_virtual_camera() {
        return;
    }
    let rig = camera_rig("hidden");
    // Hide the library the way an `apt upgrade` to another soname does.
    let lib = std::fs::read_dir("/usr/lib/x86_64-linux-gnu")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with("libcamera.so.0.") && n.matches('.').count() == 3
        })
        .expect("libcamera.so.0.X in the root");
    let hidden = lib.with_extension("hidden-by-test");
    std::fs::rename(&lib, &hidden).unwrap();
    let restore = Restore(hidden.clone(), lib.clone());
    let pid = rig.helper_pid().expect("a helper runs");
    // SAFETY: kill(2) of the helper this test's server started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let error = rig.error_containing("cannot load its libraries");
    assert!(error.contains("libcamera"), "{error}");
    assert!(error.contains("--camera-helper-only"), "{error}");
    drop(restore);
    let back = Instant::now();
    assert!(
        rig.live_after(back, Duration::from_secs(5)).is_some(),
        "live again once the library is back"
    );
    rig.stop();
}

/// Puts a hidden file back on drop (also when the test fails).
struct Restore(std::path::PathBuf, std::path::PathBuf);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::rename(&self.0, &self.1);
    }
}

#[test]
fn a_pause_file_releases_the_camera_and_removing_it_resumes() {
    if !with_virtual_camera() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("pause-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pause = dir.join("pause");
    let p2 = pause.clone();
    let rig = Rig::start_with("pause", false, move |s| {
        if let streamserver::config::SourceConfig::Camera(c) = &mut s.source {
            c.pause_file = Some(p2);
        }
    });
    rig.assert_live(Duration::from_secs(20), "the pause rig");
    std::fs::write(&pause, b"").unwrap();
    let t = Instant::now();
    assert!(
        rig.wait_part(t, true, Duration::from_secs(5)).is_some(),
        "paused picture"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while rig.helper_pid().is_some() {
        assert!(
            Instant::now() < deadline,
            "the helper still runs while paused"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = &rig.running.as_ref().unwrap().state.streams[0].stats;
    assert!(stats.paused.load(std::sync::atomic::Ordering::Relaxed));
    // The camera is free: libcamera's own tool captures from it meanwhile.
    let cam = std::process::Command::new("cam")
        .args(["-c", "1", "--capture=3"])
        .output()
        .expect("cam runs");
    assert!(
        cam.status.success(),
        "{}",
        String::from_utf8_lossy(&cam.stderr)
    );
    std::fs::remove_file(&pause).unwrap();
    assert!(rig
        .live_after(Instant::now(), Duration::from_secs(10))
        .is_some());
    assert!(!stats.paused.load(std::sync::atomic::Ordering::Relaxed));
    assert!(rig.client_alive.load(std::sync::atomic::Ordering::Relaxed));
    rig.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
