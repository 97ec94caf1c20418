//! What a change to one symbol's klines reaches beyond the symbol: the delta log its closed
//! klines go to, the counters, and the epoch and clock the change happens at.

use super::delta_log::DeltaLog;
use super::protocol::KlineRecord;
use super::stats::ShardStats;
use crate::kline::Kline;

/// Borrowed for one change (a trade, a tick, a rebuild) of one symbol.
#[derive(Debug)]
pub(crate) struct Effects<'a> {
    pub(crate) log: &'a mut DeltaLog,
    pub(crate) stats: &'a mut ShardStats,
    /// Epoch to stamp changes with.
    pub(crate) epoch: u64,
    /// The shard's clock: the newest tick or trade time.
    pub(crate) now_ms: i64,
    /// How long after a period ends the clock closes it; late trades get one more.
    pub(crate) grace_ms: i64,
    /// True while a symbol is rebuilt: the klines it closes were closed before, so they go out
    /// as corrections.
    pub(crate) rebuilding: bool,
}

impl Effects<'_> {
    /// Counts a closed kline of configured interval `interval` (none for a leaf no interval
    /// publishes) and hands it to the consumers. `held_empty`: the symbol waits for a gap's
    /// trades, which may belong in this period, so an empty kline is not closed yet (the gap's
    /// replay closes it).
    #[inline]
    pub(crate) fn closed(
        &mut self,
        symbol: u32,
        interval: Option<u16>,
        kline: &Kline,
        held_empty: bool,
    ) {
        let Some(interval) = interval else {
            return;
        };
        if held_empty && kline.is_empty() {
            return;
        }
        if self.rebuilding {
            self.stats.gap_corrections += 1;
        } else {
            self.stats.klines_closed += 1;
            self.stats.empty_klines += u64::from(kline.is_empty());
        }
        self.push(symbol, interval, kline, self.rebuilding);
    }

    /// Hands a closed kline corrected by a late trade to the consumers.
    pub(crate) fn corrected(&mut self, symbol: u32, interval: u16, kline: &Kline) {
        self.stats.corrections += 1;
        self.push(symbol, interval, kline, true);
    }

    #[inline]
    fn push(&mut self, symbol: u32, interval: u16, kline: &Kline, correction: bool) {
        self.log.push_closed(
            KlineRecord {
                symbol,
                interval,
                correction,
                kline: *kline,
            },
            self.stats,
        );
    }

    /// When the clock closes a period that ends at `close_time`.
    #[inline]
    pub(crate) fn due_time(&self, close_time: i64) -> i64 {
        due_time(close_time, self.grace_ms)
    }
}

/// When the clock closes a period that ends at `close_time`, with a close grace of `grace_ms`.
#[inline]
pub(crate) fn due_time(close_time: i64, grace_ms: i64) -> i64 {
    close_time.saturating_add(1 + grace_ms)
}
