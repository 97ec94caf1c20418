//! Tail checks, the decision: from a shard's view of a symbol's tail, whether to ask the
//! exchange's REST klines (which interval, from which period), and from their trade counts
//! whether the shard lost trades at the tail.
//!
//! REST klines are the cheap question (USD-M weight 1 for a page under 100 rows, against 20
//! for a page of `aggTrades`), and their `count` says whether the exchange has more trades in
//! the period of the symbol's last trade, or any after it.

use crate::aggregator::Tail;
use crate::config::Market;
use crate::interval::Interval;
use crate::kline::Kline;

use super::KLINES_LIMIT;

/// A symbol that may have traded this recently is not checked yet: if it trades on, its next
/// live trade shows any gap the ordinary way, and its REST klines may hold trades still on
/// their way to the shard.
pub const QUIET_MS: i64 = 2_000;

/// When to look again at a symbol whose gap or warm start is under way.
const BUSY_RETRY_MS: i64 = 3_000;

/// Which of the engine's intervals a tail check can ask the exchange about.
#[derive(Debug, Clone)]
pub struct TailPlan {
    /// The engine's intervals, in the shards' order.
    intervals: Vec<Interval>,
    /// Indices into `intervals` of those the market's REST klines serve, finest first.
    served: Vec<usize>,
}

/// What to do about one symbol's tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Ask the exchange's REST klines.
    Compare(KlineCheck),
    /// Look again at this time (ms since the epoch): the symbol may have traded within
    /// [`QUIET_MS`], or a gap or warm start of it is under way.
    Later(i64),
    /// Nothing to check, for this reason.
    Skip(&'static str),
}

/// One REST klines question about a symbol's tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KlineCheck {
    /// The shard's last agg id of the symbol.
    pub last_agg_id: i64,
    /// The interval asked about.
    pub interval: Interval,
    /// The shard's kline of that interval holding the symbol's last trade: the page starts
    /// at its open time.
    pub shard: Kline,
    /// When the shard answered (ms): klines opening later, and trades made later, are the
    /// live stream's business.
    pub until_ms: i64,
}

impl TailPlan {
    /// The plan for an engine keeping `intervals` on `market`.
    ///
    /// # Errors
    ///
    /// Why tail checks cannot work: no interval is one the market's REST klines serve.
    pub fn new(market: Market, intervals: &[Interval]) -> Result<TailPlan, String> {
        let second = Interval::standard()[0];
        let mut served: Vec<usize> = (0..intervals.len())
            .filter(|&i| Interval::standard().contains(&intervals[i]))
            .filter(|&i| !(market == Market::Usdm && intervals[i] == second))
            .collect();
        served.sort_by_key(|&i| intervals[i].fixed_len_ms().unwrap_or(i64::MAX));
        if served.is_empty() {
            let listed: Vec<String> = intervals.iter().map(ToString::to_string).collect();
            return Err(format!(
                "none of the intervals [{}] is served by {market} REST klines ({}; custom \
                 intervals never), which tell whether a quiet symbol lost its last trades",
                listed.join(", "),
                match market {
                    Market::Usdm => "1m to 1M",
                    Market::Spot => "1s to 1M",
                }
            ));
        }
        Ok(TailPlan {
            intervals: intervals.to_vec(),
            served,
        })
    }

    /// What to do about a symbol whose tail stands as `tail` in its shard at `now_ms`.
    pub fn judge(&self, tail: &Tail, now_ms: i64) -> Verdict {
        let (last_agg_id, klines) = match tail {
            Tail::NeverTraded => return Verdict::Skip("never traded"),
            Tail::Busy => return Verdict::Later(now_ms + BUSY_RETRY_MS),
            Tail::Traded {
                last_agg_id,
                klines,
            } => (*last_agg_id, klines),
        };
        if klines.len() != self.intervals.len() {
            return Verdict::Skip("the shard's intervals are not the backfill's");
        }
        // The last trade lies in every interval's kline, so no later than the earliest end.
        let traded_by = klines
            .iter()
            .map(|k| k.close_time)
            .min()
            .unwrap_or(i64::MAX);
        if traded_by.saturating_add(QUIET_MS) >= now_ms {
            return Verdict::Later(traded_by.saturating_add(QUIET_MS + 1));
        }
        self.served
            .iter()
            .find(|&&i| periods(self.intervals[i], klines[i].open_time, now_ms) <= KLINES_LIMIT)
            .map_or(
                Verdict::Skip("quiet for longer than a page of REST klines covers"),
                |&i| {
                    Verdict::Compare(KlineCheck {
                        last_agg_id,
                        interval: self.intervals[i],
                        shard: klines[i],
                        until_ms: now_ms,
                    })
                },
            )
    }
}

/// How many periods of `interval` there are from the one opening at `open_ms` to the one
/// holding `now_ms`, both included; counting stops past [`KLINES_LIMIT`].
fn periods(interval: Interval, open_ms: i64, now_ms: i64) -> u32 {
    let mut count = 1;
    let mut open = open_ms;
    while count <= KLINES_LIMIT && interval.close_time(open) < now_ms {
        open = interval.next_open(open);
        count += 1;
    }
    count
}

