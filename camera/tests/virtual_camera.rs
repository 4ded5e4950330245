//! The helper against real libcamera: libcamera's virtual camera ("Virtual0", NV12, colour
//! bars) in the Debian trixie root of `scripts/libcamera-check.sh`, with the udmabuf LD_PRELOAD
//! shim (`scripts/udmabuf-shim.c`) providing its buffers.
//!
//! Needs a helper built with libcamera (`--features libcamera` on x86_64), and runs only where
//! `STREAMSERVER_CAMERA_CHECK=1` says the virtual camera is there (the script sets it, with the
//! shim preloaded and `UDMABUF_SHIM_HANG_FILE` naming the shim's fault trigger). Elsewhere it
//! prints one `SKIPPED` line saying why. One test, steps in order: the camera is exclusive.

mod common;

#[cfg(not(has_libcamera))]
#[test]
fn virtual_camera() {
    common::skipped("built without libcamera (the libcamera feature of streamserver-camera)");
}

#[cfg(has_libcamera)]
#[test]
fn virtual_camera() {
    if std::env::var_os("STREAMSERVER_CAMERA_CHECK").is_none_or(|v| v != "1") {
        common::skipped(
            "needs libcamera's virtual camera (scripts/libcamera-check.sh sets STREAMSERVER_CAMERA_CHECK=1)",
        );
        return;
    }
    steps::list_and_version();
    steps::stream_shows_the_colour_bars_and_frees_the_camera_on_stop();
    steps::idle_then_wanted_again();
    steps::rotation_90_turns_the_bars();
    steps::a_second_helper_while_the_camera_is_held();
    steps::a_hung_camera_is_reported_and_the_helper_exits_anyway();
}

#[cfg(has_libcamera)]
mod steps {
    use std::path::PathBuf;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use super::common::bars::{assert_colour_bars, assert_colour_bars_turned_clockwise};
    use super::common::{settings, Helper, HELPER};
    use streamserver::config::PixelFormat;
    use streamserver::source::camera::protocol::{FailureKind, HelperSettings, Message, Started};

    const WAIT: Duration = Duration::from_secs(20);

    fn step(name: &str) {
        eprintln!("virtual_camera: {name}");
    }

    fn nv12() -> HelperSettings {
        settings(640, 480, PixelFormat::Nv12)
    }

    /// A helper of this process on the virtual camera, started.
    fn start(s: &HelperSettings) -> (Helper, Started) {
        let pid = std::process::id().to_string();
        let (mut helper, _) = Helper::spawn(&["run", "--parent-pid", &pid]);
        helper.commands().start(s).unwrap();
        match helper.next(WAIT) {
            Message::Started(started) => (helper, started),
            other => panic!(
                "expected Started, got {other:?}; stderr: {}",
                helper.stderr()
            ),
        }
    }

    fn stop(mut helper: Helper) {
        helper.commands().stop().unwrap();
        let (_, end) = helper.until_end(WAIT);
        assert!(end.is_closed(), "{end}");
        let status = helper.wait_exit(WAIT);
        assert_eq!(status.code(), Some(0), "stderr: {}", helper.stderr());
    }

    pub fn rotation_90_turns_the_bars() {
        step("rotation 90: frames turned clockwise after capture");
        let mut s = nv12();
        s.camera.rotation = streamserver::config::Rotation::R90;
        let (helper, started) = start(&s);
        assert_eq!(
            (started.width, started.height),
            (640, 480),
            "the camera's size"
        );
        let mut frames = 0;
        while frames < 3 {
            if let Message::Frame(f) = helper.next(WAIT) {
                assert_eq!((f.info.width, f.info.height), (480, 640));
                assert_colour_bars_turned_clockwise(&f.jpeg);
                frames += 1;
            }
        }
        stop(helper);
    }

