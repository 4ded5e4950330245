//! Stills, controls and pause through the real server over real TCP, its camera stream run by
//! the real helper on its synthetic camera (no libcamera needed), with an MJPEG client
//! connected throughout (the drill rig): `/still.jpg` at the still size while the client keeps
//! receiving frames, ten concurrent stills answered with one picture, controls listed, set,
//! refused (400 naming the control, nothing applied) and kept across a helper restart, a still
//! the helper never answers (504), pause/resume with `/api/state`, the statuses of a stream
//! that is not a camera, every endpoint refused without the `control` permission, and curl
//! fetching a still.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::bars::decode;
use common::drill::Rig;
use common::http::{get, post, request};
use streamserver::config::SourceConfig;

/// A rig whose camera stream (320×240) takes 640×480 stills.
fn rig(tag: &str, still_timeout: Duration) -> Rig {
    let rig = Rig::start(tag, |s| {
        if let SourceConfig::Camera(c) = &mut s.source {
            (c.still_width, c.still_height) = (640, 480);
            c.still_timeout = still_timeout;
        }
    });
    rig.assert_live(Duration::from_secs(10), "a still rig");
    rig
}

/// Parts the client received since `t`.
fn parts_since(rig: &Rig, t: Instant) -> usize {
    rig.parts
        .lock()
        .unwrap()
        .iter()
        .filter(|g| g.at >= t)
        .count()
}

