//! The drills that abuse connections rather than requests: [`slowloris`], [`flood`] and
//! [`until_refused`].

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, Instant};

use super::{connect_from, read_status, status_of, AttackTarget, DrillReport, IO_TIMEOUT};

/// The start of a request head whose end never comes: after the request line, header lines
/// follow forever.
const SLOW_START: &[u8] = b"GET /stream.mjpg HTTP/1.1\r\nHost: streamserver\r\n";
const SLOW_REPEAT: &[u8] = b"X-Slow: 1\r\n";

/// `connections` connections, each sending its head one byte per `byte_interval` from the
/// sources in turn; a connection the server closes is opened again after one interval (a
/// slowloris keeps its pressure up). Runs for `duration`.
pub async fn slowloris(
    target: &AttackTarget,
    connections: usize,
    duration: Duration,
    byte_interval: Duration,
) -> DrillReport {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for i in 0..connections {
        let (addr, source) = (target.addr, target.source(i));
        tasks.spawn(async move {
            let mut report = DrillReport::default();
            // Spread the connects over the first interval, as real clients would arrive.
            sleep(byte_interval.mul_f64(i as f64 / connections.max(1) as f64)).await;
            while Instant::now() < deadline {
                match connect_from(source, addr).await {
                    Ok(mut stream) => {
                        report.connections += 1;
                        let status = dribble(&mut stream, deadline, byte_interval).await;
                        if Instant::now() < deadline {
                            report.answered(status);
                        }
                    }
                    Err(_) => report.connect_errors += 1,
                }
                sleep_until(deadline.min(Instant::now() + byte_interval)).await;
            }
            report
        });
    }
    join(tasks, started).await
}

/// Sends a never-ending head one byte per `interval` until the server closes or answers
/// (returns its status, if it sent one) or the deadline passes.
async fn dribble(
    stream: &mut tokio::net::TcpStream,
    deadline: Instant,
    interval: Duration,
) -> Option<u16> {
    let bytes = SLOW_START.iter().chain(SLOW_REPEAT.iter().cycle());
    let mut buf = [0u8; 512];
    let mut got = Vec::new();
    for &byte in bytes {
        if stream.write_all(&[byte]).await.is_err() {
            return status_of(&got);
        }
        let next = deadline.min(Instant::now() + interval);
        tokio::select! {
            _ = sleep_until(next) => {
                if next >= deadline {
                    return None;
                }
            }
            read = stream.read(&mut buf) => match read {
                Ok(n) if n > 0 => {
                    got.extend_from_slice(&buf[..n]);
                    if status_of(&got).is_some() {
                        return status_of(&got);
                    }
                }
                _ => return status_of(&got),
            },
        }
    }
    None
}

/// As many connections as the loopback takes, for `duration`: `concurrency` loops that
/// connect from the sources in turn and reset the connection at once (no TIME_WAIT left on
/// either side).
pub async fn flood(target: &AttackTarget, duration: Duration, concurrency: usize) -> DrillReport {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for i in 0..concurrency {
        let target = target.clone();
        tasks.spawn(async move {
            let mut report = DrillReport::default();
            let mut n = i;
            while Instant::now() < deadline {
                n += concurrency;
                match connect_from(target.source(n), target.addr).await {
                    Ok(stream) => {
                        report.connections += 1;
                        let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                    }
                    Err(_) => {
                        report.connect_errors += 1;
                        // Out of ports or backlog: let the kernel catch up.
                        sleep(Duration::from_millis(1)).await;
                    }
                }
            }
            report
        });
    }
    join(tasks, started).await
}

/// One address (the first source) opens streams of `path` (which must be allowed to it, e.g.
/// with a token) one after the other, reading them, until the server refuses one or `max` are
/// open; holds them for `hold`, then closes them all.
pub async fn until_refused(
    target: &AttackTarget,
    path: &str,
    max: usize,
    hold: Duration,
) -> DrillReport {
    let started = Instant::now();
    let mut report = DrillReport::default();
    let mut streams = JoinSet::new();
    let request = format!("GET {path} HTTP/1.1\r\nHost: streamserver\r\n\r\n");
    let mut accepted = 0;
    while accepted < max {
        let Ok(mut stream) = connect_from(target.sources[0], target.addr).await else {
            report.connect_errors += 1;
            break;
        };
        report.connections += 1;
        let sent = tokio::time::timeout(IO_TIMEOUT, stream.write_all(request.as_bytes())).await;
        if !matches!(sent, Ok(Ok(()))) {
            report.answered(None);
            break;
        }
        report.requests += 1;
        let status = read_status(&mut stream, 4096).await;
        report.answered(status);
        if status != Some(200) {
            break;
        }
        accepted += 1;
        // Keep reading (and discarding) so the stream stays a healthy client of the server.
        streams.spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
        });
    }
    report.accepted_before_refusal = Some(accepted as u64);
    sleep(hold).await;
    streams.shutdown().await;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    report
}

/// Joins the drill's tasks and adds up their reports.
pub(super) async fn join(mut tasks: JoinSet<DrillReport>, started: Instant) -> DrillReport {
    let mut total = DrillReport::default();
    while let Some(done) = tasks.join_next().await {
        if let Ok(report) = done {
            total.merge(&report);
        }
    }
    total.elapsed_ms = started.elapsed().as_millis() as u64;
    total
}
