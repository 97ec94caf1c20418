//! A shard's kline state and its two inputs: trades and the clock.

use super::closed_log::ClosedLog;
use super::config::ShardConfig;
use super::consumers::ConsumerState;
use super::protocol::{Delta, KlineRecord};
use super::stats::{Gap, ShardStats};
use crate::interval::Interval;
use crate::kline::Kline;
use crate::trade::AggTradePayload;

/// Marks an agg-id slot of a symbol that has not traded yet.
const NO_AGG_ID: i64 = i64::MIN;

/// One (symbol, interval) kline and when it last changed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    /// The open kline; `open_time == INACTIVE` until the symbol's first trade.
    pub(crate) kline: Kline,
    /// Shard version of the last change, compared with each consumer's delivered version.
    pub(crate) version: u64,
}

/// `open_time` of a slot that has never seen a trade. With its `close_time` also at the
/// minimum, any trade is "past the boundary" and takes the cold path that opens the slot.
pub(crate) const INACTIVE: i64 = i64::MIN;

/// What [`Shard::process_trade`] did with a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeOutcome {
    /// Applied to every interval it belongs to (late intervals may have corrected or dropped it).
    Applied,
    /// Applied, and it follows a jump in the symbol's agg ids that was recorded as a gap.
    AppliedAfterGap,
    /// Its agg id was not above the last seen for its symbol: dropped.
    Duplicate,
    /// Impossible numbers or an unknown symbol index: dropped.
    Invalid,
}

/// Every kline of every symbol and interval of one shard, with the delta bookkeeping of its
/// consumers. Owned and driven by one thread.
#[derive(Debug)]
pub struct Shard {
    pub(crate) intervals: Vec<Interval>,
    pub(crate) n_intervals: usize,
    pub(crate) grace_ms: i64,
    /// Indexed `symbol * n_intervals + interval`.
    pub(crate) slots: Vec<Slot>,
    /// The kline each slot closed last, kept so a late trade can still correct it.
    pub(crate) last_closed: Vec<Kline>,
    pub(crate) last_agg_id: Vec<i64>,
    /// Highest slot version of each symbol, so a pull skips symbols that did not change.
    pub(crate) symbol_version: Vec<u64>,
    /// Bumped once per change; 0 means "never", so versions start at 1.
    pub(crate) version: u64,
    /// Latest time the shard knows of: the newest tick or trade time.
    pub(crate) now_ms: i64,
    /// No slot is due to be closed by `tick` before this time.
    pub(crate) next_due_ms: i64,
    pub(crate) closed: ClosedLog,
    pub(crate) consumers: Vec<ConsumerState>,
    /// Reply buffers that came back undelivered, reused for later replies.
    pub(crate) spare_deltas: Vec<Delta>,
    pub(crate) gaps: Vec<Gap>,
    pub(crate) max_recorded_gaps: usize,
    pub(crate) stats: ShardStats,
}

impl Shard {
    /// Builds a shard with all state preallocated for `config.max_symbols` symbols.
    pub fn new(config: ShardConfig) -> Shard {
        let n_intervals = config.intervals.len();
        let n_symbols = config.max_symbols as usize;
        let inactive = Slot {
            kline: Kline::empty(INACTIVE, INACTIVE, 0),
            version: 0,
        };
        Shard {
            n_intervals,
            grace_ms: config.close_grace_ms.max(0),
            slots: vec![inactive; n_symbols * n_intervals],
            last_closed: vec![inactive.kline; n_symbols * n_intervals],
            last_agg_id: vec![NO_AGG_ID; n_symbols],
            symbol_version: vec![0; n_symbols],
            version: 0,
            now_ms: i64::MIN,
            next_due_ms: i64::MAX,
            closed: ClosedLog::new(config.max_backlog),
            consumers: Vec::new(),
            spare_deltas: Vec::new(),
            gaps: Vec::with_capacity(config.max_recorded_gaps),
            max_recorded_gaps: config.max_recorded_gaps,
            stats: ShardStats::default(),
            intervals: config.intervals,
        }
    }

    /// The intervals of this shard; a record's `interval` indexes this list.
    pub fn intervals(&self) -> &[Interval] {
        &self.intervals
    }

    /// Counters of everything the shard applied, dropped or repaired.
    pub fn stats(&self) -> &ShardStats {
        &self.stats
    }

