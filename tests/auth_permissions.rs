//! Who may use which endpoint, over real TCP from several loopback addresses (127.0.0.0/8 is all
//! this machine, so `allow` lists are tested by binding the client to another one): a table of
//! endpoint × client (anonymous, user, wrong password, unknown user, address not allowed,
//! token in the query, bearer token, wrong token), the scope of what is shown, throttling of
//! failed logins, and a config where no login is possible from an address.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::client::{request_from, Response};
use common::users::{basic, cheap_hash, parse_users, TOKEN};
use common::{config, start, stop, test_stream};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The endpoints of the table: path, as HEAD (streams never end).
const ENDPOINTS: [&str; 9] = [
    "/",
    "/stream.mjpg",
    "/snapshot.jpg",
    "/streams/back/stream.mjpg",
    "/streams/back/snapshot.jpg",
    "/api/state",
    "/metrics",
    "/health",
    "/nope",
];

/// Waits (at most 5 s) until every stream has frames: `/health` is then 200, not 503.
async fn wait_healthy(addr: SocketAddr) {
    let t0 = std::time::Instant::now();
    while request_from(ip("127.0.0.1"), addr, "HEAD", "/health", "")
        .await
        .head
        .status
        != 200
    {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "streams never became healthy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn household() -> streamserver::config::Config {
    let mut c = config(64, 48, 15);
    c.streams = vec![
        test_stream("front", 64, 48, 15),
        test_stream("back", 64, 48, 15),
    ];
    let users = format!(
        r#"
[[user]]
name = "anonymous"
allow = ["127.0.1.0/24"]
view = ["front"]
[[user]]
name = "alice"
password_hash = "{alice}"
view = true
status = true
control = ["front"]
[[user]]
name = "bob"
password_hash = "{bob}"
allow = ["127.0.3.0/24"]
view = ["back"]
[[user]]
name = "robot"
token = "{TOKEN}"
view = ["back"]
status = ["back"]
"#,
        alice = cheap_hash("alice-pw"),
        bob = cheap_hash("bob-pw"),
    );
    c.users = parse_users(&c, &users);
    c
}

/// How a row's client presents itself: extra header lines and a query.
struct Client {
    name: &'static str,
    /// The first three octets of its addresses (the column picks the last): failed logins are
    /// counted per address, so each cell uses its own and none is throttled.
    net: &'static str,
    headers: String,
    query: String,
    want: [u16; 9],
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_asks_for_its_permission() {
    let running = start(household()).await;
    let addr = running.addr;
    wait_healthy(addr).await;
    let none = || (String::new(), String::new());
    let with_header = |h: String| (h, String::new());
    let rows: Vec<Client> = [
        (
            "anonymous, allowed address",
            "127.0.1",
            none(),
            [200, 200, 200, 401, 401, 401, 401, 200, 404],
        ),
        (
            "anonymous, other address",
            "127.0.10",
            none(),
            [401, 401, 401, 401, 401, 401, 401, 200, 401],
        ),
        (
            "alice",
            "127.0.11",
            with_header(basic("alice:alice-pw")),
            [200, 200, 200, 200, 200, 200, 200, 200, 404],
        ),
        (
            "alice, wrong password",
            "127.0.12",
            with_header(basic("alice:alice-PW")),
            [401, 401, 401, 401, 401, 401, 401, 200, 401],
        ),
        (
            "unknown user",
            "127.0.13",
            with_header(basic("mallory:alice-pw")),
            [401, 401, 401, 401, 401, 401, 401, 200, 401],
        ),
        (
            "bob, address not allowed",
            "127.0.14",
            with_header(basic("bob:bob-pw")),
            [401, 401, 401, 401, 401, 401, 401, 200, 401],
        ),
        (
            "bob, allowed address",
            "127.0.3",
            with_header(basic("bob:bob-pw")),
            [200, 403, 403, 200, 200, 403, 403, 200, 404],
        ),
        (
            "token in the query",
            "127.0.15",
            (String::new(), format!("token={TOKEN}")),
            [200, 403, 403, 200, 200, 200, 200, 200, 404],
        ),
        (
            "bearer token",
            "127.0.16",
            with_header(format!("Authorization: Bearer {TOKEN}\r\n")),
            [200, 403, 403, 200, 200, 200, 200, 200, 404],
        ),
        (
            "wrong token",
            "127.0.17",
            (
                String::new(),
                "token=Zq8v3Tn0pZx1Lr7Yw2Hc9Ud4Fb6Gs5Ja-_xQ3".into(),
            ),
            [401, 401, 401, 401, 401, 401, 401, 200, 401],
        ),
    ]
    .into_iter()
    .map(|(name, net, (headers, query), want)| Client {
        name,
        net,
        headers,
        query,
        want,
    })
    .collect();

    let mut wrong = Vec::new();
    for row in &rows {
        for (col, path) in ENDPOINTS.iter().enumerate() {
            let from = ip(&format!("{}.{}", row.net, col + 1));
            let target = if row.query.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", row.query)
            };
            let r = request_from(from, addr, "HEAD", &target, &row.headers).await;
            let want = row.want[col];
            if r.head.status != want {
                wrong.push(format!(
                    "{} {path}: {} (want {want})",
                    row.name, r.head.status
                ));
            }
            check_headers(&r, want, row.name, path);
        }
    }
    assert!(wrong.is_empty(), "wrong statuses:\n{}", wrong.join("\n"));
    stop(running).await;
}

/// What every answer carries: nosniff; a 401 asks for Basic auth, nothing else does.
fn check_headers(r: &Response, status: u16, who: &str, path: &str) {
    assert_eq!(
        r.head.header("x-content-type-options"),
        Some("nosniff"),
        "{who} {path}"
    );
    let challenge = r.head.header("www-authenticate");
    if status == 401 {
        assert_eq!(
            challenge,
            Some("Basic realm=\"streamserver\", charset=\"UTF-8\""),
            "{who} {path}"
        );
    } else {
        assert_eq!(challenge, None, "{who} {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_only_their_streams() {
    let running = start(household()).await;
    let addr = running.addr;
    let robot = format!("Authorization: Bearer {TOKEN}\r\n");
    let state = request_from(ip("127.0.20.1"), addr, "GET", "/api/state", &robot).await;
    assert_eq!(state.head.status, 200);
    let ids: Vec<String> = state.json()["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["back"], "status = [\"back\"] shows only back");
    let metrics = request_from(ip("127.0.20.1"), addr, "GET", "/metrics", &robot).await;
    let text = metrics.text();
    assert!(
        text.contains("stream=\"back\"") && !text.contains("stream=\"front\""),
        "{text}"
    );

    let bob = basic("bob:bob-pw");
    let page = request_from(ip("127.0.3.50"), addr, "GET", "/", &bob).await;
    let html = page.text();
    assert!(html.contains(r#"<script type="application/json" id="stream-ids">["back"]</script>"#));
    assert!(
        html.contains(r#"id="status-allowed">false<"#),
        "bob may not see the status"
    );

    let alice = basic("alice:alice-pw");
    let page = request_from(ip("127.0.21.1"), addr, "GET", "/", &alice).await;
    assert!(page.text().contains(r#"id="stream-ids">["front","back"]<"#));
    assert!(page.text().contains(r#"id="status-allowed">true<"#));
    let all = request_from(ip("127.0.21.1"), addr, "GET", "/api/state", &alice).await;
    assert_eq!(all.json()["streams"].as_array().unwrap().len(), 2);
    stop(running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_is_throttled_per_address_and_valid_users_elsewhere_see_no_delay() {
    let running = start(household()).await;
    let addr = running.addr;
    let guesser = ip("127.0.30.1");
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..8 {
        let r = request_from(
            guesser,
            addr,
            "HEAD",
            "/api/state",
            &basic(&format!("alice:guess{i}")),
        )
        .await;
        statuses.push(r.head.status);
        if r.head.status == 429 {
            retry_after = r.head.header("retry-after").map(str::to_string);
        }
    }
    assert_eq!(&statuses[..5], [401; 5], "five free failures: {statuses:?}");
    assert!(
        statuses[5..].iter().all(|s| *s == 429),
        "then blocked: {statuses:?}"
    );
    let secs: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    // Blocked means blocked, even for the right password from that address …
    let right = request_from(
        guesser,
        addr,
        "HEAD",
        "/api/state",
        &basic("alice:alice-pw"),
    )
    .await;
    assert_eq!(right.head.status, 429);
    // … but not for others, nor for tokens.
    let t0 = std::time::Instant::now();
    let other = request_from(
        ip("127.0.31.1"),
        addr,
        "HEAD",
        "/api/state",
        &basic("alice:alice-pw"),
    )
    .await;
    assert_eq!(other.head.status, 200);
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "no delay for a valid user"
    );
    let token = request_from(
        guesser,
        addr,
        "HEAD",
        &format!("/api/state?token={TOKEN}"),
        "",
    )
    .await;
    assert_eq!(token.head.status, 200, "tokens are not throttled");
    stop(running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_no_login_is_possible_the_answer_is_403_and_health_can_be_closed() {
    let mut c = config(64, 48, 15);
    let users = format!(
        r#"
[[user]]
name = "anonymous"
allow = ["127.0.1.0/24"]
view = true
[[user]]
name = "alice"
password_hash = "{}"
allow = ["127.0.5.0/24"]
view = true
health = true
"#,
        cheap_hash("alice-pw")
    );
    c.users = parse_users(&c, &users);
    let running = start(c).await;
    let addr: SocketAddr = running.addr;
    let outside = ip("127.0.9.1");
    for path in ["/", "/stream.mjpg", "/health"] {
        let r = request_from(outside, addr, "HEAD", path, &basic("alice:alice-pw")).await;
        assert_eq!(r.head.status, 403, "{path}: no login possible from here");
        assert_eq!(r.head.header("www-authenticate"), None);
    }
    let lan = ip("127.0.1.9");
    assert_eq!(
        request_from(lan, addr, "HEAD", "/stream.mjpg", "")
            .await
            .head
            .status,
        200
    );
    assert_eq!(
        request_from(lan, addr, "HEAD", "/health", "")
            .await
            .head
            .status,
        403,
        "health is configured: closed to anonymous"
    );
    let inside = ip("127.0.5.7");
    assert_eq!(
        request_from(inside, addr, "HEAD", "/health", "")
            .await
            .head
            .status,
        401
    );
    let r = request_from(inside, addr, "GET", "/health", &basic("alice:alice-pw")).await;
    assert!(
        matches!(r.head.status, 200 | 503),
        "allowed: {} {}",
        r.head.status,
        r.text()
    );
    assert!(r.json()["streams"].is_object());
    stop(running).await;
}
