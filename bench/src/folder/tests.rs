//! Unit tests of `folder`.

use super::*;

#[test]
fn tags_round_trip_and_keep_the_jpeg_valid() {
    let pics = pictures(64, 48).unwrap();
    let t = tagged(&pics[0], 1234);
    assert_eq!(tag_of(&t), Some(1234));
    assert_eq!(tag_of(&pics[0]), None);
    let limits = streamserver::source::jpeg_check::JpegLimits {
        max_bytes: 1 << 20,
        full_decode: true,
        max_pixels: streamserver::source::jpeg_check::DEFAULT_MAX_PIXELS,
    };
    assert!(streamserver::source::jpeg_check::check(&t, limits).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_measures_every_client() {
    let report = run(FolderBenchOptions {
        clients: 2,
        fps: 20,
        seconds: 1,
        width: 160,
        height: 120,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(report.files, 20);
    assert!(report.samples >= 20, "{report}");
    assert!(report.p50_ms > 0.0 && report.p50_ms <= report.p99_ms);
}
