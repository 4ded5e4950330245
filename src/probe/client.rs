//! One probe connection, on the shared [`crate::mjpeg::client`]: counting the parts of one
//! stream (optionally reading them slowly), plus the stalled connections that send a request and
//! never read.

use std::time::{Duration, Instant, SystemTime};

use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

use super::report::ClientStats;
use super::ProbeError;
use crate::http_client::{self, ConnectOptions, HttpClientError};
use crate::mjpeg::client::{self as mjpeg_client, ClientError, OpenOptions, Target};
use crate::mjpeg::parser::Limits;

/// hyper's read buffer: bounds how far the client reads ahead of the parser.
const MAX_READ_BUF_BYTES: usize = 64 * 1024;
/// The same for slow readers (`--read-fps`): hyper's minimum, so that the frames a slow client
/// gets are as old as the server (and the socket buffers) make them, not older.
const SLOW_READER_READ_BUF_BYTES: usize = 8 * 1024;
const USER_AGENT_VALUE: &str = concat!("streamserver-probe/", env!("CARGO_PKG_VERSION"));

/// How every connection of one probe behaves.
#[derive(Debug, Clone)]
pub(crate) struct ConnSettings {
    pub(crate) target: Target,
    /// Connect, response and per-read timeout.
    pub(crate) timeout: Duration,
    pub(crate) limits: Limits,
    /// `SO_RCVBUF` for the probe's sockets (None: kernel default, which auto-tunes to MBs).
    pub(crate) recv_buffer_bytes: Option<usize>,
    /// Read at most one part per interval (`--read-fps`).
    pub(crate) read_interval: Option<Duration>,
    /// Stop after this many frames.
    pub(crate) frames: Option<u64>,
}

impl ConnSettings {
    fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            timeout: self.timeout,
            recv_buffer_bytes: self.recv_buffer_bytes,
            accept_invalid_certs: false,
        }
    }

    /// One connection: request the stream and count parts until `frames` is reached (Ok) or the
    /// connection fails (Err). The caller races it against the deadline.
    pub(crate) async fn stream_once(&self, stats: &mut ClientStats) -> Result<(), ProbeError> {
        let opts = OpenOptions {
            connect: self.connect_options(),
            max_read_buf_bytes: if self.read_interval.is_some() {
                SLOW_READER_READ_BUF_BYTES
            } else {
                MAX_READ_BUF_BYTES
            },
            limits: self.limits,
            user_agent: USER_AGENT_VALUE,
        };
        let mut stream = mjpeg_client::open(&self.target, &opts).await?;
        let mut next_read = tokio::time::Instant::now();
        let result = loop {
            let part = match stream.next_part(self.timeout).await {
                Ok(part) => part,
                Err(err) => break Err(err.into()),
            };
            stats.record_part(&part, Instant::now(), SystemTime::now());
            if self.frames.is_some_and(|n| stats.frames >= n) {
                break Ok(());
            }
            if let Some(iv) = self.read_interval {
                // Emulate a slow client: the socket is not read while we sleep.
                next_read = (next_read + iv).max(tokio::time::Instant::now());
                tokio::time::sleep_until(next_read).await;
            }
        };
        stats.resyncs += stream.resyncs();
        result
    }

    /// A connection that sends the request and then never reads, until `stop` says so.
    pub(crate) async fn hold_stalled(
        &self,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), ProbeError> {
        let t = &self.target;
        let mut stream = http_client::connect(t, &self.connect_options())
            .await
            .map_err(ClientError::Http)?;
        let auth = t
            .authorization()
            .map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT_VALUE}\r\n{auth}\r\n",
            t.path(),
            t.authority()
        );
        timeout(self.timeout, stream.write_all(request.as_bytes()))
            .await
            .map_err(|_| ClientError::Http(HttpClientError::Timeout("sending the request")))?
            .map_err(|e| ClientError::Http(HttpClientError::Write(e)))?;
        // `stop` is set by the probe; its sender outlives every stalled connection.
        let _ = stop.wait_for(|s| *s).await;
        Ok(())
    }
}
