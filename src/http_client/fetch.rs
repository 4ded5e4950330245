//! One whole GET (a snapshot): redirects followed up to a limit, the body read up to a size cap,
//! all within one total timeout.

use std::time::Duration;

use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http_body_util::BodyExt;
use tokio::time::timeout;

use super::{request, ConnectOptions, HttpClientError, Target};

/// What a [`get`] may do.
#[derive(Debug, Clone)]
pub struct GetOptions {
    /// Connecting (per hop); `accept_invalid_certs` applies to every hop.
    pub connect: ConnectOptions,
    /// The whole request including redirects and the body.
    pub total_timeout: Duration,
    /// Redirects followed (0: a redirect is answered as its status).
    pub max_redirects: u32,
    /// Bodies larger than this are refused without being read past it.
    pub max_body_bytes: usize,
    /// hyper's read buffer: caps the response head (an endless header fails here).
    pub max_head_bytes: usize,
    pub accept: &'static str,
    pub user_agent: &'static str,
}

/// A successful (2xx) response.
#[derive(Debug)]
pub struct Got {
    /// `Content-Type` without parameters, lower case.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// GETs `target`; any status other than 2xx (after redirects) is [`HttpClientError::Status`].
pub async fn get(target: &Target, opts: &GetOptions) -> Result<Got, HttpClientError> {
    timeout(opts.total_timeout, get_inner(target, opts))
        .await
        .map_err(|_| HttpClientError::Timeout("fetching"))?
}

async fn get_inner(target: &Target, opts: &GetOptions) -> Result<Got, HttpClientError> {
    let mut target = target.clone();
    let mut redirects = 0;
    loop {
        let (resp, _task) = request(
            &target,
            &opts.connect,
            opts.max_head_bytes,
            opts.accept,
            opts.user_agent,
        )
        .await?;
        let status = resp.status();
        if status.is_redirection() && opts.max_redirects > 0 {
            if redirects == opts.max_redirects {
                return Err(HttpClientError::TooManyRedirects {
                    max: opts.max_redirects,
                });
            }
            let location = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or(HttpClientError::Status {
                    status: status.as_u16(),
                })?;
            target = target.redirect(location)?;
            redirects += 1;
            continue;
        }
        if !status.is_success() {
            return Err(HttpClientError::Status {
                status: status.as_u16(),
            });
        }
        let max = opts.max_body_bytes;
        let announced = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if announced.is_some_and(|n| n > max as u64) {
            return Err(HttpClientError::TooLarge { max });
        }
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        let mut body = Vec::with_capacity(announced.unwrap_or(0) as usize);
        let mut incoming = resp.into_body();
        while let Some(frame) = incoming.frame().await {
            if let Ok(data) = frame?.into_data() {
                if body.len() + data.len() > max {
                    return Err(HttpClientError::TooLarge { max });
                }
                body.extend_from_slice(&data);
            }
        }
        return Ok(Got { content_type, body });
    }
}
