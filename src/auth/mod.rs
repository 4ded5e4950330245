//! Who may watch, who may see the status, who may control the camera (issue 11, items 1–3).
//!
//! The HTTP layer builds one [`Authenticator`] from the `[[user]]` entries (their schema and
//! load-time checks are `config::users`: config owns the whole file) and asks
//! it, per request, with the peer address, the `Authorization` header, the `token` query value,
//! the [`Permission`] the endpoint needs and the stream id (if the endpoint is about one
//! stream — the resolved id, also for the default-stream aliases):
//!
//! ```text
//! let mut cache = AuthCache::default();               // one per connection
//! if auth.is_enabled() {                              // no [[user]]: skip, zero cost
//!     match auth.authorize(&request, &mut cache).await {
//!         Decision::Allowed { user, scope } => …      // scope: streams to show (/api/state)
//!         d => return refusal(d),                     // d.http_status(), WWW_AUTHENTICATE on 401,
//!     }                                               // Retry-After on 429
//! }
//! ```
//!
//! # Which entry applies
//!
//! 1. No `[[user]]` at all: everything is open, nobody is asked to log in.
//! 2. `/health` is open to everyone while no entry sets `health`.
//! 3. Credentials are read from `Authorization: Basic …` or `Authorization: Bearer <token>`,
//!    else from `?token=…`; the header wins when both are present.
//! 4. From an address no named entry's `allow` covers, no login is possible: credentials are
//!    ignored, the anonymous entries decide, and what they do not grant is `403` (a login
//!    prompt could not help).
//! 5. Without credentials: the anonymous entries whose `allow` covers the address decide
//!    (their grants add up); what they do not grant is `401`, so a browser asks for a login.
//! 6. With credentials: a wrong password, unknown user, wrong token or malformed header is
//!    `401`. A correct login whose entry's `allow` does not cover the address is also `401` —
//!    indistinguishable from a wrong password (the same argon2 time: a dummy hash is verified),
//!    so an allow-listed account cannot be guessed from outside its networks; the log says why
//!    ([`Reason::AddressNotAllowed`]). Unknown names verify a dummy hash too (made with the
//!    first password user's parameters, which `hash-password` gives every hash), so response
//!    times do not tell which names exist. Failed password logins are counted per address
//!    ([`throttle`]); a blocked address gets `429` with `Retry-After` for password logins,
//!    before any check and without argon2 (a login already cached on the connection still
//!    works). Wrong tokens and malformed headers are not counted: they are no password guess.
//! 7. A logged-in user gets their own grants plus those of the anonymous entries that apply
//!    to the address (logging in never takes rights away); a permission none of them grants is
//!    `403`.
//!
//! A grant limited to streams allows requests for those streams, and requests about no stream
//! in particular (`/`, `/api/state`), which then show only those streams ([`Scope`]).
//!
//! Costs: a denied or anonymous request costs no argon2; a Basic login costs one argon2
//! verification (~6 ms on x86, ~30–60 ms on a Pi 3, [`password`]) per connection and
//! [`cache::LOGIN_TTL`], run on the blocking pool with at most [`MAX_CONCURRENT_VERIFICATIONS`]
//! at once; tokens are checked with a keyed digest (under a microsecond).

pub mod addr;
pub mod cache;
pub mod credentials;
mod decide;
pub mod password;
pub mod throttle;
pub mod token;
mod verify;

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http::StatusCode;

pub use crate::config::users::{validate_users, Grant, Permission, UserConfig, ANONYMOUS};
pub use crate::util::{redact_target, redact_url};
pub use cache::AuthCache;
pub use decide::Check;
pub use verify::{PendingVerify, Verified};

use cache::{VerifiedCache, VERIFIED_CAPACITY};
use credentials::{Digest, DigestKey};
use password::PasswordError;
use throttle::{Throttle, ThrottleConfig};

/// The `WWW-Authenticate` value of every `401`: a browser shows its login prompt.
pub const WWW_AUTHENTICATE: &str = "Basic realm=\"streamserver\", charset=\"UTF-8\"";
/// argon2 verifications running at once (each takes a core and `m` KiB).
pub const MAX_CONCURRENT_VERIFICATIONS: usize = 2;

/// One request, as far as authorization cares. `Debug` hides the credentials.
#[derive(Clone, Copy)]
pub struct AuthRequest<'a> {
    pub peer: IpAddr,
    /// The raw `Authorization` header value.
    pub authorization: Option<&'a [u8]>,
    /// The `token` query value (tokens are URL-safe, no decoding needed).
    pub token: Option<&'a str>,
    pub permission: Permission,
    /// The stream the request is about, if any.
    pub stream: Option<&'a str>,
}

impl fmt::Debug for AuthRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |present: bool| if present { "***" } else { "none" };
        f.debug_struct("AuthRequest")
            .field("peer", &self.peer)
            .field("authorization", &hidden(self.authorization.is_some()))
            .field("token", &hidden(self.token.is_some()))
            .field("permission", &self.permission)
            .field("stream", &self.stream)
            .finish()
    }
}

