//! The http source end to end: the real server on 127.0.0.1:0 polling misbehaving snapshot
//! servers on 127.0.0.1, real MJPEG clients over TCP.

mod common;

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::Duration;

use common::sources::{jpeg, start_stream as start, stop_stream as stop, wait_until, MjpegClient};
use common::upstream::{Behaviour, TlsUpstream, Upstream};
use streamserver::config::{OnStale, SnapshotPollConfig, SourceConfig, Validate};
use streamserver::config::{StreamConfig, StreamId};
use streamserver::pipeline::slot::FrameKind;

fn stream(http: SnapshotPollConfig) -> StreamConfig {
    let mut s = StreamConfig::test_pattern();
    s.id = StreamId("cam".into());
    s.source = SourceConfig::SnapshotPoll(http);
    s
}

fn http(url: String) -> SnapshotPollConfig {
    SnapshotPollConfig {
        url,
        fetch_max_fps: 20.0,
        fetch_min_fps: 0.0,
        timeout: Duration::from_millis(400),
        on_stale: OnStale::LastFrame,
        stale_after: Duration::from_secs(60),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_only_while_watched_one_request_at_a_time() {
    let a = jpeg(160, 120, "a");
    let up = Upstream::start(Behaviour::Slow(Duration::from_millis(20), a.clone()));
    let running = start(stream(http(up.url("/snap.jpg")))).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        up.total(),
        0,
        "nobody watches and fetch_min_fps = 0: no requests"
    );
    let stats = running.state.streams[0].stats.clone();
    assert!(stats.idle.load(Relaxed), "idle mode is shown");
    let mut client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    let part = client.next_within(Duration::from_secs(3)).await.unwrap();
    assert_eq!(part.jpeg, a);
    assert!(!stats.idle.load(Relaxed));
    let before = up.total();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let per_s = up.total() - before;
    assert!(
        (8..=21).contains(&per_s),
        "about fetch_max_fps = 20 requests a second: {per_s}"
    );
    assert_eq!(
        up.max_in_flight.load(SeqCst),
        1,
        "never two requests in flight"
    );
    drop(client);
    // The demand window (5 s) passes, then polling stops.
    tokio::time::sleep(Duration::from_millis(5600)).await;
    let idle = up.total();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        up.total(),
        idle,
        "polling stopped after the last client left"
    );
    stop(running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_upstream_never_replaces_the_last_good_frame() {
    let good = jpeg(160, 120, "good");
    let up = Upstream::start(Behaviour::Serve("image/jpeg", good.clone()));
    let running = start(stream(http(up.url("/snap.jpg")))).await;
    let mut client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    let first = client.next_within(Duration::from_secs(3)).await.unwrap();
    assert_eq!(first.jpeg, good);
    let slot = running.state.streams[0].slot.clone();
    let stats = running.state.streams[0].stats.clone();
    let cases = [
        Behaviour::Slow(Duration::from_millis(900), good.clone()),
        Behaviour::Error500,
        Behaviour::Truncated(jpeg(320, 240, "truncated")),
        Behaviour::Serve("text/html", b"<html>login</html>".to_vec()),
        Behaviour::Serve("image/jpeg", b"\xFF\xD8 not really \xFF\xD9".to_vec()),
        Behaviour::EndlessHeader,
        Behaviour::Huge,
        Behaviour::StallMidFrame(jpeg(320, 240, "stalled")),
    ];
    for case in cases {
        // A good fetch first: it ends the previous case's error back-off.
        let captured = stats.frames_captured.total();
        up.set(Behaviour::Serve("image/jpeg", good.clone()));
        wait_until(Duration::from_secs(5), "a good fetch", || {
            stats.frames_captured.total() > captured
        })
        .await;
        let name = case.name();
        let (n0, dropped0) = (up.count(name), stats.frames_dropped.load(Relaxed));
        up.set(case);
        wait_until(Duration::from_secs(10), name, || {
            up.count(name) >= n0 + 2 && stats.frames_dropped.load(Relaxed) >= dropped0 + 2
        })
        .await;
        // (Compared by content: a good fetch may still finish just after the switch.)
        let latest = slot.latest().unwrap();
        assert!(latest.jpeg[..] == good[..], "{name} replaced the frame");
        assert_eq!(latest.kind, FrameKind::Live);
    }
    // The client was kept fed with the good frame (idle re-send) and sees the next good one.
    let next = jpeg(160, 120, "next");
    up.set(Behaviour::Serve("image/jpeg", next.clone()));
    let mut got = client.next_within(Duration::from_secs(3)).await.unwrap();
    while got.jpeg != next {
        assert_eq!(got.jpeg, good);
        got = client.next_within(Duration::from_secs(3)).await.unwrap();
    }
    stop(running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_shows_the_placeholder_and_recovers() {
    let good = jpeg(320, 240, "good");
    let up = Upstream::start(Behaviour::Serve("image/jpeg", good.clone()));
    let running = start(stream(SnapshotPollConfig {
        stale_after: Duration::from_millis(500),
        on_stale: OnStale::Placeholder,
        ..http(up.url("/snap.jpg"))
    }))
    .await;
    let mut client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    assert_eq!(
        client
            .next_within(Duration::from_secs(3))
            .await
            .unwrap()
            .jpeg,
        good
    );
    up.set(Behaviour::Error500);
    let placeholder = loop {
        let part = client.next_within(Duration::from_secs(3)).await.unwrap();
        if part.jpeg != good {
            break part;
        }
    };
    let header = turbojpeg::read_header(&placeholder.jpeg).unwrap();
    assert_eq!(
        (header.width, header.height),
        (320, 240),
        "the stream's size"
    );
    let slot = running.state.streams[0].slot.clone();
    assert_eq!(slot.latest().unwrap().kind, FrameKind::Placeholder);
    let back = jpeg(320, 240, "back");
    up.set(Behaviour::Serve("image/jpeg", back.clone()));
    loop {
        let part = client.next_within(Duration::from_secs(3)).await.unwrap();
        if part.jpeg == back {
            break;
        }
    }
    stop(running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convert_mode_turns_a_png_into_a_jpeg() {
    let img = image::RgbImage::from_fn(96, 64, |x, y| image::Rgb([x as u8 * 2, y as u8 * 3, 99]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let up = Upstream::start(Behaviour::Serve("image/png", png.into_inner()));
    let running = start(stream(SnapshotPollConfig {
        validate: Validate::Convert,
        ..http(up.url("/snap.png"))
    }))
    .await;
    let mut client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    let part = client.next_within(Duration::from_secs(3)).await.unwrap();
    let header = turbojpeg::read_header(&part.jpeg).unwrap();
    assert_eq!((header.width, header.height), (96, 64));
    stop(running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_from_config_or_url_are_sent_as_basic_auth() {
    let a = jpeg(64, 48, "auth");
    // "cam:s3cret"
    let up = Upstream::start(Behaviour::Auth("Basic Y2FtOnMzY3JldA==".into(), a.clone()));
    let addr = up.addr;
    for (url, user) in [
        (format!("http://{addr}/snap.jpg"), Some("cam")),
        (format!("http://cam:s3cret@{addr}/snap.jpg"), None),
    ] {
        let running = start(stream(SnapshotPollConfig {
            username: user.map(str::to_string),
            password: user.map(|_| "s3cret".to_string()),
            ..http(url)
        }))
        .await;
        let mut client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
        assert_eq!(
            client
                .next_within(Duration::from_secs(3))
                .await
                .unwrap()
                .jpeg,
            a
        );
        stop(running).await;
    }
    let running = start(stream(SnapshotPollConfig {
        username: Some("cam".into()),
        password: Some("wrong".into()),
        ..http(up.url("/snap.jpg"))
    }))
    .await;
    let _client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    let stats = running.state.streams[0].stats.clone();
    wait_until(Duration::from_secs(3), "401s counted", || {
        stats.frames_dropped.load(Relaxed) >= 2
    })
    .await;
    assert!(running.state.streams[0].slot.latest().is_none());
    stop(running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_up_to_the_limit() {
    let a = jpeg(64, 48, "redirected");
    let up = Upstream::start(Behaviour::Redirects(a.clone()));
    let running = start(stream(http(up.url("/r3")))).await;
    let mut client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    assert_eq!(
        client
            .next_within(Duration::from_secs(3))
            .await
            .unwrap()
            .jpeg,
        a
    );
    stop(running).await;

    let running = start(stream(SnapshotPollConfig {
        max_redirects: 2,
        ..http(up.url("/r3"))
    }))
    .await;
    let _client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    let stats = running.state.streams[0].stats.clone();
    wait_until(Duration::from_secs(3), "too many redirects", || {
        stats.frames_dropped.load(Relaxed) >= 2
    })
    .await;
    assert!(running.state.streams[0].slot.latest().is_none());
    stop(running).await;
}

#[tokio::test]
async fn a_bad_url_fails_start_up_with_one_line() {
    let mut config = streamserver::config::Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.streams = vec![stream(http("ftp://cam/snap.jpg".into()))];
    let err = match streamserver::app::start(config, streamserver::shutdown::Shutdown::new()).await
    {
        Ok(_) => panic!("start-up must fail"),
        Err(e) => e,
    };
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        source.contains("ftp://cam/snap.jpg") && source.contains("http://"),
        "{source}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_verifies_certificates_unless_told_not_to() {
    let a = jpeg(64, 48, "tls");
    let up = TlsUpstream::start(a.clone());
    let url = format!("https://{}/snap.jpg", up.addr);
    // A self-signed certificate is refused by default.
    let running = start(stream(http(url.clone()))).await;
    let _client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    let stats = running.state.streams[0].stats.clone();
    wait_until(Duration::from_secs(5), "refused handshakes", || {
        stats.frames_dropped.load(Relaxed) >= 2
    })
    .await;
    assert!(running.state.streams[0].slot.latest().is_none());
    stop(running).await;
    // With accept_invalid_certs the same server works.
    let running = start(stream(SnapshotPollConfig {
        accept_invalid_certs: true,
        ..http(url)
    }))
    .await;
    let mut client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    assert_eq!(
        client
            .next_within(Duration::from_secs(5))
            .await
            .unwrap()
            .jpeg,
        a
    );
    stop(running).await;
}
