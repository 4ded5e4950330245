//! Remembering verified logins, so argon2 runs once per login, not once per request.
//!
//! Two levels, both holding keyed digests ([`super::credentials::Digest`]), never passwords:
//!
//! - [`AuthCache`], owned by one connection: the last verified Basic login. A stream is one
//!   request and pays argon2 once; a keep-alive connection polling `/api/state` or snapshots
//!   pays it once too. No lock.
//! - [`VerifiedCache`], shared (behind the authenticator's mutex), [`VERIFIED_CAPACITY`]
//!   entries: clients that open a new connection per request (snapshot pollers, a browser's
//!   parallel connections) skip argon2 after the first success. Bounded; the oldest entry goes.
//!
//! Entries live [`LOGIN_TTL`] from their verification, then the password is checked again.
//! Both are tied to one authenticator (its `generation`): a reloaded config starts empty.
//!
//! Why a digest and not the header: a copy of the password would outlive the request in
//! memory. The digest is keyed with a per-process random key, so it is worthless outside this
//! process; inside it (a memory dump) it would allow fast offline guessing of a cached
//! password — the price of not paying argon2 per request, limited to passwords used in the last
//! [`LOGIN_TTL`].

use std::fmt;
use std::time::{Duration, Instant};

use super::credentials::Digest;

/// How long a verified login is trusted without running argon2 again.
pub const LOGIN_TTL: Duration = Duration::from_secs(10 * 60);
/// Entries of the shared cache.
pub const VERIFIED_CAPACITY: usize = 32;

#[derive(Clone, Copy)]
struct CachedLogin {
    generation: u64,
    digest: Digest,
    /// Index of the user in the authenticator.
    user: usize,
    verified_at: Instant,
}

impl CachedLogin {
    fn fresh(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.verified_at) < LOGIN_TTL
    }
}

/// The per-connection login cache: create one per accepted connection (`AuthCache::default()`)
/// and pass it to every authorization of that connection's requests.
#[derive(Default)]
pub struct AuthCache {
    last: Option<CachedLogin>,
}

impl fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthCache")
            .field("logged_in", &self.last.is_some())
            .finish()
    }
}

impl AuthCache {
    pub(super) fn get(&self, generation: u64, digest: &Digest, now: Instant) -> Option<usize> {
        self.last
            .filter(|l| l.generation == generation && l.fresh(now) && l.digest.matches(digest))
            .map(|l| l.user)
    }

    pub(super) fn put(
        &mut self,
        generation: u64,
        digest: Digest,
        user: usize,
        verified_at: Instant,
    ) {
        self.last = Some(CachedLogin {
            generation,
            digest,
            user,
            verified_at,
        });
    }
}

/// The shared, bounded cache of recent logins.
pub struct VerifiedCache {
    entries: Vec<CachedLogin>,
    capacity: usize,
}

impl VerifiedCache {
    pub fn new(capacity: usize) -> Self {
        VerifiedCache {
            entries: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// The user and verification time of a fresh entry for `digest`; expired entries are
    /// dropped on the way. Every entry is compared, so the time does not tell which matched.
    pub(super) fn get(&mut self, digest: &Digest, now: Instant) -> Option<(usize, Instant)> {
        self.entries.retain(|e| e.fresh(now));
        let mut found = None;
        for e in &self.entries {
            if e.digest.matches(digest) {
                found = Some((e.user, e.verified_at));
            }
        }
        found
    }

    pub(super) fn put(&mut self, digest: Digest, user: usize, now: Instant) {
        self.entries.retain(|e| !e.digest.matches(&digest));
        if self.entries.len() >= self.capacity {
            if let Some(oldest) =
                (0..self.entries.len()).min_by_key(|&i| self.entries[i].verified_at)
            {
                self.entries.swap_remove(oldest);
            }
        }
        if self.capacity > 0 {
            self.entries.push(CachedLogin {
                generation: 0,
                digest,
                user,
                verified_at: now,
            });
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests;
