//! The listening sockets: one per `listen` address, accepted from in turn.
//!
//! A lone `[::]:PORT` is dual-stack as the kernel makes it by default (IPv4 peers show up as
//! `::ffff:a.b.c.d`). When the list also has an IPv4 address on the same port, the IPv6
//! socket is made IPv6-only, else the two would collide (`0.0.0.0:8080` + `[::]:8080` is the
//! usual way to say "both").

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};

/// Connections the kernel queues per listener before we accept them.
const BACKLOG: i32 = 1024;

/// Binds every address of `addrs`; the error names the address that failed.
pub fn bind_all(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, (SocketAddr, io::Error)> {
    addrs
        .iter()
        .map(|&addr| {
            let v6_only = addr.is_ipv6()
                && addrs
                    .iter()
                    .any(|other| other.is_ipv4() && other.port() == addr.port());
            bind(addr, v6_only).map_err(|e| (addr, e))
        })
        .collect()
}

fn bind(addr: SocketAddr, v6_only: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if v6_only {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// Accepts from several listeners, taking turns so none starves the others.
pub struct Listeners {
    listeners: Vec<TcpListener>,
    next: usize,
}

impl Listeners {
    pub fn new(listeners: Vec<TcpListener>) -> Self {
        Listeners { listeners, next: 0 }
    }

    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        (self.listeners.iter())
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    pub async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let n = self.listeners.len();
        for i in 0..n {
            let index = (self.next + i) % n;
            if let Poll::Ready(result) = self.listeners[index].poll_accept(cx) {
                self.next = (index + 1) % n;
                return Poll::Ready(result);
            }
        }
        Poll::Pending
    }
}
