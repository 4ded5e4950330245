//! Hostile traffic for the attack drills (`streamserver-bench attack` and `tests/attack_drills.rs`):
//! what a misbehaving host on the LAN can do to the server, from loopback addresses other than
//! the viewers' (the whole 127.0.0.0/8 is this machine, so a client socket bound to 127.0.0.7
//! is "another host").
//!
//! - [`slowloris`]: connections that send their request head one byte at a time, reconnecting
//!   whenever the server closes one.
//! - [`flood`]: connect and reset, as fast as the loopback allows.
//! - [`malformed`]: requests no client should send ([`requests`] lists them).
//! - [`wrong_passwords`]: Basic logins with wrong passwords from one address.
//! - [`until_refused`]: one address opening streams (with a token) until the server refuses.
//!
//! Only loopback targets and sources are accepted ([`AttackError::NotLoopback`]): this is test
//! traffic, never aimed elsewhere. Every drill is bounded by its count and its deadline; every
//! socket operation by [`IO_TIMEOUT`]. Each returns a [`DrillReport`] of what it did and what the
//! server answered.

mod connections;
pub mod requests;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};

pub use connections::{flood, slowloris, until_refused};
pub use requests::{malformed, wrong_passwords};

/// Upper bound of any connect, write or read of a drill.
pub const IO_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum AttackError {
    #[error("{0} is not a loopback address: attack drills only run against this machine")]
    NotLoopback(IpAddr),
    #[error("no source address to attack from")]
    NoSources,
}

/// Where the drills aim, and the local addresses they come from.
#[derive(Debug, Clone)]
pub struct AttackTarget {
    pub addr: SocketAddr,
    pub sources: Vec<IpAddr>,
}

impl AttackTarget {
    /// `sources` attack `addr`; all must be loopback.
    pub fn new(addr: SocketAddr, sources: Vec<IpAddr>) -> Result<Self, AttackError> {
        if let Some(bad) = std::iter::once(addr.ip())
            .chain(sources.iter().copied())
            .find(|ip| !ip.is_loopback())
        {
            return Err(AttackError::NotLoopback(bad));
        }
        if sources.is_empty() {
            return Err(AttackError::NoSources);
        }
        Ok(AttackTarget { addr, sources })
    }

    /// `n` IPv4 loopback sources from `127.0.0.first` on (`first` ≥ 2 keeps 127.0.0.1 for the
    /// viewers).
    pub fn loopback_sources(first: u8, n: u8) -> Vec<IpAddr> {
        (0..n)
            .map(|i| IpAddr::from([127, 0, 0, first.saturating_add(i)]))
            .collect()
    }

    /// The `i`-th source, round robin.
    pub fn source(&self, i: usize) -> IpAddr {
        self.sources[i % self.sources.len()]
    }
}

/// What one drill did and what the server answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DrillReport {
    /// Connections that were established.
    pub connections: u64,
    /// Connection attempts that failed (refused, timed out, no local port).
    pub connect_errors: u64,
    /// Requests (or request heads) sent in full.
    pub requests: u64,
    /// Connections the server closed before answering (evicted, timed out, refused).
    pub closed_unanswered: u64,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// For [`until_refused`]: streams the one address got before the server refused one.
    pub accepted_before_refusal: Option<u64>,
    pub elapsed_ms: u64,
}

impl DrillReport {
    pub fn merge(&mut self, other: &DrillReport) {
        self.connections += other.connections;
        self.connect_errors += other.connect_errors;
        self.requests += other.requests;
        self.closed_unanswered += other.closed_unanswered;
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_insert(0) += n;
        }
    }

    /// Answers with `status`.
    pub fn count(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    fn answered(&mut self, status: Option<u16>) {
        match status {
            Some(s) => *self.statuses.entry(s).or_insert(0) += 1,
            None => self.closed_unanswered += 1,
        }
    }
}

/// Connects to `addr` from `source` (port chosen by the kernel).
pub async fn connect_from(source: IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = if source.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(source, 0))?;
    match tokio::time::timeout(IO_TIMEOUT, socket.connect(addr)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// Reads until the status line is in (then returns its code) or the connection closes or
/// `IO_TIMEOUT` passes (`None`); reads at most `limit` bytes.
pub async fn read_status(stream: &mut TcpStream, limit: usize) -> Option<u16> {
    let mut got = Vec::with_capacity(256);
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
    while got.len() < limit {
        let n = match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => break,
        };
        got.extend_from_slice(&buf[..n]);
        if let Some(status) = status_of(&got) {
            return Some(status);
        }
    }
    status_of(&got)
}

/// The code of an `HTTP/1.x NNN` status line at the start of `head`.
pub fn status_of(head: &[u8]) -> Option<u16> {
    let line_end = head.iter().position(|b| *b == b'\n')?;
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    let mut words = line.split_whitespace();
    words.next().filter(|v| v.starts_with("HTTP/"))?;
    words.next()?.parse().ok()
}

#[cfg(test)]
mod tests;
