//! Exact warm start, the REST side: which klines of a finer interval make up, for every
//! interval, the part of its open period that is already over, and what they add up to.
//!
//! Every standard interval's periods start on a whole day (1d, 3d, 1w, 1M), hour (1h to 12h) or
//! minute (1m to 30m), so the part of an open period before the current minute is whole days,
//! then whole hours, then whole minutes: at most about 31 + 24 + 60 REST klines per symbol for
//! all intervals at once. Trades from that minute on come from REST aggTrades.

use crate::interval::Interval;
use crate::kline::Kline;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// How far back the warm start's boundary sits: the exchange's REST klines take a moment to
/// include a minute that just ended.
const SETTLE_MS: i64 = 5_000;

/// One range of REST klines to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KlineRange {
    /// Interval as the REST API spells it: `1d`, `1h` or `1m`.
    pub interval: &'static str,
    /// Open time of the first kline.
    pub start_ms: i64,
    /// Open time past the last kline.
    pub end_ms: i64,
}

impl KlineRange {
    fn step_ms(&self) -> i64 {
        match self.interval {
            "1d" => DAY_MS,
            "1h" => HOUR_MS,
            _ => MINUTE_MS,
        }
    }

    /// How many klines the range holds.
    pub fn len(&self) -> usize {
        usize::try_from((self.end_ms - self.start_ms) / self.step_ms()).unwrap_or(0)
    }

    /// True when the range holds no kline.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a symbol's warm start fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmPlan {
    /// The minute from which trades come from REST aggTrades; everything before it in an open
    /// period comes from REST klines.
    pub from_ms: i64,
    /// The klines to fetch, coarsest first; the minutes always include the one before
    /// `from_ms`, whose close is the price an empty period carries.
    pub ranges: Vec<KlineRange>,
}

/// The plan for `intervals` at wall-clock time `now_ms`.
pub fn plan(intervals: &[Interval], now_ms: i64) -> WarmPlan {
    let from_ms = (now_ms - SETTLE_MS).div_euclid(MINUTE_MS) * MINUTE_MS;
    let earliest = intervals
        .iter()
        .map(|i| i.open_time(from_ms))
        .min()
        .unwrap_or(from_ms);
    let day = from_ms.div_euclid(DAY_MS) * DAY_MS;
    let hour = from_ms.div_euclid(HOUR_MS) * HOUR_MS;
    let mut ranges = Vec::new();
    if earliest < day {
        ranges.push(KlineRange {
            interval: "1d",
            start_ms: earliest,
            end_ms: day,
        });
    }
    if earliest.max(day) < hour {
        ranges.push(KlineRange {
            interval: "1h",
            start_ms: earliest.max(day),
            end_ms: hour,
        });
    }
    ranges.push(KlineRange {
        interval: "1m",
        start_ms: earliest.max(hour).min(from_ms - MINUTE_MS),
        end_ms: from_ms,
    });
    WarmPlan { from_ms, ranges }
}

