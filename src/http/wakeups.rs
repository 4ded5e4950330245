//! Which of the things a connection waits on woke it, so only those are polled again.
//!
//! A stream client's task wakes about 30 times a second (a new frame), and a plain `select!` or
//! body then re-polls everything it waits on: the shutdown signal, the slot's watch, a timer,
//! hyper's connection. Polling a future that has nothing new is not free — a `Notified` takes
//! its waiter list's lock on every poll, and the shutdown signal's list is shared by every
//! connection — and at 200 clients it was a fifth of the server's work. [`Wakeups`] hands each
//! waited-on future its own waker: it marks that future's bit and wakes the task.
//! [`Wakeups::take`] returns the bits marked since the last call; a future whose bit is clear
//! has nothing new and is not polled.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};

/// Up to 32 sources, bit `i` for source `i`.
pub struct Wakeups {
    shared: Arc<Shared>,
    wakers: Vec<Waker>,
    /// The task's waker as last handed to `shared` (compared without taking the lock).
    task: Option<Waker>,
}

struct Shared {
    woken: AtomicU32,
    task: Mutex<Option<Waker>>,
}

struct Source {
    shared: Arc<Shared>,
    bit: u32,
}

impl Wake for Source {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.woken.fetch_or(self.bit, Ordering::AcqRel);
        let task = self.shared.task.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(task) = task.as_ref() {
            task.wake_by_ref();
        }
    }
}

impl Wakeups {
    /// `sources` wakers (at most 32), all marked woken: everything is polled the first time.
    pub fn new(sources: u32) -> Self {
        assert!(sources <= 32, "at most 32 sources");
        let shared = Arc::new(Shared {
            woken: AtomicU32::new(mask(sources)),
            task: Mutex::new(None),
        });
        let wakers = (0..sources)
            .map(|i| {
                Waker::from(Arc::new(Source {
                    shared: shared.clone(),
                    bit: 1 << i,
                }))
            })
            .collect();
        Self {
            shared,
            wakers,
            task: None,
        }
    }

    /// The sources woken since the last call, noting the task's current waker.
    pub fn take(&mut self, cx: &Context<'_>) -> Woken {
        if !self.task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
            let task = cx.waker().clone();
            *self.shared.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task.clone());
            self.task = Some(task);
        }
        Woken(self.shared.woken.swap(0, Ordering::AcqRel))
    }

    /// The waker that marks `source`, for registering where a context cannot be passed.
    pub fn waker(&self, source: u32) -> Waker {
        self.wakers[source as usize].clone()
    }

    /// A context whose waker marks `source` (poll that source's future with it).
    pub fn context(&self, source: u32) -> Context<'_> {
        Context::from_waker(&self.wakers[source as usize])
    }
}

/// The sources woken since the last [`Wakeups::take`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Woken(pub u32);

impl Woken {
    pub fn has(self, source: u32) -> bool {
        self.0 & (1 << source) != 0
    }
}

fn mask(sources: u32) -> u32 {
    if sources >= 32 {
        u32::MAX
    } else {
        (1 << sources) - 1
    }
}

#[cfg(test)]
mod tests;
