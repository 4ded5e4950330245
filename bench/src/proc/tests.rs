//! Unit tests of `proc`.

use super::*;

#[test]
fn reads_our_own_rss() {
    let rss = rss_bytes(std::process::id()).unwrap();
    assert!(rss > 1 << 20 && rss < 1 << 34, "{rss}");
}

/// This thread's own CPU time (the clock `schedstat` counts too).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn thread_times_grow_with_work_and_list_every_thread() {
    let pid = std::process::id();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        tid_tx.send(unsafe { libc::gettid() } as u32).unwrap();
        go_rx.recv().unwrap();
        let (start, t0) = (thread_cpu(), Instant::now());
        while thread_cpu() - start < Duration::from_millis(50)
            && t0.elapsed() < Duration::from_secs(20)
        {
            std::hint::black_box(0u64);
        }
        done_tx.send(thread_cpu() - start).unwrap();
        std::thread::sleep(Duration::from_millis(200)); // still there when we look
    });
    let tid = tid_rx.recv().unwrap();
    let before = threads(pid);
    go_tx.send(()).unwrap();
    let worked = done_rx.recv().unwrap();
    let after = threads(pid);
    worker.join().unwrap();
    assert!(worked >= Duration::from_millis(50), "{worked:?}");
    let (b, a) = (before[&tid], after[&tid]);
    assert!(a.cpu_ns - b.cpu_ns >= 50_000_000, "{b:?} → {a:?}");
    assert!(
        a.switches > b.switches,
        "it waited for the go: {b:?} → {a:?}"
    );
    let delta = threads_delta(&before, &after);
    assert!(delta.cpu_ns >= a.cpu_ns - b.cpu_ns, "{delta:?}");
}

#[test]
fn sampler_samples_until_finished() {
    let sampler = Sampler::start(std::process::id(), Duration::from_millis(50));
    std::thread::sleep(Duration::from_millis(220));
    let s = sampler.finish();
    assert!((3..=6).contains(&s.samples), "{s:?}");
    assert!(s.max >= s.first.max(s.last) && s.first > 0);
}

#[test]
fn fd_limit_is_raised_to_the_hard_limit() {
    assert!(raise_fd_limit().unwrap() >= 1024);
}
