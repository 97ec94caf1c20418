//! When a synthetic market trades: time is cut into slices of constant rate (split where a burst
//! starts or ends and where the new listing starts), and each slice gets the number of trades
//! its length is worth, the fraction left over carried to the next so that the count over any
//! stretch is the expected one to within one trade, however `poll` is called.

use super::synthetic_config::Burst;

/// Longest slice: bounds the trades generated in one go, so a caller far behind catches up in
/// pieces instead of one huge batch.
pub const MAX_SLICE_MS: i64 = 1_000;

/// At very high rates slices are shortened (down to 1 ms) to expect at most this many trades.
const MAX_SLICE_TRADES: f64 = 65_536.0;

/// Highest rate honoured, bursts included (trades per second): far above what a loopback
/// socket carries, and with 1 ms slices it bounds one slice to 100,000 trades.
const MAX_RATE_PER_S: f64 = 100_000_000.0;

/// A stretch of trade times `[from, to)` at one rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slice {
    /// First trade time (ms) in the slice.
    pub from: i64,
    /// End of the slice (exclusive).
    pub to: i64,
    /// Whether the new listing trades in it.
    pub listed: bool,
    /// Rate multiplier in force (the burst factor, or 1).
    multiplier: f64,
}

/// Bursts in milliseconds, only when they change anything.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BurstMs {
    every: i64,
    length: i64,
    factor: f64,
}

/// The market's clock rules and the fractional trade carried between slices.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    start_ms: i64,
    /// Highest trades per second over the whole market outside bursts, to bound slices.
    rate_per_s: f64,
    burst: Option<BurstMs>,
    listing_at_ms: Option<i64>,
    carry: f64,
}

impl Schedule {
    /// The rules of a market trading at most `rate_per_s` (outside bursts) from `start_ms`.
    pub fn new(
        start_ms: i64,
        rate_per_s: f64,
        burst: Option<Burst>,
        listing_at_ms: Option<i64>,
    ) -> Schedule {
        let burst = burst
            .map(|b| BurstMs {
                // A zero period would be a burst of no length, infinitely often.
                every: i64::try_from(b.every.as_millis())
                    .unwrap_or(i64::MAX)
                    .max(1),
                length: i64::try_from(b.length.as_millis()).unwrap_or(i64::MAX),
                factor: f64::from(b.factor),
            })
            .filter(|b| b.length > 0 && b.factor != 1.0);
        Schedule {
            start_ms,
            rate_per_s,
            burst,
            listing_at_ms,
            carry: 0.0,
        }
    }

    /// The slice starting at `from`, ending at `until` at the latest.
    pub fn slice(&self, from: i64, until: i64) -> Slice {
        let mut to = until.min(from.saturating_add(MAX_SLICE_MS));
        if let Some(at) = self.listing_at_ms.filter(|&at| at > from) {
            to = to.min(at);
        }
        let (in_burst, edge) = self.burst_at(from);
        to = to.min(edge);
        let multiplier = match self.burst {
            Some(b) if in_burst => b.factor,
            _ => 1.0,
        };
        let per_ms = self.rate(multiplier) / 1_000.0;
        if per_ms * ((to - from) as f64) > MAX_SLICE_TRADES {
            to = from + ((MAX_SLICE_TRADES / per_ms) as i64).max(1);
        }
        Slice {
            from,
            to,
            listed: self.listing_at_ms.is_some_and(|at| from >= at),
            multiplier,
        }
    }

    /// Trades due in `slice` at `rate_per_s` outside bursts.
    pub fn count(&mut self, slice: &Slice, rate_per_s: f64) -> u64 {
        let rate = (rate_per_s * slice.multiplier).min(MAX_RATE_PER_S);
        let expected = self.carry + rate * (slice.to - slice.from) as f64 / 1_000.0;
        let count = expected.floor();
        self.carry = expected - count;
        count as u64
    }

    /// Trades per second under `multiplier`, capped.
    fn rate(&self, multiplier: f64) -> f64 {
        (self.rate_per_s * multiplier).min(MAX_RATE_PER_S)
    }

    /// Whether time `t` is in a burst, and the next time after `t` where that changes.
    fn burst_at(&self, t: i64) -> (bool, i64) {
        let Some(b) = self.burst else {
            return (false, i64::MAX);
        };
        let elapsed = t - self.start_ms;
        if elapsed < b.every {
            return (false, self.start_ms + b.every);
        }
        let phase = elapsed % b.every;
        let period_start = t - phase;
        if b.length >= b.every {
            (true, i64::MAX)
        } else if phase < b.length {
            (true, period_start + b.length)
        } else {
            (false, period_start + b.every)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn burst(every: u64, length: u64, factor: u32) -> Option<Burst> {
        Some(Burst {
            every: Duration::from_millis(every),
            length: Duration::from_millis(length),
            factor,
        })
    }

    #[test]
    fn slices_split_at_burst_edges_and_the_listing() {
        let s = Schedule::new(1_000, 10.0, burst(500, 100, 4), Some(1_550));
        let mut cuts = Vec::new();
        let mut from = 1_000;
        while from < 2_200 {
            let slice = s.slice(from, 2_200);
            cuts.push((slice.from, slice.to, slice.listed, slice.multiplier));
            from = slice.to;
        }
        assert_eq!(
            cuts,
            [
                (1_000, 1_500, false, 1.0),
                (1_500, 1_550, false, 4.0),
                (1_550, 1_600, true, 4.0),
                (1_600, 2_000, true, 1.0),
                (2_000, 2_100, true, 4.0),
                (2_100, 2_200, true, 1.0),
            ]
        );
    }

    #[test]
    fn slices_are_at_most_a_second() {
        let s = Schedule::new(0, 10.0, None, None);
        assert_eq!(s.slice(0, 10_000).to, MAX_SLICE_MS);
        assert_eq!(s.slice(5, 7).to, 7);
        // Unless the rate is so high that a second would be too many trades at once.
        let s = Schedule::new(0, 1e6, burst(10_000, 1_000, 1_000), None);
        assert_eq!(s.slice(0, 10_000).to, 65);
        assert_eq!(s.slice(10_000, 20_000).to, 10_001);
    }

    #[test]
    fn counts_carry_fractions_so_totals_are_exact() {
        let mut s = Schedule::new(0, 100.0, burst(1_000, 1_000, 3), None);
        let mut total = 0;
        let mut from = 0;
        while from < 3_000 {
            let slice = s.slice(from, (from + 7).min(3_000));
            total += s.count(&slice, 100.0);
            from = slice.to;
        }
        // 1 s at 100/s, then 2 s at 300/s.
        assert!((699..=700).contains(&total), "{total}");
    }

    #[test]
    fn degenerate_bursts_change_nothing() {
        let s = Schedule::new(0, 1.0, burst(0, 0, 5), None);
        assert_eq!(s.slice(0, 100).multiplier, 1.0);
        let s = Schedule::new(0, 1.0, burst(100, 200, 2), None);
        assert_eq!(s.slice(50, 1_000).to, 100);
        assert_eq!(s.slice(100, 10_000).to, 1_100);
        assert_eq!(s.slice(100, 1_000).multiplier, 2.0);
    }
}
