//! Which connections the server keeps: limits that hold while someone on the network abuses it.
//!
//! Every accepted connection asks [`Admission::admit`] for a [`Ticket`] (dropped when the
//! connection ends). Three bounds, all kept under one short lock:
//!
//! - **Per address**: at most `max_connections_per_address` connections at once from one IPv4
//!   address or IPv6 /64 (a host may use any address of its /64, so counting per /128 would
//!   bound nothing). One more is refused at once.
//! - **Waiting connections**: a connection is *pending* from its accept until its first request
//!   head has arrived (a TLS handshake included), and again while it idles between requests
//!   (keep-alive). At most `max_pending_connections` are pending; one more closes the oldest
//!   pending connection of the address that has the most pending. A slowloris (heads sent a
//!   byte per second) thus only ever evicts itself: a real client sends its head within
//!   milliseconds and is served, while the attacker's connections churn. `header_timeout` still
//!   closes any connection whose head takes too long.
//! - **All connections**: `max_clients` + [`super::EXTRA_CONNECTIONS`]. When full, a pending
//!   connection is evicted to make room (the evicted one is still counted until its task has
//!   ended, so the count may pass the bound by at most the pending ones); with none pending the
//!   new connection is refused.
//!
//! Costs: a hash-map update per connection, and a scan of the pending list (at most
//! `max_pending_connections` entries) only when something must be evicted.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::auth::throttle::SourceKey;

/// The bounds of an [`Admission`].
#[derive(Debug, Clone, Copy)]
pub struct AdmissionLimits {
    pub max_connections: usize,
    pub per_address: usize,
    pub max_pending: usize,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its address already has `max_connections_per_address` connections.
    PerAddress,
    /// Every connection slot is busy with a request or a stream.
    Full,
}

/// Counters for `/metrics` and the attack drills.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdmissionStats {
    /// Connections admitted since the start.
    pub admitted: u64,
    pub open: usize,
    pub pending: usize,
    pub refused_per_address: u64,
    pub refused_full: u64,
    pub evicted: u64,
}

/// The shared admission state of one server.
pub struct Admission {
    limits: AdmissionLimits,
    state: Mutex<State>,
    admitted: AtomicU64,
    refused_per_address: AtomicU64,
    refused_full: AtomicU64,
    evicted: AtomicU64,
}

#[derive(Default)]
struct State {
    open: usize,
    per_key: HashMap<SourceKey, usize>,
    /// Oldest first (entries are pushed with the current time).
    pending: VecDeque<Pending>,
    pending_per_key: HashMap<SourceKey, usize>,
    next_id: u64,
}

struct Pending {
    id: u64,
    key: SourceKey,
    evict: Arc<Notify>,
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Arc<Self> {
        Arc::new(Admission {
            limits,
            state: Mutex::new(State::default()),
            admitted: AtomicU64::new(0),
            refused_per_address: AtomicU64::new(0),
            refused_full: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        })
    }

    /// Admits a connection from `peer`, pending until [`Ticket::head_received`].
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Arc<Ticket>, Refused> {
        let key = SourceKey::of(peer);
        let mut st = self.lock();
        if st.per_key.get(&key).copied().unwrap_or(0) >= self.limits.per_address {
            self.refused_per_address.fetch_add(1, Relaxed);
            return Err(Refused::PerAddress);
        }
        if st.open >= self.limits.max_connections && !self.evict_one(&mut st) {
            self.refused_full.fetch_add(1, Relaxed);
            return Err(Refused::Full);
        }
        while st.pending.len() >= self.limits.max_pending && self.evict_one(&mut st) {}
        st.open += 1;
        self.admitted.fetch_add(1, Relaxed);
        *st.per_key.entry(key).or_insert(0) += 1;
        let id = st.next_id;
        st.next_id += 1;
        let evict = Arc::new(Notify::new());
        push_pending(&mut st, id, key, &evict);
        Ok(Arc::new(Ticket {
            admission: Arc::clone(self),
            key,
            id,
            evict,
            since: std::sync::Mutex::new(Instant::now()),
        }))
    }

    pub fn stats(&self) -> AdmissionStats {
        let st = self.lock();
        AdmissionStats {
            admitted: self.admitted.load(Relaxed),
            open: st.open,
            pending: st.pending.len(),
            refused_per_address: self.refused_per_address.load(Relaxed),
            refused_full: self.refused_full.load(Relaxed),
            evicted: self.evicted.load(Relaxed),
        }
    }

    /// Closes the oldest pending connection of the address with the most pending ones; false
    /// when none is pending.
    fn evict_one(&self, st: &mut State) -> bool {
        let Some((&key, _)) = (st.pending_per_key.iter()).max_by_key(|(_, n)| **n) else {
            return false;
        };
        let Some(index) = st.pending.iter().position(|p| p.key == key) else {
            return false;
        };
        if let Some(victim) = remove_pending(st, index) {
            victim.evict.notify_one();
            self.evicted.fetch_add(1, Relaxed);
        }
        true
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn push_pending(st: &mut State, id: u64, key: SourceKey, evict: &Arc<Notify>) {
    st.pending.push_back(Pending {
        id,
        key,
        evict: Arc::clone(evict),
    });
    *st.pending_per_key.entry(key).or_insert(0) += 1;
}

fn remove_pending(st: &mut State, index: usize) -> Option<Pending> {
    let p = st.pending.remove(index)?;
    if let Some(n) = st.pending_per_key.get_mut(&p.key) {
        *n -= 1;
        if *n == 0 {
            st.pending_per_key.remove(&p.key);
        }
    }
    Some(p)
}

/// One admitted connection; dropping it gives its place back.
pub struct Ticket {
    admission: Arc<Admission>,
    key: SourceKey,
    id: u64,
    evict: Arc<Notify>,
    /// When the connection last became pending (for the log line of an eviction).
    since: std::sync::Mutex<Instant>,
}

impl Ticket {
    /// A request head arrived: the connection is busy, no longer evictable.
    pub fn head_received(&self) {
        let mut st = self.admission.lock();
        if let Some(index) = st.pending.iter().rposition(|p| p.id == self.id) {
            remove_pending(&mut st, index);
        }
    }

    /// The response is sent and the connection waits for the next head (keep-alive): pending
    /// again, making room if the pending list is full.
    pub fn idle(&self) {
        let mut st = self.admission.lock();
        if st.pending.iter().any(|p| p.id == self.id) {
            return;
        }
        while st.pending.len() >= self.admission.limits.max_pending
            && self.admission.evict_one(&mut st)
        {}
        push_pending(&mut st, self.id, self.key, &self.evict);
        *self.since.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// Resolves when the connection was chosen for eviction.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// How long the connection has been waiting since it last became pending.
    pub fn pending_for(&self) -> std::time::Duration {
        self.since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut st = self.admission.lock();
        if let Some(index) = st.pending.iter().rposition(|p| p.id == self.id) {
            remove_pending(&mut st, index);
        }
        st.open -= 1;
        if let Some(n) = st.per_key.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                st.per_key.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests;