    pub fn list_and_version() {
        step("list and version");
        let out = Command::new(HELPER).arg("list").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("0: Virtual0 (model \"Virtual Video Device\")"),
            "{stdout}"
        );
        assert!(
            stdout.contains("\n    NV12: 640x480..1280x720; sizes: 640x480 "),
            "{stdout}"
        );
        let out = Command::new(HELPER).arg("version").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("\nlibcamera built against: 0.4."), "{text}");
        assert!(
            text.contains("\nlibcamera loaded: ") && text.contains("0.4."),
            "{text}"
        );
    }

    pub fn stream_shows_the_colour_bars_and_frees_the_camera_on_stop() {
        step("stream: colour bars, then Stop releases the camera");
        for round in 0..2 {
            // The second round proves the first helper released the camera when it stopped.
            let (helper, started) = start(&nv12());
            assert_eq!((started.width, started.height), (640, 480));
            assert_eq!(started.format, "NV12");
            assert_eq!(started.camera_id, "Virtual0");
            assert_eq!(started.model, "Virtual Video Device");
            let t = Instant::now();
            let mut last = 0;
            for n in 0..30 {
                let Message::Frame(f) = helper.next(WAIT) else {
                    panic!("round {round}: expected frames")
                };
                assert!(f.info.seq > last, "seq {} after {last}", f.info.seq);
                last = f.info.seq;
                assert_eq!((f.info.width, f.info.height), (640, 480));
                if n % 10 == 1 {
                    assert_colour_bars(&f.jpeg);
                }
            }
            // The virtual camera has no working frame-duration control: paced here at 30 fps.
            assert!(
                t.elapsed() >= Duration::from_millis(800),
                "{:?}",
                t.elapsed()
            );
            stop(helper);
        }
    }

    pub fn idle_then_wanted_again() {
        step("Demand false: Alives only; Demand true: frames again");
        let (mut helper, _) = start(&nv12());
        helper.next(WAIT);
        helper.commands().demand(false).unwrap();
        let mut alives = 0;
        let mut frames_after_alive = 0;
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(1500) {
            match helper.next(WAIT) {
                Message::Alive { .. } => alives += 1,
                Message::Frame(_) if alives > 0 => frames_after_alive += 1,
                _ => {}
            }
        }
        assert!((3..=8).contains(&alives), "{alives} Alives in 1.5 s");
        assert_eq!(frames_after_alive, 0);
        helper.commands().demand(true).unwrap();
        let frame = loop {
            if let Message::Frame(f) = helper.next(WAIT) {
                break f;
            }
        };
        assert_colour_bars(&frame.jpeg);
        stop(helper);
    }

    pub fn a_second_helper_while_the_camera_is_held() {
        step("a second helper while the first holds the camera");
        let (first, _) = start(&nv12());
        let pid = std::process::id().to_string();
        let (mut second, _) = Helper::spawn(&["run", "--parent-pid", &pid]);
        second.commands().start(&nv12()).unwrap();
        match second.next(WAIT) {
            Message::Failed(f) => {
                eprintln!("virtual_camera: second helper: {:?}: {}", f.kind, f.message);
                assert_eq!(f.kind, FailureKind::CameraBusy, "{}", f.message);
                assert_eq!(second.wait_exit(WAIT).code(), Some(1));
            }
            Message::Started(_) => {
                // libcamera's virtual camera has no device to lock: two processes can both
                // acquire it. Say so; the first helper must still deliver.
                eprintln!("virtual_camera: the virtual camera is not exclusive between processes");
                stop(second);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            first.next(WAIT),
            Message::Frame(_) | Message::Alive { .. }
        ));
        stop(first);
    }

    pub fn a_hung_camera_is_reported_and_the_helper_exits_anyway() {
        step("a camera hung inside libcamera: Failed at once, exit without it");
        let trigger = PathBuf::from(std::env::var_os("UDMABUF_SHIM_HANG_FILE").expect(
            "UDMABUF_SHIM_HANG_FILE must name the shim's fault trigger (scripts/libcamera-check.sh)",
        ));
        let _ = std::fs::remove_file(&trigger);
        let mut s = nv12();
        s.camera.frame_timeout = Duration::from_millis(500);
        let (helper, _) = start(&s);
        helper.next(WAIT);
        std::fs::write(&trigger, b"hang").unwrap();
        let t = Instant::now();
        let failure = loop {
            match helper.next(WAIT) {
                Message::Failed(f) => break f,
                Message::Frame(_) | Message::Alive { .. } => {}
                other => panic!("{other:?}"),
            }
        };
        let reported = t.elapsed();
        assert_eq!(failure.kind, FailureKind::Libcamera, "{}", failure.message);
        assert!(
            failure.message.contains("no frame completed within"),
            "{}",
            failure.message
        );
        let mut helper = helper;
        let status = helper.wait_exit(WAIT);
        let exited = t.elapsed();
        std::fs::remove_file(&trigger).unwrap();
        eprintln!(
            "virtual_camera: hang reported after {reported:?}, helper exited after {exited:?}"
        );
        assert_eq!(status.code(), Some(1), "stderr: {}", helper.stderr());
        assert!(reported < Duration::from_secs(3), "{reported:?}");
        // The trigger was still there: libcamera could not stop, the helper left without it.
        assert!(exited < Duration::from_secs(8), "{exited:?}");
        let stderr = helper.stderr_to_end(WAIT);
        assert!(stderr.contains("did not stop"), "{stderr}");
    }
}
