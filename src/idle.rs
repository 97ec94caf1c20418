//! What a pinned thread does when it has nothing to do (an empty ring to drain, a full ring to
//! push into): spin on bare metal, yield, park so a shared 2-core machine stays usable, or back
//! off (spin a moment after the last work, then park), so a steady feed seldom finds the thread
//! asleep while an idle host still rests.

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
    /// Spin for `spin` after the last work, then park for `park` at a time.
    Backoff {
        /// How long to keep spinning once there is no work.
        spin: Duration,
        /// How long each park lasts after that.
        park: Duration,
    },
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
            IdleStrategy::Park(duration) | IdleStrategy::Backoff { park: duration, .. } => {
                std::thread::park_timeout(*duration);
            }
        }
    }

    /// True for the strategies that sleep when idle (parking, or backing off to a park).
    pub fn sleeps(&self) -> bool {
        matches!(self, IdleStrategy::Park(_) | IdleStrategy::Backoff { .. })
    }
}

impl std::fmt::Display for IdleStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdleStrategy::Spin => f.write_str("spin"),
            IdleStrategy::Yield => f.write_str("yield"),
            IdleStrategy::Park(d) => write!(f, "park {} µs", d.as_micros()),
            IdleStrategy::Backoff { spin, park } => write!(
                f,
                "backoff: spin {} µs, then park {} µs",
                spin.as_micros(),
                park.as_micros()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_strategy_returns_and_names_itself() {
        for (strategy, name) in [
            (IdleStrategy::Spin, "spin"),
            (IdleStrategy::Yield, "yield"),
            (IdleStrategy::Park(Duration::from_micros(50)), "park 50 µs"),
        ] {
            strategy.idle();
            assert_eq!(strategy.to_string(), name);
        }
        assert_eq!(
            IdleStrategy::default(),
            IdleStrategy::Park(Duration::from_micros(200))
        );
    }
}