    /// The open kline of a symbol and interval index, if the symbol has traded.
    pub fn open_kline(&self, symbol: u32, interval: usize) -> Option<&Kline> {
        let slot = self
            .slots
            .get(symbol as usize * self.n_intervals + interval)?;
        (interval < self.n_intervals && slot.kline.open_time != INACTIVE).then_some(&slot.kline)
    }

    /// Moves the recorded gaps into `out` (appending), for backfill.
    pub fn take_gaps(&mut self, out: &mut Vec<Gap>) {
        out.append(&mut self.gaps);
    }

    /// Applies one trade to every interval of its symbol.
    ///
    /// The hot path is integer arithmetic and indexing: crossing a period boundary or
    /// meeting a late trade takes a cold path that closes klines or corrects the last one.
    #[inline]
    pub fn process_trade(&mut self, trade: &AggTradePayload) -> TradeOutcome {
        let symbol = trade.symbol as usize;
        if symbol >= self.last_agg_id.len() || !trade.is_valid() {
            self.stats.invalid += 1;
            return TradeOutcome::Invalid;
        }
        let last = self.last_agg_id[symbol];
        let mut outcome = TradeOutcome::Applied;
        if last != NO_AGG_ID {
            if trade.agg_id <= last {
                self.stats.duplicates += 1;
                return TradeOutcome::Duplicate;
            }
            if trade.agg_id > last + 1 {
                self.record_gap(trade.symbol, last + 1, trade.agg_id - 1);
                outcome = TradeOutcome::AppliedAfterGap;
            }
        }
        self.last_agg_id[symbol] = trade.agg_id;
        self.now_ms = self.now_ms.max(trade.trade_time_ms);
        self.version += 1;
        let version = self.version;
        let time = trade.trade_time_ms;
        let base = symbol * self.n_intervals;
        for interval in 0..self.n_intervals {
            let index = base + interval;
            let slot = &mut self.slots[index];
            if time > slot.kline.close_time {
                self.roll_to(index, interval, time);
            } else if time < slot.kline.open_time {
                self.apply_late(index, trade);
                continue;
            }
            let slot = &mut self.slots[index];
            slot.kline.apply(trade);
            slot.version = version;
        }
        self.symbol_version[symbol] = version;
        self.stats.trades += 1;
        outcome
    }

    /// Advances the shard's clock and closes every kline whose period ended more than the
    /// close grace before `now_ms`, opening the next period empty at the previous close.
    pub fn tick(&mut self, now_ms: i64) {
        self.now_ms = self.now_ms.max(now_ms);
        if now_ms < self.next_due_ms {
            return;
        }
        self.version += 1;
        let mut next_due = i64::MAX;
        for index in 0..self.slots.len() {
            let close_time = self.slots[index].kline.close_time;
            if close_time == INACTIVE {
                continue;
            }
            if close_time.saturating_add(1 + self.grace_ms) <= now_ms {
                let last_due = now_ms - self.grace_ms;
                self.roll_to(index, index % self.n_intervals, last_due);
            }
            next_due = next_due.min(
                self.slots[index]
                    .kline
                    .close_time
                    .saturating_add(1 + self.grace_ms),
            );
        }
        self.next_due_ms = next_due;
    }

    fn record_gap(&mut self, symbol: u32, from_agg_id: i64, to_agg_id: i64) {
        self.stats.gaps += 1;
        self.stats.missing_agg_ids += (to_agg_id - from_agg_id + 1) as u64;
        if self.gaps.len() < self.max_recorded_gaps {
            self.gaps.push(Gap {
                symbol,
                from_agg_id,
                to_agg_id,
            });
        } else {
            self.stats.gaps_unrecorded += 1;
        }
    }

    /// Appends a closed kline to the log every consumer reads from (kept only while some
    /// consumer is registered to read it).
    pub(crate) fn emit_closed(&mut self, index: usize, kline: Kline, correction: bool) {
        if self.consumers.is_empty() {
            return;
        }
        let record = KlineRecord {
            symbol: (index / self.n_intervals) as u32,
            interval: (index % self.n_intervals) as u16,
            correction,
            kline,
        };
        if self.closed.push(record) {
            self.stats.closed_missed += 1;
        }
    }
}