/// Whether the exchange's `rest` klines (from the check's period on) hold trades the shard
/// does not: more in the period of its last trade, or any in a later one.
pub fn loss_suspected(check: &KlineCheck, rest: &[Kline]) -> bool {
    let open = check.shard.open_time;
    rest.iter().any(|k| {
        (k.open_time == open && k.count > check.shard.count) || (k.open_time > open && k.count > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    /// A Monday, 00:00 UTC.
    const T0: i64 = 1_699_833_600_000;

    fn intervals(list: &str) -> Vec<Interval> {
        Interval::parse_list(list).unwrap()
    }

    /// The klines holding a last trade at `at` (count 3 in each), for `list`.
    fn traded_at(list: &str, at: i64) -> Tail {
        Tail::Traded {
            last_agg_id: 41,
            klines: intervals(list)
                .iter()
                .map(|i| Kline {
                    count: 3,
                    ..Kline::empty(i.open_time(at), i.close_time(i.open_time(at)), 5)
                })
                .collect(),
        }
    }

    fn compared(verdict: Verdict) -> KlineCheck {
        match verdict {
            Verdict::Compare(check) => check,
            other => panic!("expected a comparison, got {other:?}"),
        }
    }

    #[test]
    fn the_finest_interval_the_market_serves_is_asked() {
        let all = "1s,1m,5m,1h";
        let usdm = TailPlan::new(Market::Usdm, &intervals(all)).unwrap();
        let check = compared(usdm.judge(&traded_at(all, T0 + 30_000), T0 + 90_000));
        assert_eq!(
            check.interval.to_string(),
            "1m",
            "USD-M serves no 1s klines"
        );
        assert_eq!((check.shard.open_time, check.last_agg_id), (T0, 41));
        assert_eq!(check.until_ms, T0 + 90_000);
        let spot = TailPlan::new(Market::Spot, &intervals(all)).unwrap();
        let check = compared(spot.judge(&traded_at(all, T0 + 30_000), T0 + 90_000));
        assert_eq!(check.interval.to_string(), "1s");
        // 60 seconds from the last trade's to now fit a page; 120 do not.
        let check = compared(spot.judge(&traded_at(all, T0), T0 + 98_999));
        assert_eq!(check.interval.to_string(), "1s");
        let check = compared(spot.judge(&traded_at(all, T0), T0 + 99_000));
        assert_eq!(check.interval.to_string(), "1m");
    }

    #[test]
    fn a_long_quiet_symbol_is_asked_about_a_coarser_interval_or_not_at_all() {
        let list = "1m,1h";
        let plan = TailPlan::new(Market::Usdm, &intervals(list)).unwrap();
        let check = compared(plan.judge(&traded_at(list, T0), T0 + 98 * MINUTE + 5_000));
        assert_eq!(check.interval.to_string(), "1m");
        let check = compared(plan.judge(&traded_at(list, T0), T0 + 99 * MINUTE + 5_000));
        assert_eq!(check.interval.to_string(), "1h");
        assert!(matches!(
            plan.judge(&traded_at(list, T0), T0 + 99 * 60 * MINUTE),
            Verdict::Skip(_)
        ));
    }

    #[test]
    fn recent_busy_and_untraded_symbols_are_not_asked_about() {
        let list = "1s,1m";
        let plan = TailPlan::new(Market::Usdm, &intervals(list)).unwrap();
        // Last trade in the second T0 + 10 s: it may have been at T0 + 10.999 s.
        let tail = traded_at(list, T0 + 10_400);
        assert_eq!(plan.judge(&tail, T0 + 12_999), Verdict::Later(T0 + 13_000));
        assert!(matches!(
            plan.judge(&tail, T0 + 13_000),
            Verdict::Compare(_)
        ));
        // With minutes only, the trade may have been at the minute's end.
        let minutes = TailPlan::new(Market::Usdm, &intervals("1m")).unwrap();
        assert_eq!(
            minutes.judge(&traded_at("1m", T0 + 10_400), T0 + 20_000),
            Verdict::Later(T0 + MINUTE + 2_000)
        );
        assert_eq!(plan.judge(&Tail::Busy, T0), Verdict::Later(T0 + 3_000));
        assert!(matches!(
            plan.judge(&Tail::NeverTraded, T0),
            Verdict::Skip(_)
        ));
    }

    #[test]
    fn no_served_interval_turns_tail_checks_off() {
        let why = TailPlan::new(Market::Usdm, &intervals("1s,10s,7m")).unwrap_err();
        assert!(
            why.contains("[1s, 10s, 7m]") && why.contains("1m to 1M"),
            "{why}"
        );
        assert!(TailPlan::new(Market::Spot, &intervals("1s,10s")).is_ok());
    }

    #[test]
    fn more_trades_in_the_last_period_or_any_after_it_are_a_loss() {
        let plan = TailPlan::new(Market::Usdm, &intervals("1m")).unwrap();
        let check = compared(plan.judge(&traded_at("1m", T0 + 10_000), T0 + 3 * MINUTE));
        let rest = |counts: [i64; 4]| -> Vec<Kline> {
            (0..4)
                .map(|i| Kline {
                    count: counts[i as usize],
                    ..Kline::empty(T0 + i * MINUTE, T0 + (i + 1) * MINUTE - 1, 5)
                })
                .collect()
        };
        assert!(!loss_suspected(&check, &rest([3, 0, 0, 0])));
        assert!(!loss_suspected(&check, &rest([2, 0, 0, 0])), "REST behind");
        assert!(loss_suspected(&check, &rest([4, 0, 0, 0])));
        assert!(loss_suspected(&check, &rest([3, 0, 0, 1])));
        assert!(!loss_suspected(&check, &[]));
    }
}
