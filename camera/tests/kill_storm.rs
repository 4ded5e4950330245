//! 200 helpers killed with SIGKILL in a row, one client connected throughout: the server reaps
//! every one (no zombie), keeps no file descriptor or memory of them — nor their regions of
//! shared memory for frames, each unmapped once its last frame is dropped — and never drops the
//! client. (Its own test binary, so no other test's helpers or sockets skew the counts.)

mod common;

use std::time::{Duration, Instant};

use common::drill::Rig;

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Regions of shared memory for frames this process maps (the server maps each as two areas:
/// its header read-write, its slots read-only).
fn frame_regions() -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut regions: Vec<&str> = maps
        .lines()
        .filter(|l| l.contains("memfd:streamserver-frames-"))
        .filter_map(|l| l.split_whitespace().nth(4)) // the inode: one per region
        .collect();
    regions.sort_unstable();
    regions.dedup();
    regions.len()
}

/// [`frame_regions`] once the previous helper's region is gone (a client may still be sending
/// that helper's last frame for a moment), or after 2 s.
fn frame_regions_settled() -> usize {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let n = frame_regions();
        if n <= 1 || Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Children of this process that are zombies (dead, not reaped).
fn zombies() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            let rest = stat.rsplit_once(") ").map_or("", |r| r.1);
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.first() == Some(&"Z") && f.get(1) == Some(&me.as_str())
        })
        .count()
}

/// Waits for a helper other than `old` that has delivered a live frame after `since`.
fn next_helper(rig: &Rig, old: Option<i32>, since: Instant) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = rig.helper_pid().filter(|p| Some(*p) != old) {
            if rig.live_after(since, Duration::from_millis(50)).is_some() {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "no new helper after the kill");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn two_hundred_kills_leak_no_process_fd_or_memory_and_keep_the_client() {
    let rig = Rig::start("storm", |s| {
        s.supervisor.backoff_initial = Duration::from_millis(10);
        s.supervisor.backoff_max = Duration::from_millis(20);
    });
    let mut pid = next_helper(&rig, None, Instant::now() - Duration::from_secs(1));
    // A few rounds first, so buffers and threads of the steady state exist before counting.
    for _ in 0..5 {
        let t = Instant::now();
        unsafe { libc::kill(pid, libc::SIGKILL) };
        pid = next_helper(&rig, Some(pid), t);
    }
    let (fds0, rss0) = (fds(), rss_kib());
    assert_eq!(
        frame_regions_settled(),
        1,
        "frames come through the helper's shared memory"
    );
    let t0 = Instant::now();
    for _ in 0..200 {
        let t = Instant::now();
        // SAFETY: kill(2) of the helper this process's server started.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        pid = next_helper(&rig, Some(pid), t);
    }
    let took = t0.elapsed();
    // Let the last one settle, then count.
    assert!(rig
        .live_after(Instant::now(), Duration::from_secs(5))
        .is_some());
    let (fds1, rss1, z, regions) = (fds(), rss_kib(), zombies(), frame_regions_settled());
    println!(
        "200 kills in {:.1} s: fds {fds0} -> {fds1}, RSS {rss0} -> {rss1} KiB, zombies {z}, \
         frame regions mapped {regions}",
        took.as_secs_f64()
    );
    // The running helper's alone: the 200 before it were unmapped with their last frames.
    assert_eq!(regions, 1, "frame regions mapped");
    assert_eq!(z, 0, "every helper is reaped");
    assert!(fds1 <= fds0, "fds {fds0} -> {fds1}");
    assert!(rss1 <= rss0 + 2048, "RSS {rss0} -> {rss1} KiB");
    assert!(rig.client_alive.load(std::sync::atomic::Ordering::Relaxed));
    let restarts = rig.running.as_ref().unwrap().state.streams[0]
        .status
        .get()
        .restarts;
    assert!(restarts >= 205, "{restarts} restarts");
    rig.stop();
}
