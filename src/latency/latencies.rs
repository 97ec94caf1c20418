//! Joins stamps of the same trade into span latencies, kept in HdrHistograms.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

use super::{Span, Stage, Stamp, monotonic_ns};

/// Percentiles of one span, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpanSummary {
    /// Latencies recorded.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// 99.99th percentile.
    pub p9999: u64,
    /// Largest.
    pub max: u64,
    /// Sum of all, for a Prometheus summary's `_sum`.
    pub sum: u64,
}

/// Stamps of one trade seen so far, by stage (0 = not yet).
#[derive(Debug, Clone, Copy, Default)]
struct Pending {
    at: [u64; Stage::ALL.len()],
}

/// Trades waiting for more of their stamps; past this the waiting ones are forgotten (their
/// missing stamps were dropped, or never come).
const MAX_PENDING: usize = 1 << 20;

/// The latencies of every span, from stamps given in any order, except that a delivery should
/// come after the updates it delivers (see [`Latencies::add`]).
#[derive(Debug, Clone)]
pub struct Latencies {
    histograms: Vec<Histogram<u64>>,
    /// By (symbol, trade id): ordered, so a delivery finds the earlier trades it covers.
    pending: BTreeMap<(u32, i64), Pending>,
    /// The stages each trade is expected to pass; a trade that has them all is done.
    expected: Vec<Stage>,
    /// Wall-clock ns minus monotonic ns, to compare frame reads with exchange event times.
    wall_minus_monotonic: i128,
}

impl Latencies {
    /// Latencies of trades expected to pass `expected` stages (in any order).
    pub fn new(expected: &[Stage]) -> Latencies {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        Latencies {
            histograms: Span::ALL.iter().map(|_| new_histogram()).collect(),
            pending: BTreeMap::new(),
            expected: expected.to_vec(),
            wall_minus_monotonic: wall - i128::from(monotonic_ns()),
        }
    }

    /// Takes in one stamp, recording every span it completes.
    ///
    /// A delivered kline carries every trade of its symbol applied before it, not only the one
    /// it names: a consumer that pulls now and then gets many trades in one kline. So a
    /// delivery stamp also delivers each earlier trade of the symbol that is updated and not
    /// yet delivered; for that, stamps of updates must be given before the deliveries that
    /// follow them (true of stamps sorted by time, and of rings drained last stage first).
    pub fn add(&mut self, stamp: &Stamp) {
        if stamp.stage == Stage::Delivered {
            self.deliver_earlier(stamp);
        }
        if stamp.stage == Stage::FrameRead && stamp.event_ms > 0 {
            let wall_ns = i128::from(stamp.at_ns) + self.wall_minus_monotonic;
            let since_event = wall_ns - i128::from(stamp.event_ms) * 1_000_000;
            // A clock behind the exchange's reads as zero, not as a huge number.
            self.record(
                Span::ExchangeToFrame,
                u64::try_from(since_event).unwrap_or(0),
            );
        }
        let key = (stamp.symbol, stamp.trade_id);
        let mut entry = self.pending.get(&key).copied().unwrap_or_default();
        if entry.at[stamp.stage.index()] != 0 {
            // A second stamp of the same stage (a duplicate frame, a kline delivered again):
            // the first one is the trade's.
            return;
        }
        entry.at[stamp.stage.index()] = stamp.at_ns.max(1);
        for span in Span::ALL {
            let Some((from, to)) = span.stages() else {
                continue;
            };
            if from != stamp.stage && to != stamp.stage {
                continue;
            }
            let (start, end) = (entry.at[from.index()], entry.at[to.index()]);
            if start != 0 && end != 0 {
                self.record(span, end.saturating_sub(start));
            }
        }
        if self.expected.iter().all(|s| entry.at[s.index()] != 0) {
            self.pending.remove(&key);
        } else {
            if self.pending.len() >= MAX_PENDING {
                self.pending.clear();
            }
            self.pending.insert(key, entry);
        }
    }

    /// Marks the trades of the stamp's symbol before it that are updated and not yet delivered
    /// as delivered at the stamp's time.
    fn deliver_earlier(&mut self, stamp: &Stamp) {
        let covered = (stamp.symbol, i64::MIN)..(stamp.symbol, stamp.trade_id);
        let mut done = Vec::new();
        let mut spans = Vec::new();
        for (key, entry) in self.pending.range_mut(covered) {
            let at = &mut entry.at;
            if at[Stage::Updated.index()] == 0 || at[Stage::Delivered.index()] != 0 {
                continue;
            }
            at[Stage::Delivered.index()] = stamp.at_ns.max(1);
            for span in [Span::KlineToConsumer, Span::EndToEnd] {
                if let Some((from, _)) = span.stages()
                    && at[from.index()] != 0
                {
                    spans.push((span, stamp.at_ns.saturating_sub(at[from.index()])));
                }
            }
            if self.expected.iter().all(|s| at[s.index()] != 0) {
                done.push(*key);
            }
        }
        for (span, ns) in spans {
            self.record(span, ns);
        }
        for key in done {
            self.pending.remove(&key);
        }
    }

    /// Trades that passed `passed` and, so far, not `missing`.
    pub fn waiting(&self, passed: Stage, missing: Stage) -> u64 {
        let n = self
            .pending
            .values()
            .filter(|p| p.at[passed.index()] != 0 && p.at[missing.index()] == 0)
            .count();
        n as u64
    }

    fn record(&mut self, span: Span, ns: u64) {
        self.histograms[span.index()].saturating_record(ns.max(1));
    }

