//! One latency stamp, and the rule that picks which trades are stamped.

use super::Stage;

/// A trade, by symbol index and trade id, passing `stage` at `at_ns` on [`super::monotonic_ns`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Where the trade was.
    pub stage: Stage,
    /// Symbol index, in the numbering of whoever took the stamp.
    pub symbol: u32,
    /// The aggregate trade's *last raw trade id* (aggTrade field `l`), not its agg id (`a`):
    /// it is as unique per aggregate trade, and it is what a kline carries (`L`), so a
    /// delivered kline names the trade that last updated it. Stamps join on (symbol, this).
    pub trade_id: i64,
    /// Nanoseconds on `CLOCK_MONOTONIC`.
    pub at_ns: u64,
    /// The exchange's event time (`E`, ms since the Unix epoch) where the stage knows it.
    pub event_ms: i64,
}

impl Stamp {
    /// A stamp without an event time (tests and stages that do not know it).
    pub fn new(stage: Stage, symbol: u32, trade_id: i64, at_ns: u64) -> Stamp {
        Stamp {
            stage,
            symbol,
            trade_id,
            at_ns,
            event_ms: 0,
        }
    }
}

/// Which trades get stamped: those whose trade id (`l`) is a multiple of a power of two. Every stage
/// and every process applies the same rule, so a sampled trade is stamped everywhere and the
/// stamps join; the check is one AND on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    mask: i64,
}

impl Sampling {
    /// Stamp every trade.
    pub const EVERY_TRADE: Sampling = Sampling { mask: 0 };

    /// One trade in `every` (rounded up to a power of two; 0 and 1 mean every trade).
    pub fn one_in(every: u64) -> Sampling {
        let every = every.max(1).next_power_of_two().min(1 << 62);
        Sampling {
            mask: i64::try_from(every - 1).unwrap_or(i64::MAX),
        }
    }

    /// True when the trade with this last raw trade id (`l`) is stamped.
    #[inline]
    pub fn picks(self, trade_id: i64) -> bool {
        trade_id & self.mask == 0
    }

    /// How many trades one stamped trade stands for.
    pub fn every(self) -> u64 {
        self.mask as u64 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_picks_multiples_of_a_power_of_two() {
        let s = Sampling::one_in(50);
        assert_eq!(s.every(), 64);
        assert!(s.picks(0) && s.picks(128) && !s.picks(1) && !s.picks(63));
        assert!((0..1000).all(|id| Sampling::EVERY_TRADE.picks(id)));
        assert_eq!(Sampling::one_in(0), Sampling::EVERY_TRADE);
    }
}
