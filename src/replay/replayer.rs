//! The live aggregator driven offline: trades go into one shard, and its deltas are pulled, as
//! any live consumer would, straight into the kline files.
//!
//! Using the real shard and delta protocol (rather than a replay-only kline builder) is the
//! point: parity with Binance's files then vouches for the code that runs live.

use std::time::Duration;

use crossbeam_channel::Receiver;

use crate::aggregator::{
    DeltaConsumer, Shard, ShardConfig, ShardRequest, ShardStats, TradeOutcome,
};
use crate::interval::Interval;
use crate::kline::Kline;
use crate::trade::AggTradePayload;

use super::error::ReplayError;
use super::kline_csv::KlineCsvWriter;

/// Pull after this many trades, so closed klines are written as the replay goes.
const PULL_EVERY_TRADES: u64 = 10_000;

/// Also pull once this many klines closed since the last pull: a trade after a long silence
/// closes one empty kline per skipped period (86,400 a day at `1s`).
const PULL_EVERY_CLOSED: u64 = 100_000;

/// Closed klines the shard may hold between pulls. Far above what the two triggers above let
/// accumulate, except after a silence of weeks at `1s`; running past it is reported, never
/// silent (see [`Replayer::pull`]).
const MAX_BACKLOG: usize = 4_000_000;

/// One shard of a single symbol (index 0) and its kline files, one per interval.
pub struct Replayer {
    shard: Shard,
    consumer: DeltaConsumer,
    requests: Receiver<ShardRequest>,
    writers: Vec<KlineCsvWriter>,
    /// Latest state of each interval's open kline, from the pulls' `open` lists.
    open: Vec<Option<Kline>>,
    trades_since_pull: u64,
    closed_at_pull: u64,
}

impl Replayer {
    /// A shard for `intervals`, writing interval `i` to `writers[i]`.
    pub fn new(intervals: Vec<Interval>, writers: Vec<KlineCsvWriter>) -> Replayer {
        debug_assert_eq!(intervals.len(), writers.len());
        let mut config = ShardConfig::new(intervals, 1);
        config.max_backlog = MAX_BACKLOG;
        // ReplayOptions::validate has checked the interval count, the only way this can fail.
        let mut shard = Shard::new(config).expect("validated shard config");
        let (request_tx, requests) = crossbeam_channel::bounded(4);
        let consumer = DeltaConsumer::new(shard.register_consumer(), request_tx);
        let open = vec![None; writers.len()];
        Replayer {
            shard,
            consumer,
            requests,
            writers,
            open,
            trades_since_pull: 0,
            closed_at_pull: 0,
        }
    }

    /// Applies one trade (its symbol must be 0) and writes whatever klines it closed once
    /// enough have piled up.
    #[inline]
    pub fn apply(&mut self, trade: &AggTradePayload) -> Result<TradeOutcome, ReplayError> {
        let outcome = self.shard.process_trade(trade);
        self.trades_since_pull += 1;
        if self.trades_since_pull >= PULL_EVERY_TRADES
            || self.shard.stats().klines_closed - self.closed_at_pull >= PULL_EVERY_CLOSED
        {
            self.pull()?;
        }
        Ok(outcome)
    }

    /// The shard's counters so far.
    pub fn stats(&self) -> &ShardStats {
        self.shard.stats()
    }

    /// Writes every remaining kline, the still-open ones last, and returns the final
    /// counters and the rows written per interval.
    pub fn finish(mut self) -> Result<(ShardStats, Vec<u64>), ReplayError> {
        self.pull()?;
        let stats = *self.shard.stats();
        let mut rows = Vec::with_capacity(self.writers.len());
        for (writer, open) in self.writers.into_iter().zip(&self.open) {
            rows.push(writer.finish(open.as_ref())?);
        }
        Ok((stats, rows))
    }

    /// One delta pull, served on this thread: request, let the shard answer, take the answer.
    fn pull(&mut self) -> Result<(), ReplayError> {
        let internal =
            |what: &str, e: &dyn std::fmt::Display| ReplayError::Internal(format!("{what}: {e}"));
        self.consumer
            .request()
            .map_err(|e| internal("pull request", &e))?;
        self.shard.serve_requests(&self.requests);
        let delta = self
            .consumer
            .receive(Duration::ZERO)
            .map_err(|e| internal("pull reply", &e))?;
        if delta.missed_closed > 0 {
            return Err(ReplayError::Internal(format!(
                "{} closed klines were dropped by the shard's backlog bound ({MAX_BACKLOG}) between two pulls",
                delta.missed_closed
            )));
        }
        for record in &delta.closed {
            let writer = self
                .writers
                .get_mut(usize::from(record.interval))
                .filter(|_| record.symbol == 0);
            let Some(writer) = writer else {
                return Err(ReplayError::Internal(format!(
                    "closed kline of unknown slot {record:?}"
                )));
            };
            writer.closed(&record.kline, record.correction)?;
        }
        for record in &delta.open {
            match self.open.get_mut(usize::from(record.interval)) {
                Some(slot) if record.symbol == 0 => *slot = Some(record.kline),
                _ => {
                    return Err(ReplayError::Internal(format!(
                        "open kline of unknown slot {record:?}"
                    )));
                }
            }
        }
        self.consumer.recycle(delta);
        self.trades_since_pull = 0;
        self.closed_at_pull = self.shard.stats().klines_closed;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(agg_id: i64, time: i64, price: i64) -> AggTradePayload {
        AggTradePayload {
            agg_id,
            first_trade_id: agg_id,
            last_trade_id: agg_id,
            trade_time_ms: time,
            event_time_ms: time,
            price,
            quantity: 100_000_000,
            ..Default::default()
        }
    }

    #[test]
    fn empty_periods_are_written_and_the_open_kline_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("X-1m.csv");
        let writers = vec![KlineCsvWriter::create(&path).unwrap()];
        let mut r = Replayer::new(vec![Interval::parse("1m").unwrap()], writers);
        assert_eq!(
            r.apply(&trade(1, 60_001, 100)).unwrap(),
            TradeOutcome::Applied
        );
        assert_eq!(
            r.apply(&trade(2, 240_000, 200)).unwrap(),
            TradeOutcome::Applied
        );
        assert_eq!(
            r.apply(&trade(2, 240_000, 200)).unwrap(),
            TradeOutcome::Duplicate
        );
        let (stats, rows) = r.finish().unwrap();
        assert_eq!(
            (stats.trades, stats.duplicates, stats.empty_klines),
            (2, 1, 2)
        );
        assert_eq!(rows, [4]);
        let text = std::fs::read_to_string(&path).unwrap();
        let opens: Vec<(&str, &str)> = text
            .lines()
            .map(|l| {
                let mut f = l.split(',');
                (f.next().unwrap(), f.nth(3).unwrap())
            })
            .collect();
        assert_eq!(
            opens,
            [
                ("60000", "0.00000100"),
                ("120000", "0.00000100"),
                ("180000", "0.00000100"),
                ("240000", "0.00000200")
            ]
        );
    }

    #[test]
    fn many_trades_are_pulled_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("X-1s.csv");
        let mut r = Replayer::new(
            vec![Interval::parse("1s").unwrap()],
            vec![KlineCsvWriter::create(&path).unwrap()],
        );
        for i in 0..25_000 {
            r.apply(&trade(i + 1, i * 1_000, 100)).unwrap();
        }
        let (stats, rows) = r.finish().unwrap();
        assert_eq!((stats.trades, rows[0]), (25_000, 25_000));
    }
}
