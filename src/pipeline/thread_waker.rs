//! Waking a thread that sleeps in its poll when work arrives from another thread (trades in a
//! ring, a pull request, the backfill's input), at most once per sleep.
//!
//! The sleeper raises `sleeping` before its last look at its inputs and then sleeps in its
//! `Poll`; a producer, after making its work visible, claims the flag and writes the eventfd
//! only if it was raised. So a busy thread costs its producers one load of a line it does not
//! write, and a sleeping one gets one wake-up however many batches arrive meanwhile. Both sides
//! put a `SeqCst` fence between their store (the work; the flag) and their load (the flag; the
//! inputs), so one of them always sees the other: no wake-up is lost.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering, fence};

use mio::{Registry, Token, Waker};

/// The waker of one thread's poll.
#[derive(Debug)]
pub struct ThreadWaker {
    sleeping: AtomicBool,
    waker: Waker,
}

impl ThreadWaker {
    /// A waker for the poll `registry` belongs to, reported under `token`.
    ///
    /// # Errors
    ///
    /// The eventfd cannot be made or registered.
    pub fn new(registry: &Registry, token: Token) -> io::Result<ThreadWaker> {
        Ok(ThreadWaker {
            sleeping: AtomicBool::new(false),
            waker: Waker::new(registry, token)?,
        })
    }

    /// Called by a producer after its work is visible (pushed, sent): wakes the thread if it
    /// sleeps or is about to.
    #[inline]
    pub fn wake(&self) {
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::AcqRel) {
            // A failed write means the eventfd's counter is saturated: it is readable anyway.
            let _ = self.waker.wake();
        }
    }

    /// Called by the thread before its last look at its inputs: from now on a producer wakes
    /// it.
    pub(super) fn announce_sleep(&self) {
        self.sleeping.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// Called by the thread once awake (or when its last look found work).
    pub(super) fn awake(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn a_wake_ends_a_sleep_and_an_awake_thread_is_not_woken() {
        let mut poll = Poll::new().unwrap();
        let waker = Arc::new(ThreadWaker::new(poll.registry(), Token(7)).unwrap());
        let mut events = Events::with_capacity(4);
        // Awake: a wake writes nothing, so the poll times out.
        waker.wake();
        poll.poll(&mut events, Some(Duration::from_millis(20)))
            .unwrap();
        assert!(events.is_empty());
        // About to sleep: a wake from another thread ends the sleep early.
        waker.announce_sleep();
        let other = Arc::clone(&waker);
        let producer = std::thread::spawn(move || other.wake());
        let started = Instant::now();
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        waker.awake();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(events.iter().next().map(|e| e.token()), Some(Token(7)));
        producer.join().unwrap();
    }
}
