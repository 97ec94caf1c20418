//! A shard's kline state and its two inputs: trades and the clock.

use super::closed_log::ClosedLog;
use super::config::{ShardConfig, ShardConfigError};
use super::consumers::ConsumerState;
use super::gap_fill::{GapFillConfig, PendingGap};
use super::protocol::{Delta, KlineRecord, PullRequest};
use super::slot::{NO_AGG_ID, Slot, SlotBase, SlotId, SymbolState};
use super::stats::{Gap, ShardStats};
use super::warm_start::Warming;
use crate::interval::Interval;
use crate::kline::{Kline, Sums};
use crate::trade::AggTradePayload;

/// What [`Shard::process_trade`] did with a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeOutcome {
    /// Applied to every interval it belongs to (late intervals may have corrected or dropped it).
    Applied,
    /// Applied, and it follows a jump in the symbol's agg ids that was recorded as a gap.
    AppliedAfterGap,
    /// Its agg id was not above the last seen for its symbol: dropped.
    Duplicate,
    /// Its agg id was one of a pending gap's missing ones: kept for the gap's fill.
    Filled,
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
    /// Hot per-slot state, indexed `symbol * n_intervals + interval`.
    pub(crate) slots: Vec<Slot>,
    /// Cold per-slot state, same indexing.
    pub(crate) bases: Vec<SlotBase>,
    /// The kline each slot closed last, kept so a late trade can still correct it.
    pub(crate) last_closed: Vec<Kline>,
    /// The last kline with trades each slot closed: where a gap's rebuild starts when the
    /// slot has moved on to empty periods since.
    pub(crate) last_traded: Vec<Kline>,
    pub(crate) symbols: Vec<SymbolState>,
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
    /// Pulls held until something changes for their consumer (at most one per consumer).
    pub(crate) held: Vec<PullRequest>,
    pub(crate) gaps: Vec<Gap>,
    pub(crate) max_recorded_gaps: usize,
    /// Gaps waiting for their missing trades, at most one per symbol.
    pub(crate) pending: Vec<PendingGap>,
    pub(crate) gap_fill: GapFillConfig,
    /// Symbols whose open klines are being rebuilt from REST.
    pub(crate) warming: Vec<Warming>,
    /// Live trades buffered by all pending gaps and warm starts together.
    pub(crate) buffered_trades: usize,
    /// True while a gap's rebuild replays trades: the klines it closes are corrections.
    pub(crate) rebuilding: bool,
    pub(crate) stats: ShardStats,
}

