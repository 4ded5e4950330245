//! Running argon2 off the async workers: a [`PendingVerify`] (made by
//! [`Authenticator::check`]) verifies on a blocking thread and books the result — a failure
//! with the throttle, a success in the shared login cache — inside that thread, so a client
//! that disconnects mid-way neither escapes the count nor leaves a slot taken;
//! [`Authenticator::finish`] turns it into a [`Decision`] and fills the connection's cache.
//! [`Authenticator::authorize`] does it all for async callers, at most
//! [`super::MAX_CONCURRENT_VERIFICATIONS`] verifications at once.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use zeroize::Zeroizing;

use super::cache::AuthCache;
use super::credentials::Digest;
use super::decide::Check;
use super::password::verify_password;
use super::throttle::SourceKey;
use super::{lock, AuthRequest, Authenticator, Decision, Denial, Inner, Permission, Reason};

/// A password verification to run off the async workers. Holds the password (zeroed on drop).
pub struct PendingVerify {
    pub(super) inner: Arc<Inner>,
    pub(super) password: Zeroizing<Vec<u8>>,
    /// The user's hash when the user exists and may log in from here, else the dummy hash.
    pub(super) hash: String,
    /// `Some` only when `hash` is the user's own: success is possible.
    pub(super) user: Option<usize>,
    /// What a failure is logged as.
    pub(super) failure: Denial,
    pub(super) digest: Digest,
    pub(super) peer: IpAddr,
    pub(super) permission: Permission,
    pub(super) stream: Option<String>,
}

/// A verified (or refused) login, for [`Authenticator::finish`].
pub struct Verified {
    /// The authenticator that verified (a config reload may have replaced it since).
    inner: Arc<Inner>,
    outcome: Result<usize, Decision>,
    digest: Digest,
    peer: IpAddr,
    permission: Permission,
    stream: Option<String>,
    verified_at: Instant,
}

impl PendingVerify {
    /// Verifies the password (blocking) and books the result.
    pub fn run(self) -> Verified {
        self.run_at(Instant::now)
    }

    /// [`Self::run`] with a clock, for tests: `now` is read before and after argon2.
    pub fn run_at(self, now: impl Fn() -> Instant) -> Verified {
        let key = SourceKey::of(self.peer);
        // Attempts queued while their address got blocked are dropped without argon2.
        let blocked = lock(&self.inner.throttle).check(key, now());
        let outcome = match blocked {
            Err(retry_after) => Err(Decision::Throttled { retry_after }),
            Ok(()) => {
                let ok = verify_password(&self.password, &self.hash);
                match self.user {
                    Some(user) if ok => Ok(user),
                    _ => {
                        lock(&self.inner.throttle).record_failure(key, now());
                        Err(Decision::Unauthorized(self.failure))
                    }
                }
            }
        };
        let verified_at = now();
        if let Ok(user) = outcome {
            lock(&self.inner.verified).put(self.digest, user, verified_at);
        }
        Verified {
            inner: self.inner,
            outcome,
            digest: self.digest,
            peer: self.peer,
            permission: self.permission,
            stream: self.stream,
            verified_at,
        }
    }
}

impl Authenticator {
    /// Decides a request, running argon2 (when needed) on the blocking pool.
    pub async fn authorize(&self, request: &AuthRequest<'_>, cache: &mut AuthCache) -> Decision {
        let pending = match self.check(request, cache, Instant::now()) {
            Check::Done(decision) => return decision,
            Check::Verify(pending) => pending,
        };
        let slots = Arc::clone(&pending.inner.verify_slots);
        let Ok(permit) = slots.acquire_owned().await else {
            return Decision::Unauthorized(Denial {
                user: None,
                reason: Reason::VerifierFailed,
            });
        };
        // The permit and the bookkeeping live in the task: a client that disconnects mid-way
        // neither frees a slot early nor escapes the failure count.
        let task = tokio::task::spawn_blocking(move || {
            let verified = pending.run();
            drop(permit);
            verified
        });
        match task.await {
            Ok(verified) => self.finish(verified, cache),
            Err(_) => Decision::Unauthorized(Denial {
                user: None,
                reason: Reason::VerifierFailed,
            }),
        }
    }

    /// The decision for a verified login; a success is remembered in the connection's `cache`.
    /// Decided by the authenticator that verified, so a config reloaded meanwhile cannot mix
    /// up user indices (the connection's cache entry then no longer matches either).
    pub fn finish(&self, verified: Verified, cache: &mut AuthCache) -> Decision {
        let inner = &verified.inner;
        match verified.outcome {
            Ok(user) => {
                cache.put(
                    inner.generation,
                    verified.digest,
                    user,
                    verified.verified_at,
                );
                inner.authorized(
                    user,
                    verified.peer,
                    verified.permission,
                    verified.stream.as_deref(),
                )
            }
            Err(decision) => decision,
        }
    }
}

#[cfg(test)]
mod tests;
