//! An MJPEG client connection, shared by the [`crate::probe`] and the `relay` source: a GET
//! through [`crate::http_client`] (http or https, Basic auth), the answer checked to be a 2xx
//! `multipart/x-mixed-replace` stream, and its parts read through the tolerant
//! [`crate::mjpeg::parser`].
//!
//! Everything is bounded: connecting and the response head by one timeout, every read of the body
//! by another (a stall mid-frame is an error), the response head and read-ahead by hyper's read
//! buffer ([`OpenOptions::max_read_buf_bytes`]), and parts and their headers by the parser's
//! [`Limits`].

use std::time::Duration;

use http::header::CONTENT_TYPE;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::time::timeout;

use super::parser::{boundary_from_content_type, Limits, MultipartError, MultipartParser, Part};
use crate::http_client::{self, ConnectOptions, ConnectionTask, HttpClientError};

pub use crate::http_client::Target;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Http(#[from] HttpClientError),
    #[error("HTTP error")]
    Body(#[from] hyper::Error),
    #[error("not a multipart stream (Content-Type {content_type:?})")]
    NotMultipart { content_type: String },
    #[error(transparent)]
    Multipart(#[from] MultipartError),
    #[error("timed out reading the stream")]
    ReadTimeout,
    #[error("the server ended the stream")]
    StreamEnded,
}

impl ClientError {
    /// Whether reconnecting soon can help (a 404 or a bad URL will not change).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Http(e) => e.is_retryable(),
            Self::NotMultipart { .. } => false,
            _ => true,
        }
    }
}

/// How one connection is opened and read.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Connecting (resolve, TCP, TLS) and the response head; the receive buffer; TLS checks.
    pub connect: ConnectOptions,
    /// hyper's read buffer: bounds the response head and how far we read ahead of the parser.
    pub max_read_buf_bytes: usize,
    pub limits: Limits,
    pub user_agent: &'static str,
}

/// An open MJPEG response: its parts, one at a time.
pub struct PartStream {
    parser: MultipartParser,
    body: Incoming,
    ended: bool,
    _conn: ConnectionTask,
}

/// Connects, sends `GET`, checks the answer is a 2xx multipart stream, and returns its parts.
pub async fn open(target: &Target, opts: &OpenOptions) -> Result<PartStream, ClientError> {
    let (resp, task) = http_client::request(
        target,
        &opts.connect,
        opts.max_read_buf_bytes,
        "multipart/x-mixed-replace, */*;q=0.5",
        opts.user_agent,
    )
    .await?;
    if !resp.status().is_success() {
        return Err(HttpClientError::Status {
            status: resp.status().as_u16(),
        }
        .into());
    }
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let boundary = boundary_from_content_type(&content_type)
        .ok_or(ClientError::NotMultipart { content_type })?;
    Ok(PartStream {
        parser: MultipartParser::new(&boundary, opts.limits)?,
        body: resp.into_body(),
        ended: false,
        _conn: task,
    })
}

impl PartStream {
    /// The next part; every read of the body must bring bytes within `read_timeout`. After the
    /// server ends the stream (and its last complete part was returned): [`ClientError::StreamEnded`].
    pub async fn next_part(&mut self, read_timeout: Duration) -> Result<Part, ClientError> {
        loop {
            if self.ended {
                return Err(ClientError::StreamEnded);
            }
            if let Some(part) = self.parser.next_part()? {
                return Ok(part);
            }
            match timeout(read_timeout, self.body.frame()).await {
                Err(_) => return Err(ClientError::ReadTimeout),
                Ok(None) => {
                    self.ended = true;
                    if let Some(part) = self.parser.finish()? {
                        return Ok(part);
                    }
                }
                Ok(Some(Err(err))) => return Err(err.into()),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.parser.push(&data);
                    }
                }
            }
        }
    }

    /// How often the parser skipped garbage to find the next delimiter.
    pub fn resyncs(&self) -> u64 {
        self.parser.resyncs()
    }
}
