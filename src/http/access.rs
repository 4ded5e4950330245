//! Who may use an endpoint: the HTTP side of [`crate::auth`].
//!
//! [`authorize`] asks the server's [`Authenticator`] about one request — the peer address, the
//! `Authorization` header, the `?token=` value, the [`Permission`] of the route and its stream —
//! and turns a refusal into its response: `401` with `WWW-Authenticate` (a browser shows its
//! login prompt), `403`, or `429` with `Retry-After` after repeated failed logins. With no
//! `[[user]]` it returns at once without looking at the request (zero cost).
//!
//! A connection's verified Basic login is cached in its [`Client`] (the `AuthCache` of
//! `auth`), so a stream or a keep-alive poller pays for argon2 once; argon2 itself runs on the
//! blocking pool (`Authenticator::authorize`).
//!
//! Refusals are logged with the request target redacted (`?token=***`), a few lines per second
//! at most ([`LogBudget`]): a client without credentials (every browser's first request) at
//! debug, failed logins at warn.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use tracing::{debug, warn};

use super::log_budget::LogBudget;
use super::responses::{text, ResponseBody};
use crate::auth::{
    AuthCache, AuthRequest, Authenticator, Decision, Permission, Reason, Scope, WWW_AUTHENTICATE,
};
use crate::util::redact_target;

/// Refusal log lines per second.
static REFUSAL_LOG: LogBudget = LogBudget::new(5, Duration::from_secs(1));

/// What the routes know about a request's connection (a request extension).
#[derive(Clone)]
pub struct Client {
    pub peer: IpAddr,
    /// The connection's login cache; `None` when no `[[user]]` exists.
    pub login: Option<Arc<tokio::sync::Mutex<AuthCache>>>,
}

impl Client {
    pub fn new(peer: IpAddr, auth: &Authenticator) -> Self {
        Client {
            peer,
            login: auth
                .is_enabled()
                .then(|| Arc::new(tokio::sync::Mutex::new(AuthCache::default()))),
        }
    }
}

/// An allowed request: who (`None`: open access) and which streams it may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    pub user: Option<Arc<str>>,
    pub scope: Scope,
}

/// What an allowed request may see, or the response that refuses it (logged).
pub async fn authorize<B>(
    auth: &Authenticator,
    req: &Request<B>,
    token: Option<&str>,
    permission: Permission,
    stream: Option<&str>,
) -> Result<Allowed, Response<ResponseBody>> {
    if !auth.is_enabled() {
        return Ok(Allowed {
            user: None,
            scope: Scope::All,
        });
    }
    match decide(auth, req, token, permission, stream).await {
        Decision::Allowed { user, scope } => Ok(Allowed { user, scope }),
        refused => {
            log_refusal(&refused, req.uri());
            Err(refusal(&refused))
        }
    }
}

/// Whether the request would be allowed `permission` (nothing logged): the viewer page asks
/// whether to show the status figures.
pub async fn permits<B>(
    auth: &Authenticator,
    req: &Request<B>,
    token: Option<&str>,
    permission: Permission,
) -> bool {
    !auth.is_enabled()
        || matches!(
            decide(auth, req, token, permission, None).await,
            Decision::Allowed { .. }
        )
}

async fn decide<B>(
    auth: &Authenticator,
    req: &Request<B>,
    token: Option<&str>,
    permission: Permission,
    stream: Option<&str>,
) -> Decision {
    let client = req.extensions().get::<Client>();
    let request = AuthRequest {
        peer: client.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.peer),
        authorization: req
            .headers()
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
        token,
        permission,
        stream,
    };
    match client.and_then(|c| c.login.as_ref()) {
        Some(login) => {
            let mut cache = login.lock().await;
            auth.authorize(&request, &mut cache).await
        }
        None => auth.authorize(&request, &mut AuthCache::default()).await,
    }
}

/// The response for a refused request; says nothing about why beyond the status.
pub fn refusal(decision: &Decision) -> Response<ResponseBody> {
    let mut resp = match decision {
        Decision::Unauthorized(_) => {
            let mut r = text(StatusCode::UNAUTHORIZED, "login required\n");
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(WWW_AUTHENTICATE),
            );
            r
        }
        Decision::Throttled { .. } => {
            let secs = decision.retry_after_secs().unwrap_or(1);
            let mut r = text(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("too many failed logins from your address; try again in {secs} s\n"),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r
        }
        _ => text(StatusCode::FORBIDDEN, "forbidden\n"),
    };
    super::responses::no_cache(resp.headers_mut());
    resp
}

fn log_refusal(decision: &Decision, uri: &http::Uri) {
    let target = uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let status = decision.http_status().as_u16();
    let (user, reason) = match decision {
        Decision::Unauthorized(d) | Decision::Forbidden(d) => (d.user.as_deref(), Some(d.reason)),
        _ => (None, None),
    };
    let quiet = matches!(reason, Some(Reason::NoCredentials)) || reason.is_none();
    let Some(suppressed) = REFUSAL_LOG.allow() else {
        return;
    };
    let target = redact_target(target);
    let reason = reason.map_or_else(
        || "blocked after failed logins".to_string(),
        |r| r.to_string(),
    );
    if quiet {
        debug!(%target, status, %reason, suppressed, "request refused");
    } else {
        warn!(%target, status, %reason, user, suppressed, "request refused");
    }
}

#[cfg(test)]
mod tests;
