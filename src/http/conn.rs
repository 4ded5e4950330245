//! Per-connection transport: socket options and the write timeout.
//!
//! Left alone, Linux lets a TCP send buffer grow to megabytes (~100 frames), so a slow client
//! would be fed frames from long ago. `TCP_NOTSENT_LOWAT` makes the socket report "writable" only
//! when the bytes not yet sent fall below a small threshold, and an optional small `SO_SNDBUF`
//! caps the rest; together with hyper's one-frame write buffer, a frame is chosen only when the
//! client has drained the previous one. [`TimeoutStream`] drops a client whose socket has not
//! accepted a byte for `write_timeout` (a stalled peer must not pin a connection forever).

use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Applies the latency-bounding socket options to an accepted client socket.
pub fn tune_socket(stream: &TcpStream, send_buffer: usize, notsent_lowat: usize) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let sock = socket2::SockRef::from(stream);
    if send_buffer > 0 {
        sock.set_send_buffer_size(send_buffer)?;
    }
    if notsent_lowat > 0 {
        let value = libc::c_int::try_from(notsent_lowat).unwrap_or(libc::c_int::MAX);
        // SAFETY: a valid fd, a c_int option value of the right size.
        let rc = unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_NOTSENT_LOWAT,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The accepted socket of a request's connection, handed to the stream body (request extension).
#[derive(Debug, Clone, Copy)]
pub struct ClientSocket(pub RawFd);

/// What the kernel tells about a client connection's backlog (`TCP_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Bytes we wrote that the kernel has not sent yet.
    pub notsent: u32,
    /// The peer's advertised receive window (bytes) in its latest ACK: shrinks while the client
    /// leaves data unread.
    pub peer_window: u32,
    /// Total bytes the peer has acknowledged.
    pub acked: u64,
    /// Bytes sent and not yet acknowledged (in flight).
    pub in_flight: u64,
    /// Segments sent and not yet acknowledged.
    pub unacked: u32,
    /// The connection's recent delivery rate, bytes per second (0 until measured).
    pub delivery_rate: u64,
    /// Smoothed round-trip time.
    pub rtt: std::time::Duration,
    /// The peer's window is announced in units of this many bytes (its window scale).
    pub window_unit: u32,
}

/// Reads the backlog of `fd`; `None` if the kernel does not say (then nothing is gated on it).
pub fn backlog(fd: RawFd) -> Option<Backlog> {
    // SAFETY: tcp_info is plain old data; the kernel fills at most `len` bytes of it.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    // Kernels older than 5.19 return a shorter struct without the peer window.
    let needed = std::mem::offset_of!(libc::tcp_info, tcpi_snd_wnd) + 4;
    (rc == 0 && len as usize >= needed).then_some(Backlog {
        notsent: info.tcpi_notsent_bytes,
        peer_window: info.tcpi_snd_wnd,
        acked: info.tcpi_bytes_acked,
        in_flight: info
            .tcpi_bytes_sent
            .saturating_sub(info.tcpi_bytes_retrans)
            .saturating_sub(info.tcpi_bytes_acked),
        unacked: info.tcpi_unacked,
        delivery_rate: info.tcpi_delivery_rate,
        rtt: std::time::Duration::from_micros(info.tcpi_rtt.into()),
        // The low nibble is `tcpi_snd_wscale`, the scale of the windows the peer sends us.
        window_unit: 1 << (info.tcpi_snd_rcv_wscale & 0x0F),
    })
}

/// Ends the connection on `fd`: hyper's next read or write on it fails.
pub fn abort(fd: RawFd) {
    // SAFETY: shutdown(2) on the connection's socket, which the caller's body lives within.
    unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
}

/// A TCP stream whose writes fail with `TimedOut` once a write has been blocked for `timeout`.
pub struct TimeoutStream {
    inner: TcpStream,
    timeout: Duration,
    /// Armed while a write is blocked; disarmed by any progress.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl TimeoutStream {
    pub fn new(inner: TcpStream, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            deadline: None,
        }
    }

    fn on_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        res: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match res {
            Poll::Pending => {
                let timeout = self.timeout;
                let deadline = self.deadline.get_or_insert_with(|| {
                    Box::pin(tokio::time::sleep_until(Instant::now() + timeout))
                });
                if deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "client accepted no data within the write timeout",
                    )));
                }
                Poll::Pending
            }
            ready => {
                self.deadline = None;
                ready
            }
        }
    }
}

impl AsyncRead for TimeoutStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TimeoutStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.on_write(cx, res)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.on_write(cx, res)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let res = Pin::new(&mut self.inner).poll_flush(cx);
        self.on_write(cx, res)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
