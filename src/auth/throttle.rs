//! Failed-login throttling per source address, so password guessing is slow while valid users
//! see no delay.
//!
//! Only password logins count (a wrong password, an unknown name, a login from outside the
//! user's `allow`): tokens are 256-bit random and checked in a microsecond, so guessing them is
//! hopeless anyway, and a client left with a revoked token must not lock its neighbours out.
//!
//! The first [`ThrottleConfig::free_failures`] failures from an address cost nothing; each
//! further one blocks the address for a delay that doubles from `base_delay` up to `max_delay`
//! (defaults: 5 free, then 1 s, 2 s, 4 s … 60 s). While blocked, every password login from it
//! is refused at once (the caller answers `429 Too Many Requests` with `Retry-After`: a `401`
//! would make a browser prompt again, and says nothing about waiting) without running argon2,
//! so a blocked guesser costs no CPU. An address with no failure for `forget_after` is
//! forgotten. A success does not forgive earlier failures: a guesser sharing an address with a
//! client that logs in often would be forgiven over and over.
//!
//! Addresses are grouped the way an attacker gets them: IPv4 per address, IPv6 per /64 — a
//! host is normally handed a whole /64 and may take any address inside it (privacy addresses,
//! SLAAC), so counting per /128 would give a guesser 2^64 fresh starts and the bounded table
//! no memory of them. The price: hosts sharing a /64 (an IPv6 LAN) share one count, so a
//! guesser there also delays the others' new password logins — not their open connections
//! (cached logins), tokens, IPv4, or anonymous access.
//!
//! Memory is bounded: at most `max_entries` addresses are tracked. When the table is full the
//! entry least worth keeping (not blocked, oldest failure) is evicted, so an attacker cycling
//! through addresses cannot grow it — at worst they evict their own older entries.
//!
//! Pure logic: every call takes the current `Instant`, so tests control time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Tuning of the throttle (defaults in [`ThrottleConfig::default`]).
#[derive(Debug, Clone, Copy)]
pub struct ThrottleConfig {
    /// Failures allowed before the first delay.
    pub free_failures: u32,
    /// The first delay; doubled with each further failure.
    pub base_delay: Duration,
    /// Cap of the delay.
    pub max_delay: Duration,
    /// An address with no failure for this long starts afresh (must exceed `max_delay`).
    pub forget_after: Duration,
    /// Most addresses (IPv4 addresses or IPv6 /64s) tracked at once.
    pub max_entries: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            free_failures: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            forget_after: Duration::from_secs(15 * 60),
            max_entries: 1024,
        }
    }
}

/// What failures are counted per: an IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKey {
    V4(u32),
    V6Net64(u64),
}

impl SourceKey {
    pub fn of(peer: IpAddr) -> SourceKey {
        match peer.to_canonical() {
            IpAddr::V4(a) => SourceKey::V4(a.into()),
            IpAddr::V6(a) => SourceKey::V6Net64((u128::from(a) >> 64) as u64),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    blocked_until: Option<Instant>,
}

/// The failure table.
#[derive(Debug)]
pub struct Throttle {
    config: ThrottleConfig,
    entries: HashMap<SourceKey, Entry>,
}

impl Throttle {
    pub fn new(config: ThrottleConfig) -> Self {
        Throttle {
            entries: HashMap::with_capacity(config.max_entries.min(64)),
            config,
        }
    }

    /// `Err(retry_after)` while `key` is blocked; an expired entry is dropped here.
    pub fn check(&mut self, key: SourceKey, now: Instant) -> Result<(), Duration> {
        let Some(entry) = self.entries.get(&key) else {
            return Ok(());
        };
        if self.expired(entry, now) {
            self.entries.remove(&key);
            return Ok(());
        }
        match entry.blocked_until {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts one failed attempt from `key`; returns the new block, if any.
    pub fn record_failure(&mut self, key: SourceKey, now: Instant) -> Option<Duration> {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.config.max_entries {
            self.evict(now);
        }
        let config = self.config;
        let fresh = Entry {
            failures: 0,
            last_failure: now,
            blocked_until: None,
        };
        let entry = self.entries.entry(key).or_insert(fresh);
        if now.saturating_duration_since(entry.last_failure) >= config.forget_after {
            *entry = fresh;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        let over = entry.failures.checked_sub(config.free_failures)?;
        let delay = config
            .base_delay
            .saturating_mul(2u32.saturating_pow(over))
            .min(config.max_delay);
        entry.blocked_until = Some(now + delay);
        Some(delay)
    }

    /// Addresses tracked now (for tests and `/metrics`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn expired(&self, entry: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(entry.last_failure) >= self.config.forget_after
    }

    /// Makes room for one entry: drops every expired entry, else the one least worth keeping.
    fn evict(&mut self, now: Instant) {
        let forget_after = self.config.forget_after;
        self.entries
            .retain(|_, e| now.saturating_duration_since(e.last_failure) < forget_after);
        if self.entries.len() < self.config.max_entries {
            return;
        }
        let victim = self
            .entries
            .iter()
            .min_by_key(|(_, e)| (e.blocked_until.is_some_and(|u| u > now), e.last_failure))
            .map(|(k, _)| *k);
        if let Some(key) = victim {
            self.entries.remove(&key);
        }
    }
}

/// `Retry-After` seconds for a block: rounded up, at least 1.
pub fn retry_after_secs(retry_after: Duration) -> u64 {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests;
