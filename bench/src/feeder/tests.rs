//! Unit tests of `feeder`.

use super::*;
use streamserver::source::jpeg_check::{check, JpegLimits, DEFAULT_MAX_PIXELS};

const FULL: JpegLimits = JpegLimits {
    max_bytes: 1 << 22,
    full_decode: true,
    max_pixels: DEFAULT_MAX_PIXELS,
};

#[test]
fn pictures_differ_decode_and_come_close_to_the_wanted_size() {
    let free = pictures(160, 120, None).unwrap();
    assert_eq!(free.len(), 8);
    assert!(free.windows(2).all(|w| w[0] != w[1]));
    let sized = pictures(320, 240, Some(12_000)).unwrap();
    let (lo, hi) = (
        sized.iter().map(Vec::len).min().unwrap(),
        sized.iter().map(Vec::len).max().unwrap(),
    );
    assert!(lo > 8_000 && hi < 16_000, "{lo}–{hi} bytes");
    for p in free.iter().chain(&sized) {
        assert!(check(p, FULL).is_ok());
    }
}

#[test]
fn stamps_are_read_back_by_the_probe_and_keep_the_jpeg_valid() {
    let jpeg = &pictures(64, 48, None).unwrap()[0];
    let s = stamped(jpeg, 42, 1_700_000_000_500_000_000);
    let (n, t) = streamserver::probe::producer_stamp(&s).unwrap();
    assert_eq!(n, 42);
    assert!((t - 1_700_000_000.5).abs() < 1e-6);
    assert_eq!(check(&s, FULL).map(|i| i.width), Ok(64));
}

#[test]
fn the_feeder_renames_stamped_frames_into_place_until_stopped() {
    let base = std::env::temp_dir().join(format!("feeder-test-{}", std::process::id()));
    let (stage, watch) = (base.join("stage"), base.join("watch"));
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::create_dir_all(&watch).unwrap();
    let frames = Arc::new(pictures(64, 48, None).unwrap());
    let feeder = Feeder::start(frames, stage.clone(), watch.clone(), 50).unwrap();
    assert!(
        watch.join("frame.jpg").is_file(),
        "the first frame is in place at once"
    );
    let t0 = Instant::now();
    while feeder.written() < 3 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let written_before = feeder.written();
    feeder.stop().unwrap();
    assert!(written_before >= 3, "the feeder keeps writing");
    let last = std::fs::read(watch.join("frame.jpg")).unwrap();
    let (n, _) = streamserver::probe::producer_stamp(&last).unwrap();
    assert!(
        n >= written_before,
        "the newest file written is the one in place"
    );
    let names: Vec<_> = std::fs::read_dir(&watch).unwrap().flatten().collect();
    assert_eq!(
        names.len(),
        1,
        "nothing but frame.jpg in the watched folder"
    );
    let _ = std::fs::remove_dir_all(&base);
}
