//! The simulator's side of latency measurement: when each trade was handed to its connections.

use super::SimTrade;
use crate::latency::{Sampling, Stage, Stamp, StampFile, monotonic_ns};

/// Write stamps of the trades [`Sampling`] picks, into a buffer reserved up front so that
/// stamping never allocates while the market runs; past its capacity stamps are counted as
/// dropped.
#[derive(Debug, Default)]
pub struct WriteStamps {
    sampling: Option<Sampling>,
    stamps: Vec<Stamp>,
    dropped: u64,
    sent: u64,
}

impl WriteStamps {
    /// Room for `capacity` stamps of the trades `sampling` picks.
    pub fn new(sampling: Sampling, capacity: usize) -> WriteStamps {
        WriteStamps {
            sampling: Some(sampling),
            stamps: Vec::with_capacity(capacity),
            dropped: 0,
            sent: 0,
        }
    }

    /// Notes that `trade` was just handed to at least one connection, with this event time.
    #[inline]
    pub fn sent(&mut self, trade: &SimTrade, event_ms: i64) {
        self.sent += 1;
        if !self.sampling.is_some_and(|s| s.picks(trade.last_trade_id)) {
            return;
        }
        if self.stamps.len() == self.stamps.capacity() {
            self.dropped += 1;
            return;
        }
        self.stamps.push(Stamp {
            stage: Stage::SimWrite,
            symbol: trade.symbol,
            trade_id: trade.last_trade_id,
            at_ns: monotonic_ns(),
            event_ms,
        });
    }

    /// Trades sent to at least one connection so far, stamped or not.
    pub fn sent_count(&self) -> u64 {
        self.sent
    }

    /// The stamp file, with `names[i]` the name of symbol index `i`.
    pub fn into_file(self, names: Vec<String>) -> StampFile {
        StampFile {
            names,
            stamps: self.stamps,
            dropped: self.dropped,
            trades: self.sent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_picked_trades_until_full_and_counts_every_sent_one() {
        let mut w = WriteStamps::new(Sampling::one_in(2), 1);
        for id in 1..=5 {
            let trade = SimTrade {
                symbol: 0,
                agg_id: id,
                price: 1,
                quantity: 1,
                first_trade_id: id,
                last_trade_id: id,
                time_ms: 0,
                is_buyer_maker: false,
            };
            w.sent(&trade, 7);
        }
        let file = w.into_file(vec!["BTCUSDT".into()]);
        assert_eq!((file.trades, file.stamps.len(), file.dropped), (5, 1, 1));
        assert_eq!(file.stamps[0].trade_id, 2);
        assert_eq!(file.stamps[0].event_ms, 7);
    }
}