    /// The percentiles of `span` so far.
    pub fn summary(&self, span: Span) -> SpanSummary {
        let h = &self.histograms[span.index()];
        if h.is_empty() {
            return SpanSummary::default();
        }
        let sum = h.iter_recorded().fold(0u64, |sum, v| {
            sum.saturating_add(
                h.median_equivalent(v.value_iterated_to())
                    .saturating_mul(v.count_at_value()),
            )
        });
        SpanSummary {
            count: h.len(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            p9999: h.value_at_quantile(0.9999),
            max: h.max(),
            sum,
        }
    }

    /// The latency at each of `quantiles` (0..=1) of `span`, in ns: a percentile curve.
    pub fn curve(&self, span: Span, quantiles: &[f64]) -> Vec<u64> {
        let h = &self.histograms[span.index()];
        quantiles.iter().map(|&q| h.value_at_quantile(q)).collect()
    }

    /// Forgets the recorded latencies (not the trades waiting for stamps): a new window.
    pub fn reset(&mut self) {
        for h in &mut self.histograms {
            h.reset();
        }
    }

    /// The latencies recorded since the last window (without the trades waiting for stamps),
    /// and a new window.
    pub fn take_window(&mut self) -> Latencies {
        let window = Latencies {
            histograms: self.histograms.clone(),
            pending: BTreeMap::new(),
            expected: self.expected.clone(),
            wall_minus_monotonic: self.wall_minus_monotonic,
        };
        self.reset();
        window
    }

    /// Adds every latency recorded in `other`.
    pub fn merge(&mut self, other: &Latencies) {
        for (mine, theirs) in self.histograms.iter_mut().zip(&other.histograms) {
            // Both have the same bounds, so adding cannot fail.
            let _ = mine.add(theirs);
        }
    }
}

/// 1 ns to one hour at 3 significant digits: about 0.1% error at any latency.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equal within the histogram's 3 significant digits.
    fn assert_close(got: u64, want: u64) {
        assert!(got.abs_diff(want) * 1_000 <= want, "{got} vs {want}");
    }

    #[test]
    fn joins_stamps_in_any_order_into_spans() {
        let mut l = Latencies::new(&[Stage::FrameRead, Stage::Pushed, Stage::Updated]);
        l.add(&Stamp::new(Stage::FrameRead, 1, 10, 1_000));
        l.add(&Stamp::new(Stage::Updated, 1, 10, 4_000));
        l.add(&Stamp::new(Stage::Pushed, 1, 10, 1_500));
        l.add(&Stamp::new(Stage::Updated, 2, 10, 9_000));
        assert_eq!(l.summary(Span::FrameToPush).count, 1);
        assert_close(l.summary(Span::FrameToPush).p50, 500);
        assert_close(l.summary(Span::PushToKline).max, 2_500);
        assert_close(l.summary(Span::FrameToKline).p99, 3_000);
        assert_eq!(l.summary(Span::EndToEnd).count, 0);
        assert_eq!(l.pending.len(), 1, "symbol 2 still waits for its read");
        let window = l.take_window();
        assert_eq!(window.summary(Span::FrameToPush).count, 1);
        assert_eq!(l.summary(Span::FrameToKline), SpanSummary::default());
    }

    #[test]
    fn a_delivery_delivers_the_earlier_updated_trades_of_its_symbol() {
        let all = [Stage::SimWrite, Stage::Updated, Stage::Delivered];
        let mut l = Latencies::new(&all);
        for id in [1, 2, 3] {
            l.add(&Stamp::new(Stage::SimWrite, 0, id, 100 * id as u64));
            l.add(&Stamp::new(Stage::SimWrite, 1, id, 100 * id as u64));
        }
        l.add(&Stamp::new(Stage::Updated, 0, 1, 1_000));
        l.add(&Stamp::new(Stage::Updated, 0, 2, 1_100));
        l.add(&Stamp::new(Stage::Updated, 1, 1, 1_100));
        l.add(&Stamp::new(Stage::Delivered, 0, 2, 2_000));
        assert_eq!(l.summary(Span::KlineToConsumer).count, 2);
        assert_close(l.summary(Span::KlineToConsumer).max, 1_000);
        assert_close(l.summary(Span::EndToEnd).max, 1_900);
        assert_eq!(l.waiting(Stage::SimWrite, Stage::Delivered), 4);
        assert_eq!(l.waiting(Stage::SimWrite, Stage::Updated), 3);
    }

    #[test]
    fn percentiles_are_within_a_tenth_of_a_percent() {
        let mut l = Latencies::new(&[Stage::SimWrite, Stage::Delivered]);
        for i in 1..=10_000u64 {
            l.add(&Stamp::new(Stage::SimWrite, 0, i as i64, 1_000_000));
            l.add(&Stamp::new(
                Stage::Delivered,
                0,
                i as i64,
                1_000_000 + i * 1_000,
            ));
        }
        let s = l.summary(Span::EndToEnd);
        assert_eq!(s.count, 10_000);
        assert_close(s.p50, 5_000_000);
        assert_close(s.p99, 9_900_000);
        assert_close(s.max, 10_000_000);
        assert!(l.pending.is_empty());
    }

    #[test]
    fn exchange_time_is_compared_on_the_wall_clock() {
        let mut l = Latencies::new(&[Stage::FrameRead]);
        let now_ms = crate::pipeline::now_ms();
        l.add(&Stamp {
            event_ms: now_ms - 50,
            ..Stamp::new(Stage::FrameRead, 0, 1, monotonic_ns())
        });
        // The wall clock may be slewed or stepped against the monotonic one by NTP (a loaded
        // VM has shown 12 ms): the bounds only tell a wall-clock comparison (about 50 ms)
        // from a comparison with the monotonic clock (years off).
        let ms = l.summary(Span::ExchangeToFrame).p50 / 1_000_000;
        assert!((20..500).contains(&ms), "{ms} ms");
    }
}
