//! Fault drills: the real server with the real camera helper (synthetic camera), one client
//! connected throughout. Each fault — the helper killed with SIGKILL, a camera hung for good
//! (the capture blocks until the process dies), a helper process wedged (SIGSTOP), a helper that
//! exits at once, one whose libcamera cannot be loaded, one of another protocol version — must
//! show the client the placeholder within `frame_timeout` + 1 s and live frames again within
//! 3 s after the cause is gone, without the client ever being disconnected.
//!
//! `DRILLS=N` repeats each drill N times (default 2) and prints p50/max of both figures
//! (BENCHMARKS.md, "Camera fault drills", records a 20-drill run: `DRILLS=20 cargo test --release -p
//! streamserver-camera --test drills -- --nocapture --test-threads=1`).

mod common;

use std::time::{Duration, Instant};

use common::drill::{Rig, FRAME_TIMEOUT};

/// How many times each drill runs.
fn drills() -> usize {
    std::env::var("DRILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

const TO_PLACEHOLDER: Duration = FRAME_TIMEOUT.saturating_add(Duration::from_secs(1));
const TO_LIVE: Duration = Duration::from_secs(3);

fn kill(pid: i32, signal: i32) {
    // SAFETY: kill(2) of a helper this process started.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {pid}");
}

/// When a drill's fault happened and when its cause was gone (`None`: the moment the
/// placeholder shows, e.g. a killed helper is gone at once).
struct Fault {
    at: Option<Instant>,
    fixed: Option<Instant>,
}

/// Runs `drills()` rounds of `fault` (which breaks the helper), asserting the bounds, and
/// prints the figures.
fn drill(name: &str, mut fault: impl FnMut(&Rig) -> Fault) {
    let rig = Rig::start(name, |_| {});
    rig.assert_live(Duration::from_secs(10), &format!("{name}: at start"));
    let (mut to_placeholder, mut to_live) = (Vec::new(), Vec::new());
    for round in 0..drills() {
        // Steady live frames first.
        let t = Instant::now();
        assert!(
            rig.live_after(t, Duration::from_secs(10)).is_some(),
            "{name} #{round}: not live"
        );
        let started = Instant::now();
        let f = fault(&rig);
        let t_fault = f.at.unwrap_or(started);
        let shown = rig
            .wait_part(t_fault, true, Duration::from_secs(15))
            .unwrap_or_else(|| panic!("{name} #{round}: the client never saw the placeholder"));
        let fixed = f.fixed.unwrap_or(shown);
        let live = rig
            .live_after(fixed.max(shown), Duration::from_secs(15))
            .unwrap_or_else(|| panic!("{name} #{round}: no live frame after the cause was gone"));
        to_placeholder.push(shown - t_fault);
        to_live.push(live);
        assert!(rig.client_alive.load(std::sync::atomic::Ordering::Relaxed));
    }
    let p50max = |v: &mut Vec<Duration>| {
        v.sort();
        (v[v.len() / 2], *v.last().unwrap())
    };
    let (p1, m1) = p50max(&mut to_placeholder);
    let (p2, m2) = p50max(&mut to_live);
    println!(
        "drill {name}: {} rounds; to placeholder p50 {:.2} s max {:.2} s; to live after the cause p50 {:.2} s max {:.2} s",
        to_placeholder.len(),
        p1.as_secs_f64(),
        m1.as_secs_f64(),
        p2.as_secs_f64(),
        m2.as_secs_f64()
    );
    assert!(m1 <= TO_PLACEHOLDER, "{name}: placeholder after {m1:?}");
    assert!(m2 <= TO_LIVE, "{name}: live after {m2:?}");
    rig.stop();
}

#[test]
fn kill_9_of_the_helper() {
    drill("kill9", |rig| {
        kill(rig.helper_pid().expect("a helper runs"), libc::SIGKILL);
        // The cause is gone at once (measured from the placeholder).
        Fault {
            at: None,
            fixed: None,
        }
    });
}

#[test]
fn a_camera_hung_for_good() {
    drill("hang", |rig| {
        // The next helper's capture blocks for good after 30 frames, as a wedged driver does:
        // only the process's death ends it. (The running helper is killed to start it.)
        rig.helper_fault("hang-after=30");
        let killed = Instant::now();
        kill(rig.helper_pid().expect("a helper runs"), libc::SIGKILL);
        let restarted = rig
            .wait_part(killed, true, Duration::from_secs(10))
            .and_then(|p| rig.wait_part(p, false, Duration::from_secs(10)))
            .expect("the faulty helper delivers its first frames");
        // The hang: the last live part before the next placeholder.
        let hung = rig
            .wait_part(restarted, true, Duration::from_secs(15))
            .expect("the hang shows the placeholder");
        let last_live = rig
            .parts
            .lock()
            .unwrap()
            .iter()
            .filter(|g| g.at < hung && g.at >= restarted)
            .map(|g| g.at)
            .max()
            .unwrap_or(restarted);
        rig.helper_good();
        Fault {
            at: Some(last_live),
            fixed: Some(Instant::now()),
        }
    });
}

#[test]
fn a_wedged_helper_process() {
    drill("sigstop", |rig| {
        // A stopped process answers nothing: only the server's frame_timeout finds it.
        kill(rig.helper_pid().expect("a helper runs"), libc::SIGSTOP);
        Fault {
            at: None,
            fixed: None,
        }
    });
}

#[test]
fn a_helper_that_exits_at_once() {
    drill("exits", |rig| {
        rig.helper_script("exit 3");
        kill(rig.helper_pid().expect("a helper runs"), libc::SIGKILL);
        rig.wait_part(Instant::now(), true, Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(600)); // a few failed starts
        rig.helper_good();
        Fault {
            at: None,
            fixed: Some(Instant::now()),
        }
    });
}

#[test]
fn a_helper_whose_libcamera_is_gone() {
    drill("loader", |rig| {
        rig.helper_script(
            "echo \"$0: error while loading shared libraries: libcamera.so.0.4: cannot open shared object file: No such file or directory\" >&2; exit 127",
        );
        kill(rig.helper_pid().expect("a helper runs"), libc::SIGKILL);
        let error = rig.error_containing("libcamera.so.0.4");
        assert!(error.contains("--camera-helper-only"), "{error}");
        rig.helper_good();
        Fault {
            at: None,
            fixed: Some(Instant::now()),
        }
    });
}

#[test]
fn a_helper_of_another_protocol_version() {
    drill("version", |rig| {
        // The preamble of protocol 99 and a Hello naming helper 9.9.9.
        rig.helper_script(
            r"printf '\211SSCAM\r\n\143\000\001\013\000\000\000\005\0009.9.9\000\000\000\000'; sleep 5",
        );
        kill(rig.helper_pid().expect("a helper runs"), libc::SIGKILL);
        let error = rig.error_containing("protocol 99");
        assert!(error.contains("9.9.9"), "{error}");
        rig.helper_good();
        Fault {
            at: None,
            fixed: Some(Instant::now()),
        }
    });
}
