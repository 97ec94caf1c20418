//! What a pinned thread does when it has nothing to do (an empty ring to drain, a full ring to
//! push into): spin on bare metal, yield, or park so a shared 2-core machine stays usable.

use std::time::Duration;

/// How a thread waits for work. `Park` is the default: it never burns a core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleStrategy {
    /// Busy-poll: lowest latency, one core at 100%. For isolated cores only.
    Spin,
    /// Give the core to the scheduler between polls.
    Yield,
    /// Sleep this long between polls.
    Park(Duration),
}

impl Default for IdleStrategy {
    fn default() -> Self {
        IdleStrategy::Park(Duration::from_micros(200))
    }
}

impl IdleStrategy {
    /// Waits once, as the strategy says.
    #[inline]
    pub fn idle(&self) {
        match self {
            IdleStrategy::Spin => std::hint::spin_loop(),
            IdleStrategy::Yield => std::thread::yield_now(),
            IdleStrategy::Park(duration) => std::thread::park_timeout(*duration),
        }
    }
}

impl std::fmt::Display for IdleStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdleStrategy::Spin => f.write_str("spin"),
            IdleStrategy::Yield => f.write_str("yield"),
            IdleStrategy::Park(d) => write!(f, "park {} µs", d.as_micros()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn park_sleeps_and_spin_returns_at_once() {
        let start = Instant::now();
        IdleStrategy::Park(Duration::from_millis(5)).idle();
        assert!(start.elapsed() >= Duration::from_millis(1), "park_timeout slept");
        IdleStrategy::Spin.idle();
        IdleStrategy::Yield.idle();
        assert_eq!(IdleStrategy::default().to_string(), "park 200 µs");
    }
}
