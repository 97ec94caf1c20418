//! Binance's incoming-message limit: more than N messages from a client within any one second
//! gets it disconnected.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The window the limit applies to.
const WINDOW: Duration = Duration::from_secs(1);

/// Arrival times of a client's most recent messages, enough to judge the limit.
#[derive(Debug)]
pub(crate) struct RateLimit {
    max_per_window: usize,
    arrivals: VecDeque<Instant>,
}

impl RateLimit {
    /// At most `max_per_s` messages in any one second.
    pub(crate) fn new(max_per_s: u32) -> RateLimit {
        let max_per_window = max_per_s as usize;
        RateLimit {
            max_per_window,
            arrivals: VecDeque::with_capacity(max_per_window + 1),
        }
    }

    /// Records a message arriving at `now`; false when it makes more than the limit within
    /// the last second (a sliding window, so no burst straddling a boundary slips through).
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        while self
            .arrivals
            .front()
            .is_some_and(|&at| now.duration_since(at) >= WINDOW)
        {
            self.arrivals.pop_front();
        }
        self.arrivals.push_back(now);
        self.arrivals.len() <= self.max_per_window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_the_limit_within_a_second_is_refused() {
        let start = Instant::now();
        let mut limit = RateLimit::new(3);
        let at = |ms| start + Duration::from_millis(ms);
        assert!(limit.admit(at(0)));
        assert!(limit.admit(at(100)));
        assert!(limit.admit(at(900)));
        assert!(!limit.admit(at(950)));
        let mut limit = RateLimit::new(3);
        for ms in [0, 400, 800, 1000, 1400, 1800] {
            assert!(limit.admit(at(ms)), "{ms}");
        }
    }
}
