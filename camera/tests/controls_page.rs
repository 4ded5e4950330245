//! The camera controls page in a real browser: headless Chromium (Playwright driving Debian's
//! `/usr/bin/chromium`) opens `/streams/main/controls` of the real server, whose camera stream
//! the real helper runs on its synthetic camera; the page lists the camera's controls, its
//! Brightness slider is moved, and the value the camera applied is echoed in the page — and
//! the server's own list says the same afterwards. Without Chromium or Playwright (installed by
//! `scripts/deps.sh test`) the test prints SKIPPED with the reason.

mod common;

#[path = "../../tests/common/python.rs"]
mod python;

use std::path::Path;
use std::time::Duration;

use common::drill::Rig;
use common::http::get;
use python::{python_module, run_python};

#[test]
fn the_controls_page_sets_a_control_and_echoes_what_the_camera_applied() {
    if !Path::new("/usr/bin/chromium").exists() {
        println!("SKIPPED controls page: /usr/bin/chromium is missing (scripts/deps.sh test installs it)");
        return;
    }
    if let Err(why) = python_module("playwright", "playwright") {
        println!("SKIPPED controls page: {why}");
        return;
    }
    let rig = Rig::start("controls-page", |_| {});
    rig.assert_live(Duration::from_secs(10), "the controls page rig");
    let base = format!("http://{}", rig.addr());
    let script = format!(
        "{}/tests/controls_page/browser.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = run_python(&[&script, &base, "main"]);
    let rows: Vec<&str> = out["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    for name in ["Brightness", "Contrast", "FrameDurationLimits"] {
        assert!(
            rows.contains(&&*format!("control-{name}")),
            "{name} missing: {out}"
        );
    }
    let message = out["message"].as_str().unwrap_or("");
    assert!(message.contains("\"Brightness\":0.5"), "{out}");
    assert_eq!(out["value"], "0.5", "{out}");
    let list = get(rig.addr(), "/api/streams/main/controls").json();
    let brightness = list["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .find(|c| c["name"] == "Brightness")
        .expect("Brightness listed")
        .clone();
    assert_eq!(brightness["current"], 0.5, "{brightness}");
    // That the page needs the control permission, and that a stream that is not a camera has
    // none, is checked with the other camera endpoints in server_requests.rs.
    rig.stop();
}
