//! Outgoing request budget: at most N messages in any one-second window.
//!
//! A sliding window (the send times of the last N messages) rather than a token bucket: Binance
//! counts messages per second and disconnects above 10, so the guarantee we want is exactly "no
//! window of one second holds more than N", which a bucket with burst capacity N does not give
//! at its edges.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);

/// At most `per_second` sends in any one-second window.
#[derive(Debug, Clone)]
pub struct RateLimit {
    per_second: usize,
    sent: VecDeque<Instant>,
}

impl RateLimit {
    /// A limit of `per_second` messages per second (at least one, or nothing could ever go).
    pub fn new(per_second: u32) -> RateLimit {
        let per_second = per_second.max(1) as usize;
        RateLimit {
            per_second,
            sent: VecDeque::with_capacity(per_second),
        }
    }

    /// Whether a message may go at `now`.
    pub fn ready(&mut self, now: Instant) -> bool {
        while let Some(&oldest) = self.sent.front() {
            if now.saturating_duration_since(oldest) >= WINDOW {
                self.sent.pop_front();
            } else {
                break;
            }
        }
        self.sent.len() < self.per_second
    }

    /// Records a message sent at `now`; call only after `ready(now)` said yes.
    pub fn record(&mut self, now: Instant) {
        self.sent.push_back(now);
    }

    /// Forgets past sends: a new socket starts with a full budget.
    pub fn clear(&mut self) {
        self.sent.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_n_per_window_and_slides() {
        let mut limit = RateLimit::new(3);
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        for i in 0..3 {
            assert!(limit.ready(t0 + ms(i * 10)));
            limit.record(t0 + ms(i * 10));
        }
        assert!(!limit.ready(t0 + ms(500)));
        assert!(!limit.ready(t0 + ms(999)));
        // The first send leaves the window one second after it went.
        assert!(limit.ready(t0 + ms(1000)));
        limit.record(t0 + ms(1000));
        assert!(!limit.ready(t0 + ms(1009)));
        assert!(limit.ready(t0 + ms(1010)));
        limit.clear();
        assert!(limit.ready(t0 + ms(1010)));
    }

    #[test]
    fn zero_means_one() {
        let mut limit = RateLimit::new(0);
        let t0 = Instant::now();
        assert!(limit.ready(t0));
        limit.record(t0);
        assert!(!limit.ready(t0));
    }
}