/// The streams an allowed request may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Only(Vec<Arc<str>>),
}

/// The answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `user` is `None` for open access (no users, open `/health`, an anonymous entry).
    Allowed {
        user: Option<Arc<str>>,
        scope: Scope,
    },
    /// `401`, with [`WWW_AUTHENTICATE`].
    Unauthorized(Denial),
    /// `403`.
    Forbidden(Denial),
    /// `429`, with `Retry-After` ([`Decision::retry_after_secs`]).
    Throttled { retry_after: Duration },
}

impl Decision {
    pub fn http_status(&self) -> StatusCode {
        match self {
            Decision::Allowed { .. } => StatusCode::OK,
            Decision::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Decision::Forbidden(_) => StatusCode::FORBIDDEN,
            Decision::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// Seconds for `Retry-After` (rounded up, at least 1) when throttled.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Decision::Throttled { retry_after } => Some(throttle::retry_after_secs(*retry_after)),
            _ => None,
        }
    }
}

/// Why a request was refused — for the log line only, never sent to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The user the credentials named, when that user exists.
    pub user: Option<Arc<str>>,
    pub reason: Reason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    NoCredentials,
    MalformedCredentials,
    UnknownUser,
    WrongPassword,
    WrongToken,
    /// The address is outside the `allow` list of the user (or of every named user).
    AddressNotAllowed,
    NoPermission,
    /// The verification task failed (panicked or the runtime is shutting down).
    VerifierFailed,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::NoCredentials => "no credentials",
            Reason::MalformedCredentials => "malformed Authorization header",
            Reason::UnknownUser => "unknown user",
            Reason::WrongPassword => "wrong password",
            Reason::WrongToken => "unknown token",
            Reason::AddressNotAllowed => "address not allowed",
            Reason::NoPermission => "permission not granted",
            Reason::VerifierFailed => "password verification failed to run",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot draw a random key: {0}")]
    Random(String),
    #[error("cannot prepare password checks: {0}")]
    Hash(#[from] PasswordError),
}

/// Decides every request. Cheap to clone (shared state behind an `Arc`); built once per
/// config. Empty (`Authenticator::default()`, or built from no users) means auth is off.
#[derive(Clone, Default)]
pub struct Authenticator {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    users: Vec<UserConfig>,
    /// `users[i].name`, shared into decisions without copying.
    names: Vec<Arc<str>>,
    /// No entry sets `health`: `/health` is open.
    health_open: bool,
    key: DigestKey,
    /// Digest and user index of every configured token.
    tokens: Vec<(Digest, usize)>,
    /// Verified for unknown names and disallowed addresses; `None` without password users.
    dummy_hash: Option<String>,
    /// Tells this authenticator's entries in per-connection caches from a reloaded one's.
    generation: u64,
    verified: Mutex<VerifiedCache>,
    throttle: Mutex<Throttle>,
    verify_slots: Arc<tokio::sync::Semaphore>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users = self.inner.as_ref().map_or(0, |i| i.users.len());
        f.debug_struct("Authenticator")
            .field("users", &users)
            .finish()
    }
}

impl Authenticator {
    /// From validated `[[user]]` entries ([`validate_users`]). With users, this runs argon2 once
    /// (the dummy hash, with the first password user's parameters): build it where blocking for
    /// 10–60 ms is fine (start-up, the config reload thread), not on an async worker.
    pub fn new(users: &[UserConfig]) -> Result<Self, AuthError> {
        Self::with_throttle(users, ThrottleConfig::default())
    }

    /// [`Self::new`] with other throttle settings.
    pub fn with_throttle(
        users: &[UserConfig],
        throttle: ThrottleConfig,
    ) -> Result<Self, AuthError> {
        if users.is_empty() {
            return Ok(Self::default());
        }
        static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let key = DigestKey::random().map_err(|e| AuthError::Random(e.to_string()))?;
        let tokens = (users.iter().enumerate())
            .filter_map(|(i, u)| Some((key.token(u.token.as_ref()?.0.as_bytes()), i)))
            .collect();
        let dummy_hash = match users.iter().find_map(|u| u.password_hash.as_ref()) {
            Some(phc) => Some(password::dummy_hash_like(&phc.0)?),
            None => None,
        };
        Ok(Authenticator {
            inner: Some(Arc::new(Inner {
                names: users.iter().map(|u| Arc::from(u.name.0.as_str())).collect(),
                health_open: users.iter().all(|u| u.health.is_none()),
                users: users.to_vec(),
                key,
                tokens,
                dummy_hash,
                generation: GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                verified: Mutex::new(VerifiedCache::new(VERIFIED_CAPACITY)),
                throttle: Mutex::new(Throttle::new(throttle)),
                verify_slots: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_VERIFICATIONS)),
            })),
        })
    }

    /// Whether any `[[user]]` exists; when not, every request is allowed and the HTTP layer
    /// can skip authorization altogether.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Addresses the throttle tracks now (for `/metrics`).
    pub fn throttled_addresses(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| lock(&i.throttle).len())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
pub(crate) mod tests;
