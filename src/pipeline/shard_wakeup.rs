//! Waking a parked shard thread when a trade arrives, so the `park` idle strategy costs
//! microseconds of latency instead of up to a whole park.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, Thread};
use std::time::Duration;

/// Shared by one shard thread and the io threads that push to it.
///
/// The shard raises `sleeping` before it parks; an io thread that pushed a trade reads it (a
/// plain load of a line the shard only writes when it goes to sleep or wakes, so it costs the
/// busy hot path nothing) and unparks the shard. A wake-up lost to the race between the
/// shard's last look at its rings and its park is bounded by the park duration.
#[derive(Debug, Default)]
pub struct ShardWakeup {
    sleeping: AtomicBool,
    thread: OnceLock<Thread>,
}

impl ShardWakeup {
    /// Called on the shard thread before it first parks: the thread to unpark.
    pub fn register_current_thread(&self) {
        let _ = self.thread.set(thread::current());
    }

    /// Parks the calling (shard) thread for up to `timeout`, or until [`ShardWakeup::wake`].
    pub fn park(&self, timeout: Duration) {
        self.sleeping.store(true, Ordering::SeqCst);
        thread::park_timeout(timeout);
        self.sleeping.store(false, Ordering::Relaxed);
    }

    /// Wakes the shard if it is parked.
    #[inline]
    pub fn wake(&self) {
        if self.sleeping.load(Ordering::Relaxed)
            && let Some(thread) = self.thread.get()
        {
            thread.unpark();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn a_wake_ends_a_long_park_early() {
        let wakeup = Arc::new(ShardWakeup::default());
        let shard = Arc::clone(&wakeup);
        let parked = thread::spawn(move || {
            shard.register_current_thread();
            let started = Instant::now();
            shard.park(Duration::from_secs(30));
            started.elapsed()
        });
        // Bounded: the shard parks for 30 s unless woken; wake until it has returned.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !parked.is_finished() && Instant::now() < deadline {
            wakeup.wake();
            thread::sleep(Duration::from_millis(1));
        }
        assert!(parked.join().unwrap() < Duration::from_secs(10));
    }
}
