//! Unit tests of `proc`.

use super::*;

#[test]
fn reads_our_own_cpu_and_rss() {
    let pid = std::process::id();
    let before = cpu_time(pid).unwrap();
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < Duration::from_millis(300) {
        x = x.wrapping_add(std::hint::black_box(1));
    }
    assert!(x > 0);
    assert!(cpu_time(pid).unwrap() > before);
    let rss = rss_bytes(pid).unwrap();
    assert!(rss > 1 << 20 && rss < 1 << 34, "{rss}");
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
