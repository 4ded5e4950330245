//! The listening sockets: one per `listen` address, accepted from in turn.
//!
//! A lone `[::]:PORT` is dual-stack as the kernel makes it by default (IPv4 peers show up as
//! `::ffff:a.b.c.d`). When the list also has an IPv4 address on the same port, the IPv6
//! socket is made IPv6-only, else the two would collide (`0.0.0.0:8080` + `[::]:8080` is the
//! usual way to say "both").
//!
//! Every listener has `TCP_DEFER_ACCEPT` (for `header_timeout`, in whole seconds): the kernel
//! hands a connection over only once its first bytes have arrived. An HTTP client (and a TLS
//! one) speaks first, so it notices nothing; a flood of connections that never send anything
//! (connect and reset, connect and wait) stays in the kernel and costs the server nothing.

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};

/// Connections the kernel queues per listener before we accept them.
const BACKLOG: i32 = 1024;

/// Binds every address of `addrs`, deferring accepts up to `defer` (see the module doc); the
/// error names the address that failed.
pub fn bind_all(
    addrs: &[SocketAddr],
    defer: Duration,
) -> Result<Vec<TcpListener>, (SocketAddr, io::Error)> {
    addrs
        .iter()
        .map(|&addr| {
            let v6_only = addr.is_ipv6()
                && addrs
                    .iter()
                    .any(|other| other.is_ipv4() && other.port() == addr.port());
            bind(addr, v6_only, defer).map_err(|e| (addr, e))
        })
        .collect()
}

fn bind(addr: SocketAddr, v6_only: bool, defer: Duration) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if v6_only {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    defer_accept(&socket, defer)?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// `TCP_DEFER_ACCEPT` for `defer`, rounded up to whole seconds.
fn defer_accept(socket: &Socket, defer: Duration) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let secs = defer.as_secs() + u64::from(defer.subsec_nanos() > 0);
    let value = libc::c_int::try_from(secs.max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: a valid socket, a c_int option value of the right size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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