#[test]
fn a_still_at_the_still_size_while_the_stream_client_keeps_receiving() {
    let rig = rig("still", Duration::from_secs(10));
    let addr = rig.addr();
    let t = Instant::now();
    for path in ["/still.jpg", "/streams/main/still.jpg"] {
        let a = get(addr, path);
        assert_eq!(a.status, 200, "{path}: {}", a.text());
        assert_eq!(a.header("content-type"), Some("image/jpeg"));
        let (w, h, _) = decode(&a.body);
        assert_eq!(
            (w, h),
            (640, 480),
            "{path}: the still size, not the stream's 320x240"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    let parts = parts_since(&rig, t);
    assert!(parts >= 5, "the stream client got {parts} parts meanwhile");
    assert!(rig.client_alive.load(std::sync::atomic::Ordering::Relaxed));
    rig.stop();
}

#[test]
fn ten_concurrent_stills_are_one_capture() {
    let rig = rig("ten", Duration::from_secs(10));
    let addr = rig.addr();
    let threads: Vec<_> = (0..10)
        .map(|_| std::thread::spawn(move || get(addr, "/still.jpg")))
        .collect();
    let answers: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        answers.iter().all(|a| a.status == 200),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    // All ten got the same picture. (That the server sent the helper one Still for them is
    // the unit test `link::tests::ten_concurrent_stills_cost_one_capture_and_share_the_picture`;
    // the synthetic camera would draw the same picture twice within one frame interval.)
    let first = &answers[0].body;
    let same = answers.iter().filter(|a| &a.body == first).count();
    assert_eq!(same, 10, "one picture for all ten");
    rig.stop();
}

#[test]
fn controls_are_listed_set_refused_and_kept_across_a_helper_restart() {
    let rig = rig("controls", Duration::from_secs(10));
    let addr = rig.addr();
    let path = "/api/streams/main/controls";
    let list = get(addr, path);
    assert_eq!(list.status, 200, "{}", list.text());
    let names: Vec<String> = list.json()["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Brightness", "Contrast", "FrameDurationLimits"]);

    let set = post(addr, path, r#"{"Brightness": 0.5}"#);
    assert_eq!(set.status, 200, "{}", set.text());
    assert_eq!(set.json()["applied"]["Brightness"], 0.5);

    for (body, control, reason) in [
        (
            r#"{"Contrast": 1.5, "AfMode": "auto"}"#,
            "AfMode",
            "unsupported",
        ),
        (r#"{"Brightness": 7}"#, "Brightness", "out_of_range"),
        (r#"{"Brightness": "dark"}"#, "Brightness", "wrong_type"),
        (r#"{"Zoom": 2}"#, "Zoom", "unknown"),
    ] {
        let a = post(addr, path, body);
        assert_eq!(a.status, 400, "{body}: {}", a.text());
        let j = a.json();
        assert_eq!(
            (j["control"].as_str(), j["reason"].as_str()),
            (Some(control), Some(reason)),
            "{j}"
        );
        assert!(j["error"].as_str().unwrap().contains(control), "{j}");
    }
    let current = |addr| {
        let j = get(addr, path).json();
        let c = j["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "Brightness")
            .unwrap()
            .clone();
        c["current"].clone()
    };
    assert_eq!(
        current(addr),
        0.5,
        "nothing of the refused requests applied"
    );
    assert_eq!(current(addr).as_f64(), Some(0.5));
    let j = get(addr, path).json();
    let contrast = j["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Contrast")
        .unwrap()
        .clone();
    assert_ne!(
        contrast["current"], 1.5,
        "Contrast of the refused request not applied"
    );

    assert_eq!(post(addr, path, "not json").status, 400);
    assert_eq!(post(addr, path, "[1]").status, 400);
    let put = request(addr, "PUT", path, b"{}", Duration::from_secs(5));
    assert_eq!(put.status, 405);
    assert_eq!(put.header("allow"), Some("GET, HEAD, POST"));

    // A new helper starts with the value set over the API.
    let pid = rig.helper_pid().expect("a helper runs");
    let t = Instant::now();
    // SAFETY: kill(2) of the helper this test's server started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert!(
        rig.wait_part(t, true, Duration::from_secs(5)).is_some(),
        "the restart showed"
    );
    assert!(rig.live_after(t, Duration::from_secs(10)).is_some());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let a = get(addr, path);
        if a.status == 200 {
            assert_ne!(rig.helper_pid(), Some(pid));
            assert_eq!(current(addr), 0.5, "re-applied by the new helper");
            break;
        }
        assert_eq!(a.status, 503, "{}", a.text());
        assert!(Instant::now() < deadline, "the new helper never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    rig.stop();
}

#[test]
fn a_still_the_helper_never_answers_is_a_504_and_the_stream_goes_on() {
    let rig = rig("timeout", Duration::from_secs(1));
    rig.helper_fault("ignore-stills");
    let pid = rig.helper_pid().unwrap();
    let t = Instant::now();
    // SAFETY: kill(2) of the helper this test's server started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert!(rig.live_after(t, Duration::from_secs(10)).is_some());
    let deadline = Instant::now() + Duration::from_secs(10);
    let a = loop {
        let a = get(rig.addr(), "/still.jpg");
        if a.status != 503 || Instant::now() > deadline {
            break a;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(a.status, 504, "{}", a.text());
    assert!(a.text().contains("within"), "{}", a.text());
    let t = Instant::now();
    assert!(
        rig.live_after(t, Duration::from_secs(5)).is_some(),
        "frames go on"
    );
    rig.stop();
}

#[test]
fn pause_and_resume_over_http_release_and_retake_the_camera() {
    let rig = rig("pause", Duration::from_secs(10));
    let addr = rig.addr();
    assert_eq!(post(addr, "/api/streams/main/pause", "").status, 200);
    let state = get(addr, "/api/state").json();
    assert_eq!(state["streams"][0]["paused"], true, "{state}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while rig.helper_pid().is_some() {
        assert!(
            Instant::now() < deadline,
            "the helper still runs while paused"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let still = get(addr, "/still.jpg");
    assert_eq!(still.status, 503, "{}", still.text());
    assert!(still.text().contains("paused"), "{}", still.text());
    assert_eq!(
        get(addr, "/api/streams/main/pause").status,
        405,
        "POST only"
    );
    let t = Instant::now();
    let resumed = post(addr, "/api/streams/main/resume", "");
    assert_eq!(resumed.status, 200);
    assert_eq!(resumed.json()["paused"], false);
    assert!(
        rig.live_after(t, Duration::from_secs(10)).is_some(),
        "live frames again"
    );
    assert_eq!(
        get(addr, "/api/state").json()["streams"][0]["paused"],
        false
    );
    assert_eq!(get(addr, "/api/streams/nope/pause").status, 404);
    rig.stop();
}

#[test]
fn a_stream_that_is_not_a_camera_says_so() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut config = streamserver::config::Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.logging.console = false;
    config.streams = vec![streamserver::config::StreamConfig::test_pattern()];
    let running = rt
        .block_on(streamserver::app::start(
            config,
            streamserver::shutdown::Shutdown::new(),
        ))
        .unwrap();
    let addr = running.addr;
    for (method, path) in [
        ("GET", "/still.jpg"),
        ("GET", "/streams/main/controls"),
        ("GET", "/api/streams/main/controls"),
        ("POST", "/api/streams/main/controls"),
        ("POST", "/api/streams/main/pause"),
    ] {
        let a = request(addr, method, path, b"{}", Duration::from_secs(5));
        assert_eq!(a.status, 404, "{method} {path}");
        assert!(
            a.text().contains("not a camera"),
            "{method} {path}: {}",
            a.text()
        );
    }
    running.shutdown.trigger();
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), running.wait()).await })
        .expect("stops")
        .unwrap();
}

#[test]
fn curl_fetches_a_still() {
    let rig = rig("curl", Duration::from_secs(10));
    let file = rig.dir.join("still.jpg");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-o"])
        .arg(&file)
        .args(["-w", "%{http_code} %{content_type}"])
        .arg(format!("http://{}/still.jpg", rig.addr()))
        .output()
        .expect("curl runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        said,
        "200 image/jpeg",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (w, h, _) = decode(&std::fs::read(&file).unwrap());
    assert_eq!((w, h), (640, 480));
    rig.stop();
}

#[test]
fn every_camera_endpoint_needs_the_control_permission() {
    const OPERATOR: &str = "op3rator-T0ken_abcdefghijklmnopqrstuvwxyz";
    const WATCHER: &str = "watch3r-T0ken_abcdefghijklmnopqrstuvwxyz";
    let rig = Rig::start_configured(
        "perm",
        true,
        |s| {
            if let SourceConfig::Camera(c) = &mut s.source {
                (c.still_width, c.still_height) = (640, 480);
            }
        },
        |config| {
            let users = serde_json::json!([
                {"name": "anonymous", "view": true},
                {"name": "watcher", "token": WATCHER, "view": true},
                {"name": "operator", "token": OPERATOR, "view": true, "control": true},
            ]);
            config.users = serde_json::from_value(users).expect("users");
        },
    );
    rig.assert_live(Duration::from_secs(10), "an access rig");
    let addr = rig.addr();
    let endpoints = [
        ("GET", "/still.jpg"),
        ("GET", "/streams/main/still.jpg"),
        ("GET", "/streams/main/controls"),
        ("GET", "/api/streams/main/controls"),
        ("POST", "/api/streams/main/controls"),
        ("POST", "/api/streams/main/pause"),
        ("POST", "/api/streams/main/resume"),
    ];
    for (method, path) in endpoints {
        let body = br#"{"Brightness": 0.1}"#;
        let anonymous = request(addr, method, path, body, Duration::from_secs(10));
        assert_eq!(anonymous.status, 401, "{method} {path} without a login");
        let watcher = format!("{path}?token={WATCHER}");
        let watcher = request(addr, method, &watcher, body, Duration::from_secs(10));
        assert_eq!(
            watcher.status, 403,
            "{method} {path} for a user without control"
        );
    }
    // The operator may: the resume last, so the stream runs again.
    for (method, path) in endpoints {
        let path = format!("{path}?token={OPERATOR}");
        let body = br#"{"Brightness": 0.1}"#;
        let a = request(addr, method, &path, body, Duration::from_secs(20));
        assert!(
            a.status == 200 || (a.status == 503 && path.contains("pause")),
            "{method} {path}: {} {}",
            a.status,
            a.text()
        );
    }
    rig.stop();
}
