//! Fuzzes the server's request path from the first byte: random bytes, written in random
//! chunks, reach hyper's HTTP/1 connection and then our routes, access control (with and
//! without `[[user]]`: Basic logins with argon2, tokens, the throttle), query parsing and
//! responses — the same `serve_io` a TCP or TLS connection runs, over an in-memory pipe.
//!
//! Checked besides "no panic" and "the connection ends" (time is paused: timers fire at once
//! when nothing else can run): whatever comes back is HTTP/1.x; every response with a body
//! says `X-Content-Type-Options: nosniff`; a 401 asks for Basic auth; no configured secret (the
//! password hash, the token) is ever sent back.

#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use streamserver::auth::Authenticator;
use streamserver::config::{Config, ServerConfig};
use streamserver::http::{connection, AppState, StreamHandle};
use streamserver::pipeline::demand::Demand;
use streamserver::pipeline::sink::FrameSink;
use streamserver::pipeline::slot::LatestFrame;
use streamserver::pipeline::stats::StreamStats;
use streamserver::shutdown::Shutdown;
use streamserver::supervise::StatusBoard;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "Kq8v3Tn0pZx1Lr7Yw2Hc9Ud4Fb6Gs5Ja-_xQ3";
/// The response bytes read per input (a stream never ends by itself).
const MAX_OUTPUT: usize = 256 * 1024;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    with_users: bool,
    /// The last octet of the peer's address (the throttle and limits count per address).
    peer: u8,
    /// Write sizes, cycled (0 counts as 1).
    chunks: Vec<u8>,
    request: &'a [u8],
}

struct Server {
    runtime: tokio::runtime::Runtime,
    open: Arc<AppState>,
    closed: Arc<AppState>,
    hash: String,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        // Cheap argon2 parameters: the fuzzer must not spend its time hashing.
        let hash = {
            use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
            let params = Params::new(64, 1, 1, None).unwrap();
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(b"alice-pw")
                .unwrap()
                .to_string()
        };
        let text = format!(
            "[[stream]]\nid = \"main\"\nsource = \"test\"\n[[stream]]\nid = \"back\"\nsource = \"test\"\n\
             [[user]]\nname = \"anonymous\"\nview = [\"main\"]\n\
             [[user]]\nname = \"alice\"\npassword_hash = \"{hash}\"\nview = true\nstatus = true\n\
             [[user]]\nname = \"robot\"\ntoken = \"{TOKEN}\"\nview = [\"back\"]\nhealth = true\n"
        );
        let users = Config::parse(&text, std::path::Path::new("fuzz.toml")).unwrap().users;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let state = |auth: Authenticator| {
            let mut config = ServerConfig::default();
            config.header_timeout = Duration::from_millis(200);
            config.write_timeout = Duration::from_millis(500);
            config.cors_origins = vec!["https://a.b".into()];
            let streams = ["main", "back"].map(stream).to_vec();
            Arc::new(AppState::new(config, streams, Shutdown::new(), auth).unwrap())
        };
        Server {
            open: state(Authenticator::default()),
            closed: state(Authenticator::new(&users).unwrap()),
            runtime,
            hash,
        }
    })
}

/// A stream whose slot already holds a frame (snapshots answer at once).
fn stream(id: &str) -> StreamHandle {
    let slot = LatestFrame::new();
    let stats = Arc::new(StreamStats::new(id, "test"));
    let demand = Arc::new(Demand::new());
    let jpeg = Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xD9]);
    FrameSink::new(slot.clone(), stats.clone(), demand.clone())
        .publish_jpeg(jpeg, SystemTime::now(), 1, 1);
    StreamHandle {
        id: id.to_string(),
        slot,
        demand,
        stats,
        status: Arc::new(StatusBoard::default()),
        stale_after: Duration::from_secs(10),
        camera: None, // not a camera: the camera routes answer 404
    }
}

/// Serves one connection that sends `request` (in `chunks`) and then closes its side.
async fn exchange(state: Arc<AppState>, peer: u8, request: &[u8], chunks: &[u8]) -> Vec<u8> {
    let peer = SocketAddr::from(([192, 168, 1, peer], 40000));
    let Ok(ticket) = state.admission.admit(peer.ip()) else {
        panic!("a lone connection is always admitted");
    };
    let (mut client, server_end) = tokio::io::duplex(64 * 1024);
    let served = tokio::spawn(connection::serve_io(server_end, peer, None, ticket, state));
    let write = async {
        let mut rest = request;
        let mut sizes = chunks.iter().cycle();
        while !rest.is_empty() {
            let n = sizes.next().map_or(rest.len(), |&n| usize::from(n).max(1));
            let (piece, tail) = rest.split_at(n.min(rest.len()));
            if client.write_all(piece).await.is_err() {
                break;
            }
            rest = tail;
        }
        let _ = client.shutdown().await;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        while out.len() < MAX_OUTPUT {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    };
    // Paused time: a connection that waits on a timer is moved along at once.
    let out = tokio::time::timeout(Duration::from_secs(30), write)
        .await
        .unwrap_or_default();
    served.abort();
    let _ = served.await; // the connection (and its admission ticket) is gone before the next
    out
}

fn find(hay: &[u8], pat: &[u8]) -> Option<usize> {
    hay.windows(pat.len()).position(|w| w == pat)
}

fuzz_target!(|input: Input<'_>| {
    let s = server();
    let state = if input.with_users { &s.closed } else { &s.open };
    let out = s
        .runtime
        .block_on(exchange(state.clone(), input.peer, input.request, &input.chunks));
    if out.is_empty() {
        return;
    }
    assert!(out.starts_with(b"HTTP/1."), "not HTTP: {:?}", String::from_utf8_lossy(&out[..out.len().min(64)]));
    let head_end = find(&out, b"\r\n\r\n").map_or(out.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&out[..head_end]).to_ascii_lowercase();
    let has_body = !head.contains("content-length: 0\r\n") && !head.starts_with("http/1.1 304");
    // hyper's own answers to unparsable requests (400, 431, …) carry no body and none of our
    // headers; every response our routes make has a body and says nosniff.
    if has_body {
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    }
    if head.starts_with("http/1.1 401") {
        assert!(head.contains("www-authenticate: basic realm=\"streamserver\""), "{head}");
    }
    assert!(find(&out, s.hash.as_bytes()).is_none(), "the hash was sent");
    if find(input.request, TOKEN.as_bytes()).is_none() {
        assert!(find(&out, TOKEN.as_bytes()).is_none(), "the token was sent");
    }
});