/// Every interval's open kline as it stood at `plan.from_ms`, from the klines fetched for
/// `plan.ranges` (`fetched[i]` for range `i`). Their trade ids are left at -1: REST klines do
/// not carry them.
///
/// # Errors
///
/// A range whose klines are not the ones asked for, consecutive up to its end (the exchange
/// has not published a minute yet, or a kline is missing), naming it. Klines missing at the
/// start of a range are fine: the symbol was not listed yet.
pub fn open_klines(
    intervals: &[Interval],
    plan: &WarmPlan,
    fetched: &[Vec<Kline>],
) -> Result<Vec<Kline>, String> {
    for (range, klines) in plan.ranges.iter().zip(fetched) {
        // A symbol listed after the range began has no klines before its first trade.
        let skipped = range.len().saturating_sub(klines.len()) as i64;
        let first = range.start_ms + skipped * range.step_ms();
        let expected = (0..klines.len() as i64).map(|i| first + i * range.step_ms());
        let exact = klines.len() <= range.len() && expected.eq(klines.iter().map(|k| k.open_time));
        let minutes_missing =
            klines.is_empty() && range.interval == "1m" && !fetched.iter().all(Vec::is_empty);
        if !exact || minutes_missing {
            return Err(format!(
                "REST {} klines from {} to {}: expected {}, got {}",
                range.interval,
                range.start_ms,
                range.end_ms,
                range.len(),
                klines.len()
            ));
        }
    }
    if fetched.iter().all(Vec::is_empty) {
        // No trade before `from_ms` at all (a symbol that has just begun): nothing to start
        // from, its trades from `from_ms` on open its klines.
        let never = Kline::empty(i64::MIN, i64::MIN, 0);
        return Ok(vec![never; intervals.len()]);
    }
    let carried = fetched
        .last()
        .and_then(|minutes| minutes.last())
        .map_or(0, |k| k.close);
    Ok(intervals
        .iter()
        .map(|interval| {
            let open = interval.open_time(plan.from_ms);
            let mut kline = Kline::empty(open, interval.close_time(open), carried);
            // Coarsest first, so whole days come before hours and hours before minutes.
            let mut covered = open;
            for (range, klines) in plan.ranges.iter().zip(fetched) {
                for part in klines.iter().filter(|k| k.open_time >= covered) {
                    if part.open_time >= range.end_ms {
                        break;
                    }
                    append(&mut kline, part);
                }
                covered = covered.max(range.end_ms);
            }
            kline
        })
        .collect())
}

/// Adds a later part of the same period to `kline`. An empty part adds nothing: a period
/// without any trade so far carries the close before it, which is the close of the minute
/// before `from_ms` too, the price it was made with.
fn append(kline: &mut Kline, part: &Kline) {
    if part.count == 0 {
        return;
    }
    if kline.count == 0 {
        kline.open = part.open;
        kline.high = part.high;
        kline.low = part.low;
    } else {
        kline.high = kline.high.max(part.high);
        kline.low = kline.low.min(part.low);
    }
    kline.close = part.close;
    kline.volume += part.volume;
    kline.quote_volume += part.quote_volume;
    kline.taker_buy_volume += part.taker_buy_volume;
    kline.taker_buy_quote_volume += part.taker_buy_quote_volume;
    kline.count += part.count;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-03-13T14:27:41Z, a Wednesday.
    const NOW: i64 = 1_710_340_061_000;

    #[test]
    fn days_then_hours_then_minutes_back_to_the_earliest_open_period() {
        let intervals = Interval::parse_list("1m,1h,4h,1d,1M").unwrap();
        let p = plan(&intervals, NOW);
        let minute = 1_710_340_020_000; // 14:27:00
        assert_eq!(p.from_ms, minute);
        let march = 1_709_251_200_000;
        let day = 1_710_288_000_000; // 13 March 00:00
        let hour = 1_710_338_400_000; // 14:00
        assert_eq!(
            p.ranges,
            vec![
                KlineRange {
                    interval: "1d",
                    start_ms: march,
                    end_ms: day
                },
                KlineRange {
                    interval: "1h",
                    start_ms: day,
                    end_ms: hour
                },
                KlineRange {
                    interval: "1m",
                    start_ms: hour,
                    end_ms: minute
                },
            ]
        );
        assert_eq!(
            p.ranges.iter().map(KlineRange::len).collect::<Vec<_>>(),
            [12, 14, 27]
        );
        // A symbol with no trade before the minute starts from nothing.
        let none = vec![Vec::new(); p.ranges.len()];
        let open = open_klines(&intervals, &p, &none).unwrap();
        assert!(open.iter().all(|k| k.open_time == i64::MIN && k.count == 0));
        // Only 1m: the minute before, for the price an empty period carries.
        let p = plan(&Interval::parse_list("1s,1m").unwrap(), NOW);
        assert_eq!(
            p.ranges,
            vec![KlineRange {
                interval: "1m",
                start_ms: minute - 60_000,
                end_ms: minute
            }]
        );
    }
}
