//! A parsed request target: scheme, host, port, path and the Basic-auth header from
//! `user:pass@` in the URL (percent-decoded) or set explicitly.

use base64::Engine;
use http::Uri;

use super::HttpClientError;
use crate::util::redact_url;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// Where to connect and what to ask for.
#[derive(Debug, Clone)]
pub struct Target {
    scheme: Scheme,
    host: String,
    port: u16,
    /// `host[:port]` as written in the URL (the Host header).
    authority: String,
    /// Path and query.
    path: String,
    /// `Basic …` from `user:pass@` in the URL or [`Target::with_credentials`].
    authorization: Option<String>,
}

impl Target {
    /// Parses an `http[s]://[user[:pass]@]host[:port][/path]` URL.
    pub fn parse(url: &str) -> Result<Self, HttpClientError> {
        let bad = |reason: &str| HttpClientError::InvalidUrl {
            url: redact_url(url),
            reason: reason.to_string(),
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let scheme = match uri.scheme_str() {
            Some("http") => Scheme::Http,
            Some("https") => Scheme::Https,
            _ => return Err(bad("only http:// and https:// URLs are supported")),
        };
        let auth = uri.authority().ok_or_else(|| bad("no host"))?;
        let (userinfo, authority) = match auth.as_str().rsplit_once('@') {
            Some((u, a)) => (Some(u), a),
            None => (None, auth.as_str()),
        };
        let host = auth.host().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let authorization = userinfo.map(|u| {
            let (user, pass) = u.split_once(':').unwrap_or((u, ""));
            basic_auth(&percent_decode(user), &percent_decode(pass))
        });
        let default_port = match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        Ok(Self {
            scheme,
            host: host.to_string(),
            port: auth.port_u16().unwrap_or(default_port),
            authority: authority.to_string(),
            path: uri
                .path_and_query()
                .map_or("/".to_string(), |p| p.as_str().to_string()),
            authorization,
        })
    }

    /// Sends these Basic-auth credentials (overriding any in the URL).
    pub fn with_credentials(mut self, user: &str, password: &str) -> Self {
        self.authorization = Some(basic_auth(user, password));
        self
    }

    /// The target of a redirect's `Location` (absolute, or a path on the same host). The
    /// credentials go along only to the same scheme, host and port.
    pub fn redirect(&self, location: &str) -> Result<Self, HttpClientError> {
        let bad = || HttpClientError::BadRedirect {
            location: redact_url(location),
        };
        if location.starts_with('/') && !location.starts_with("//") {
            let mut next = self.clone();
            next.path = location.to_string();
            return Ok(next);
        }
        let mut next = Self::parse(location).map_err(|_| bad())?;
        let same_origin =
            (next.scheme, &next.host, next.port) == (self.scheme, &self.host, self.port);
        if next.authorization.is_none() && same_origin {
            next.authorization.clone_from(&self.authorization);
        }
        Ok(next)
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host[:port]` as written (the Host header).
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Path and query.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `http[s]://host:port/path?query` without credentials, for logs, errors and
    /// `/api/state`: no user info, and secret query values (`?pwd=`, `?token=`…) masked.
    pub fn display_url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        redact_url(&format!("{scheme}://{}{}", self.authority, self.path))
    }

    /// The `Authorization` header value, if any.
    pub fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }
}

/// `Basic base64(user:password)`.
pub fn basic_auth(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// `%XX` escapes decoded (a user name or password in a URL); anything else kept as is.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
