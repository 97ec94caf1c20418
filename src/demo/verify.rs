//! The demo's self-check: every kline the engine closed must equal the kline rebuilt from the
//! simulator's published trades by a separate shard.

use std::collections::HashMap;

use crate::aggregator::{DeltaConsumer, KlineRecord, Shard, ShardConfig};
use crate::interval::Interval;
use crate::kline::Kline;
use crate::sim::SimTrade;
use crate::trade::AggTradePayload;

/// The outcome of the check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    /// Closed klines compared and found equal.
    pub verified: u64,
    /// Closed klines that differ; the first few are described in `examples`.
    pub mismatches: u64,
    /// Descriptions of the first mismatches.
    pub examples: Vec<String>,
}

/// How many mismatches are described.
const EXAMPLES: usize = 5;

/// Rebuilds klines from `trades` (global symbol index = simulator symbol index) and compares
/// every closed kline of `closed`. A period after a symbol's last trade cannot be rebuilt from
/// trades alone; there the engine's kline must be the empty kline at the rebuilt last close.
pub fn verify(
    intervals: &[Interval],
    symbols: u32,
    trades: &[SimTrade],
    closed: &[KlineRecord],
) -> Verification {
    let rebuilt = rebuild(
        intervals,
        symbols,
        trades.iter().map(|t| t.payload(t.time_ms)),
    );
    let mut last_close: HashMap<(u32, u16), &Kline> = HashMap::new();
    for ((symbol, interval, _), kline) in &rebuilt {
        let entry = last_close.entry((*symbol, *interval)).or_insert(kline);
        if kline.open_time > entry.open_time {
            *entry = kline;
        }
    }
    let mut outcome = Verification::default();
    for record in closed {
        let key = (record.symbol, record.interval, record.kline.open_time);
        let expected = rebuilt.get(&key).copied().or_else(|| {
            let last = last_close.get(&(record.symbol, record.interval))?;
            (record.kline.open_time > last.open_time)
                .then(|| Kline::empty(record.kline.open_time, record.kline.close_time, last.close))
        });
        if expected == Some(record.kline) {
            outcome.verified += 1;
        } else {
            outcome.mismatches += 1;
            if outcome.examples.len() < EXAMPLES {
                outcome.examples.push(format!(
                    "symbol {} interval {} open {}: engine {:?}, rebuilt {:?}",
                    record.symbol,
                    intervals[record.interval as usize],
                    record.kline.open_time,
                    record.kline,
                    expected
                ));
            }
        }
    }
    outcome
}

/// Every kline (closed and open) of `trades` (in agg-id order per symbol) as a shard of its
/// own builds them, by (symbol, interval, open time).
pub fn rebuild(
    intervals: &[Interval],
    symbols: u32,
    trades: impl IntoIterator<Item = AggTradePayload>,
) -> HashMap<(u32, u16, i64), Kline> {
    let mut config = ShardConfig::new(intervals.to_vec(), symbols.max(1));
    config.max_backlog = usize::MAX / 2;
    let Ok(mut shard) = Shard::new(config) else {
        return HashMap::new();
    };
    let (tx, rx) = crossbeam_channel::bounded(1);
    let mut consumer = DeltaConsumer::new(shard.register_consumer(), tx);
    let mut klines = HashMap::new();
    let mut collect = |shard: &mut Shard, consumer: &mut DeltaConsumer| {
        if consumer.request().is_ok() {
            shard.serve_requests(&rx);
        }
        if let Ok(delta) = consumer.receive(std::time::Duration::ZERO) {
            for r in delta.closed.iter().chain(&delta.open) {
                klines.insert((r.symbol, r.interval, r.kline.open_time), r.kline);
            }
            consumer.recycle(delta);
        }
    };
    for (i, t) in trades.into_iter().enumerate() {
        shard.process_trade(&t);
        if i % 50_000 == 49_999 {
            collect(&mut shard, &mut consumer);
        }
    }
    collect(&mut shard, &mut consumer);
    klines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(symbol: u32, agg_id: i64, time_ms: i64, price: i64) -> SimTrade {
        SimTrade {
            symbol,
            agg_id,
            price,
            quantity: 100,
            first_trade_id: agg_id,
            last_trade_id: agg_id,
            time_ms,
            is_buyer_maker: false,
        }
    }

    #[test]
    fn equal_klines_verify_and_a_changed_one_is_a_mismatch() {
        let intervals = vec![Interval::parse("1m").unwrap()];
        let t0 = 1_704_067_200_000;
        let trades = [
            trade(0, 1, t0 + 5, 10),
            trade(0, 2, t0 + 60_000, 11),
            trade(0, 3, t0 + 60_001, 12),
        ];
        let rebuilt = rebuild(&intervals, 1, trades.iter().map(|t| t.payload(t.time_ms)));
        let first = rebuilt[&(0, 0, t0)];
        let record = |kline| KlineRecord {
            symbol: 0,
            interval: 0,
            correction: false,
            kline,
        };
        // A quiet period after the last trade closes empty at the last close.
        let quiet = Kline::empty(t0 + 120_000, t0 + 179_999, 12);
        let ok = verify(&intervals, 1, &trades, &[record(first), record(quiet)]);
        assert_eq!((ok.verified, ok.mismatches), (2, 0));
        let mut wrong = first;
        wrong.volume += 1;
        let bad = verify(
            &intervals,
            1,
            &trades,
            &[
                record(wrong),
                record(Kline::empty(t0 + 120_000, t0 + 179_999, 99)),
            ],
        );
        assert_eq!((bad.verified, bad.mismatches), (0, 2));
        assert_eq!(bad.examples.len(), 2);
    }
}
