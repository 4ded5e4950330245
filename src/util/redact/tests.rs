//! Unit tests of redaction: URLs and request targets lose their secrets, the rest is kept.

use super::*;

#[test]
fn urls_lose_user_info_and_secret_query_values() {
    let table = [
        ("http://u:secret@cam/x@y", "http://***@cam/x@y"),
        ("http://u:p@ss@cam:81/snap", "http://***@cam:81/snap"),
        ("http://cam/a@b", "http://cam/a@b"),
        ("https://cam.local/snap.jpg", "https://cam.local/snap.jpg"),
        ("http://user@cam", "http://***@cam"),
        (
            "http://cam/cgi?cmd=snap&usr=admin&pwd=hunter2",
            "http://cam/cgi?cmd=snap&usr=admin&pwd=***",
        ),
        (
            "http://a:b@cam?token=abc&fps=5#frag",
            "http://***@cam?token=***&fps=5#frag",
        ),
        ("http://cam/?TOKEN=abc", "http://cam/?TOKEN=***"),
        ("http://cam/?tok%65n=abc", "http://cam/?tok%65n=***"),
        ("http://cam/?token=&x=1", "http://cam/?token=&x=1"),
        ("http://cam/?tokens=abc", "http://cam/?tokens=abc"),
        ("http://[::1]:8080/s?key=k", "http://[::1]:8080/s?key=***"),
        ("rtsp://u:p@cam/live", "rtsp://***@cam/live"),
    ];
    for (url, want) in table {
        assert_eq!(redact_url(url), want, "{url}");
    }
}

#[test]
fn request_targets_hide_tokens_and_borrow_when_clean() {
    let table = [
        ("/stream.mjpg?token=abc", "/stream.mjpg?token=***"),
        (
            "/stream.mjpg?fps=5&token=abc&x",
            "/stream.mjpg?fps=5&token=***&x",
        ),
        (
            "/?action=stream&access_token=z",
            "/?action=stream&access_token=***",
        ),
        ("/snapshot.jpg?password=p+w", "/snapshot.jpg?password=***"),
        ("/snapshot.jpg?a%20b=1", "/snapshot.jpg?a%20b=1"),
        (
            "http://u:p@host/stream?token=t",
            "http://***@host/stream?token=***",
        ),
    ];
    for (target, want) in table {
        assert_eq!(redact_target(target), want, "{target}");
    }
    for clean in [
        "/stream.mjpg",
        "/stream.mjpg?fps=5",
        "/?action=snapshot",
        "/%",
    ] {
        assert!(matches!(redact_target(clean), Cow::Borrowed(_)), "{clean}");
    }
}

#[test]
fn percent_decoding_of_keys_tolerates_garbage() {
    assert_eq!(percent_decode_lossy("tok%65n"), "token");
    assert_eq!(percent_decode_lossy("a+b"), "a b");
    assert_eq!(percent_decode_lossy("%"), "%");
    assert_eq!(percent_decode_lossy("%4"), "%4");
    assert_eq!(percent_decode_lossy("%zz"), "%zz");
    assert_eq!(percent_decode_lossy("%ff"), "\u{fffd}");
}