impl Shard {
    /// Builds a shard with all state preallocated for `config.max_symbols` symbols.
    pub fn new(config: ShardConfig) -> Result<Shard, ShardConfigError> {
        config.validate()?;
        let n_intervals = config.intervals.len();
        let n_symbols = config.max_symbols as usize;
        let n_slots = n_symbols * n_intervals;
        Ok(Shard {
            n_intervals,
            grace_ms: config.close_grace_ms.max(0),
            slots: vec![Slot::INACTIVE; n_slots],
            bases: vec![SlotBase::default(); n_slots],
            last_closed: vec![Slot::INACTIVE.kline(&Sums::ZERO); n_slots],
            last_traded: vec![Slot::INACTIVE.kline(&Sums::ZERO); n_slots],
            symbols: vec![SymbolState::NEW; n_symbols],
            version: 0,
            now_ms: i64::MIN,
            next_due_ms: i64::MAX,
            closed: ClosedLog::new(config.max_backlog),
            consumers: Vec::new(),
            spare_deltas: Vec::new(),
            held: Vec::new(),
            gaps: Vec::with_capacity(config.max_recorded_gaps),
            max_recorded_gaps: config.max_recorded_gaps,
            pending: Vec::with_capacity(config.gap_fill.max_pending),
            gap_fill: config.gap_fill,
            warming: Vec::new(),
            buffered_trades: 0,
            rebuilding: false,
            stats: ShardStats::default(),
            intervals: config.intervals,
        })
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
    pub fn open_kline(&self, symbol: u32, interval: usize) -> Option<Kline> {
        if interval >= self.n_intervals {
            return None;
        }
        let at = self.slot_id(symbol as usize, interval);
        let slot = self.slots.get(at.index)?;
        slot.is_active().then(|| self.kline_at(at))
    }

    /// Moves the recorded gaps into `out` (appending), for backfill.
    pub fn take_gaps(&mut self, out: &mut Vec<Gap>) {
        out.append(&mut self.gaps);
    }

    /// Applies one trade to every interval of its symbol.
    ///
    /// The hot path is integer arithmetic and indexing, one cache line per interval: crossing
    /// a period boundary or meeting a late trade takes a cold path that closes klines or
    /// corrects the last one.
    #[inline]
    pub fn process_trade(&mut self, trade: &AggTradePayload) -> TradeOutcome {
        let symbol = trade.symbol as usize;
        if symbol >= self.symbols.len() || !trade.is_valid() {
            self.stats.invalid += 1;
            return TradeOutcome::Invalid;
        }
        let state = &self.symbols[symbol];
        let (last, gap_pending) = (state.last_agg_id, state.gap_pending);
        let mut outcome = TradeOutcome::Applied;
        if last != NO_AGG_ID {
            if trade.agg_id <= last {
                if gap_pending && self.fill_trade(trade) {
                    return TradeOutcome::Filled;
                }
                self.stats.duplicates += 1;
                return TradeOutcome::Duplicate;
            }
            if trade.agg_id > last + 1 {
                self.record_gap(trade.symbol, last + 1, trade.agg_id - 1);
                outcome = TradeOutcome::AppliedAfterGap;
            }
        } else {
            self.symbols[symbol].first_agg_id = trade.agg_id;
        }
        self.apply_trade(trade);
        self.stats.trades += 1;
        let state = &self.symbols[symbol];
        if state.gap_pending | state.warming {
            self.keep_for_replay(trade);
        }
        outcome
    }

    /// Applies a trade that follows the symbol's last one in agg-id order to every interval.
    #[inline]
    pub(crate) fn apply_trade(&mut self, trade: &AggTradePayload) {
        let symbol = trade.symbol as usize;
        self.now_ms = self.now_ms.max(trade.trade_time_ms);
        self.version += 1;
        let time = trade.trade_time_ms;
        // Fast pass over the symbol's slots, one cache line each and no calls; the few slots
        // whose period this trade does not fall in are marked and handled after it.
        let base = symbol * self.n_intervals;
        let mut cold = 0u64;
        for (interval, slot) in self.slots[base..base + self.n_intervals]
            .iter_mut()
            .enumerate()
        {
            if time > slot.close_time || time < slot.open_time {
                cold |= 1 << interval;
            } else {
                slot.apply(trade);
            }
        }
        while cold != 0 {
            let interval = cold.trailing_zeros() as usize;
            cold &= cold - 1;
            let at = SlotId {
                symbol,
                interval,
                index: base + interval,
            };
            if time > self.slots[at.index].close_time {
                self.roll_to(at, time);
                self.slots[at.index].apply(trade);
            } else {
                self.apply_late(at, trade);
            }
        }
        // Totals move only now: the rollovers above closed their klines without this trade.
        let state = &mut self.symbols[symbol];
        state.totals.add(&Sums::of(trade));
        state.last_agg_id = trade.agg_id;
        state.trade_version = self.version;
        state.version = self.version;
    }

    /// Advances the shard's clock and closes every kline whose period ended more than the
    /// close grace before `now_ms`, opening the next period empty at the previous close.
    /// Symbols with a pending gap are left as they are until the gap ends.
    pub fn tick(&mut self, now_ms: i64) {
        self.now_ms = self.now_ms.max(now_ms);
        if !self.pending.is_empty() {
            self.report_due_gaps();
            self.expire_gaps();
        }
        if !self.warming.is_empty() {
            self.expire_warm();
        }
        if now_ms < self.next_due_ms {
            return;
        }
        self.version += 1;
        let mut next_due = i64::MAX;
        for symbol in 0..self.symbols.len() {
            // A symbol waiting for a gap's trades keeps its periods open: closing them empty
            // would be wrong, and the gap's replay closes them once the trades are in.
            if self.symbols[symbol].gap_pending {
                continue;
            }
            for interval in 0..self.n_intervals {
                let at = self.slot_id(symbol, interval);
                let slot = &self.slots[at.index];
                if !slot.is_active() {
                    continue;
                }
                if self.due_time(slot.close_time) <= now_ms {
                    self.roll_to(at, now_ms - self.grace_ms);
                }
                next_due = next_due.min(self.due_time(self.slots[at.index].close_time));
            }
        }
        self.next_due_ms = next_due;
    }

    /// Brings the gauges of waiting gaps and warm starts up to date after one began or ended.
    pub(crate) fn count_waiting(&mut self) {
        self.stats.gaps_pending = self.pending.len() as u64;
        self.stats.warm_pending = self.warming.len() as u64;
    }

    /// Locates the slot of a symbol and interval.
    #[inline]
    pub(crate) fn slot_id(&self, symbol: usize, interval: usize) -> SlotId {
        SlotId {
            symbol,
            interval,
            index: symbol * self.n_intervals + interval,
        }
    }

    /// The kline a slot holds right now.
    pub(crate) fn kline_at(&self, at: SlotId) -> Kline {
        let totals = &self.symbols[at.symbol].totals;
        self.slots[at.index].kline(&totals.minus(&self.bases[at.index].sums))
    }

    pub(crate) fn record_gap(&mut self, symbol: u32, from_agg_id: i64, to_agg_id: i64) {
        let later = self.open_gap(symbol as usize, from_agg_id, to_agg_id);
        self.stats.gaps += 1;
        self.stats.missing_agg_ids += (to_agg_id - from_agg_id + 1) as u64;
        if !later {
            self.report_gap(symbol, from_agg_id, to_agg_id);
        }
    }

    /// Records a run of missing agg ids for [`Shard::take_gaps`].
    pub(crate) fn report_gap(&mut self, symbol: u32, from_agg_id: i64, to_agg_id: i64) {
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
    #[inline]
    pub(crate) fn emit_closed(&mut self, at: SlotId, kline: &Kline, correction: bool) {
        if self.consumers.is_empty() {
            return;
        }
        let record = KlineRecord {
            symbol: at.symbol as u32,
            interval: at.interval as u16,
            correction,
            kline: *kline,
        };
        if self.closed.push(record) {
            self.stats.closed_missed += 1;
        }
    }
}
