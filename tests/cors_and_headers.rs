//! Headers every response carries: `X-Content-Type-Options: nosniff` (pages, JSON, JPEGs,
//! streams, errors), and CORS for the `cors_origins` only (with a preflight answer), over real
//! TCP against the in-process server.

mod common;

use std::time::Duration;

use common::client::{raw_request, HttpConn};
use common::{config, start, stop};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nosniff_everywhere_and_cors_only_for_the_listed_origins() {
    let mut c = config(64, 48, 15);
    c.server.cors_origins = vec!["https://dash.example.org".into()];
    let running = start(c).await;
    let addr = running.addr;
    let req = |path: &str, origin: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nOrigin: {origin}\r\n\r\n")
    };
    for path in [
        "/",
        "/api/state",
        "/metrics",
        "/snapshot.jpg",
        "/nope",
        "/?action=brew",
    ] {
        let r = raw_request(addr, req(path, "https://dash.example.org").as_bytes()).await;
        assert_eq!(
            r.head.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            r.head.header("access-control-allow-origin"),
            Some("https://dash.example.org"),
            "{path}"
        );
        assert_eq!(r.head.header("vary"), Some("Origin"), "{path}");
        let other = raw_request(addr, req(path, "https://evil.example").as_bytes()).await;
        assert_eq!(
            other.head.header("access-control-allow-origin"),
            None,
            "{path}"
        );
        assert_eq!(other.head.header("x-content-type-options"), Some("nosniff"));
    }
    // The stream too.
    let mut s = HttpConn::connect(addr).await;
    s.send(req("/stream.mjpg", "https://dash.example.org").as_bytes())
        .await;
    let head = s.read_head().await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        head.header("access-control-allow-origin"),
        Some("https://dash.example.org")
    );
    drop(s);

    let preflight = "OPTIONS /api/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
        Origin: https://dash.example.org\r\nAccess-Control-Request-Method: GET\r\n\
        Access-Control-Request-Headers: authorization\r\n\r\n";
    let r = raw_request(addr, preflight.as_bytes()).await;
    assert_eq!(r.head.status, 204);
    assert_eq!(
        r.head.header("access-control-allow-methods"),
        Some("GET, HEAD")
    );
    assert_eq!(
        r.head.header("access-control-allow-headers"),
        Some("Authorization")
    );
    assert_eq!(
        r.head.header("access-control-allow-credentials"),
        Some("true")
    );
    let r = raw_request(
        addr,
        preflight
            .replace("dash.example.org", "evil.example")
            .as_bytes(),
    )
    .await;
    assert_eq!(r.head.header("access-control-allow-origin"), None);
    tokio::time::sleep(Duration::from_millis(10)).await;
    stop(running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cors_origins_no_cors_headers_and_options_is_refused() {
    let running = start(config(64, 48, 15)).await;
    let r = raw_request(
        running.addr,
        b"GET /api/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\nOrigin: https://a.b\r\n\r\n",
    )
    .await;
    assert_eq!(r.head.header("access-control-allow-origin"), None);
    assert_eq!(r.head.header("vary"), None);
    let r = raw_request(
        running.addr,
        b"OPTIONS /api/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\nOrigin: https://a.b\r\nAccess-Control-Request-Method: GET\r\n\r\n",
    )
    .await;
    assert_eq!(r.head.status, 405);
    stop(running).await;
}
