//! The server's own exact klines, for `/fapi/v1/klines`: a klagg [`Shard`] fed every published
//! trade, whose closed klines are pulled into per-(symbol, interval) series.
//!
//! Using the engine's own aggregator here is deliberate: the engine is tested against the
//! simulator's recorded trades rebuilt independently, so REST klines only need to be right, and
//! the shard is the code in this crate that is tested hardest for exactly that.

use std::collections::VecDeque;
use std::time::Duration;

use crossbeam_channel::Receiver;

use crate::aggregator::{DeltaConsumer, Shard, ShardConfig, ShardConfigError, ShardRequest};
use crate::interval::Interval;
use crate::kline::Kline;
use crate::trade::AggTradePayload;

/// Closed klines kept per (symbol, interval); older ones are forgotten. At this bound a 1s
/// series covers ~2.8 hours, which keeps a long demo's memory flat.
const KLINES_PER_SERIES: usize = 10_000;
/// Trades between two pulls of closed klines; the shard keeps them meanwhile.
const PULL_EVERY_TRADES: u32 = 4_096;

/// Which klines a `/fapi/v1/klines` request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KlineQuery {
    /// Index into the served intervals.
    pub(crate) interval: usize,
    /// Klines opening at or after this time (ms).
    pub(crate) start_time: Option<i64>,
    /// Klines opening at or before this time (ms).
    pub(crate) end_time: Option<i64>,
    /// Most klines to return.
    pub(crate) limit: usize,
}

/// Every kline of every symbol and served interval.
#[derive(Debug)]
pub(crate) struct KlineBook {
    shard: Shard,
    requests: Receiver<ShardRequest>,
    consumer: DeltaConsumer,
    n_intervals: usize,
    /// Closed klines, indexed `symbol * n_intervals + interval`, oldest first.
    closed: Vec<VecDeque<Kline>>,
    since_pull: u32,
}

impl KlineBook {
    /// A book for `n_symbols` symbols and `intervals`.
    pub(crate) fn new(
        intervals: Vec<Interval>,
        n_symbols: usize,
    ) -> Result<KlineBook, ShardConfigError> {
        let n_intervals = intervals.len();
        // A shard needs room for at least one symbol even when the server has none.
        let max_symbols = u32::try_from(n_symbols.max(1)).unwrap_or(u32::MAX);
        let mut shard = Shard::new(ShardConfig::new(intervals, max_symbols))?;
        let (sender, requests) = crossbeam_channel::bounded(1);
        let consumer = DeltaConsumer::new(shard.register_consumer(), sender);
        Ok(KlineBook {
            shard,
            requests,
            consumer,
            n_intervals,
            closed: (0..n_symbols * n_intervals)
                .map(|_| VecDeque::new())
                .collect(),
            since_pull: 0,
        })
    }

    /// The intervals served, in query-index order.
    pub(crate) fn intervals(&self) -> &[Interval] {
        self.shard.intervals()
    }

    /// Applies a published trade, and closes periods that ended before its time.
    pub(crate) fn record(&mut self, trade: &AggTradePayload) {
        self.shard.process_trade(trade);
        // The market's clock is its trade times (a replay's are in the past), so that is what
        // closes quiet symbols' periods, never the wall clock.
        self.shard.tick(trade.trade_time_ms);
        self.since_pull += 1;
        if self.since_pull >= PULL_EVERY_TRADES {
            self.pull_closed();
        }
    }

    /// Moves every kline the shard closed since the last pull into its series; a correction
    /// replaces the kline it corrects.
    pub(crate) fn pull_closed(&mut self) {
        self.since_pull = 0;
        if self.consumer.request().is_err() {
            return;
        }
        self.shard.serve_requests(&self.requests);
        // The shard answered synchronously above, so the reply is already there.
        let Ok(delta) = self.consumer.receive(Duration::ZERO) else {
            return;
        };
        for record in &delta.closed {
            let at = record.symbol as usize * self.n_intervals + usize::from(record.interval);
            let Some(series) = self.closed.get_mut(at) else {
                continue;
            };
            if record.correction {
                if let Some(old) = series
                    .iter_mut()
                    .rev()
                    .find(|k| k.open_time == record.kline.open_time)
                {
                    *old = record.kline;
                }
                continue;
            }
            if series.len() == KLINES_PER_SERIES {
                series.pop_front();
            }
            series.push_back(record.kline);
        }
        self.consumer.recycle(delta);
    }

    /// The klines `query` selects for a symbol, oldest first: closed ones and the open one.
    ///
    /// As on Binance: with `startTime` the page starts at the first kline opening at or after
    /// it; without, it is the most recent `limit` klines (up to `endTime` if given).
    pub(crate) fn query(&mut self, symbol: u32, query: &KlineQuery) -> Vec<Kline> {
        self.pull_closed();
        if query.interval >= self.n_intervals {
            return Vec::new();
        }
        let at = symbol as usize * self.n_intervals + query.interval;
        let Some(closed) = self.closed.get(at) else {
            return Vec::new();
        };
        let open = self
            .shard
            .open_kline(symbol, query.interval)
            .filter(|open| {
                closed
                    .back()
                    .is_none_or(|last| last.open_time < open.open_time)
            });
        let mut all: Vec<Kline> = Vec::with_capacity(closed.len() + 1);
        let first = query
            .start_time
            .map_or(0, |start| closed.partition_point(|k| k.open_time < start));
        all.extend(closed.range(first..).copied());
        all.extend(open.filter(|k| query.start_time.is_none_or(|start| k.open_time >= start)));
        if let Some(end) = query.end_time {
            all.truncate(all.partition_point(|k| k.open_time <= end));
        }
        if query.start_time.is_some() {
            all.truncate(query.limit);
        } else {
            all.drain(..all.len().saturating_sub(query.limit));
        }
        all
    }
}
