//! The shard, as the rest of the engine sees it: trades, the clock, consumers' requests and
//! the backfill's repairs go in here, and are handed to the part whose job each is.
//!
//! - the kline book ([`super::book`]) keeps every symbol's klines and the clock;
//! - the delta log ([`super::delta_log`]) keeps what each consumer was delivered and answers
//!   pulls;
//! - the holds ([`super::holds`]) keep symbols whose history is being repaired (gaps, tail
//!   claims, warm starts).
//!
//! A trade takes one of three ways. Most go to [`KlineBook::apply_fast`], which writes only the
//! symbol's current second. A symbol's first trade of a later second, when no coarser period
//! ends before it, goes to [`KlineBook::apply_next_second`], which closes the second before.
//! The rest (a duplicate, a gap, a late trade, a held symbol, a coarse period's end) go through
//! [`Shard::process_slow`], which sorts them out in that order.

use crossbeam_channel::Receiver;

use super::book::KlineBook;
use super::config::{ShardConfig, ShardConfigError};
use super::delta_log::DeltaLog;
use super::holds::{Holds, ShardParts};
use super::leaf::NO_AGG_ID;
use super::protocol::{ConsumerId, ShardRequest};
use super::restore::RestoreError;
use super::stats::{Gap, ShardStats};
use super::tail::{Tail, TailView};
use super::warm_start::WarmStart;
use crate::interval::Interval;
use crate::kline::Kline;
use crate::trade::AggTradePayload;

/// The parts of `shard` a repair works on: everything but the holds themselves (borrowed
/// field by field, so the holds stay free to be borrowed beside them).
macro_rules! parts {
    ($shard:ident) => {
        ShardParts {
            book: &mut $shard.book,
            log: &mut $shard.log,
            stats: &mut $shard.stats,
        }
    };
}

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
/// consumers and the repairs under way. Owned and driven by one thread.
#[derive(Debug)]
pub struct Shard {
    book: KlineBook,
    log: DeltaLog,
    holds: Holds,
    stats: ShardStats,
}

impl Shard {
    /// Builds a shard with all state preallocated for `config.max_symbols` symbols.
    pub fn new(config: ShardConfig) -> Result<Shard, ShardConfigError> {
        config.validate()?;
        let n_symbols = config.max_symbols as usize;
        Ok(Shard {
            book: KlineBook::new(config.intervals, n_symbols, config.close_grace_ms.max(0)),
            log: DeltaLog::new(config.max_backlog),
            holds: Holds::new(config.gap_fill, n_symbols, config.max_recorded_gaps),
            stats: ShardStats::default(),
        })
    }

    /// The intervals of this shard; a record's `interval` indexes this list.
    pub fn intervals(&self) -> &[Interval] {
        self.book.intervals()
    }

    /// Counters of everything the shard applied, dropped or repaired.
    pub fn stats(&self) -> &ShardStats {
        &self.stats
    }

    /// The open kline of a symbol and interval index, if the symbol has traded.
    pub fn open_kline(&self, symbol: u32, interval: usize) -> Option<Kline> {
        self.book.open_kline(symbol as usize, interval)
    }

    /// Moves the recorded gaps into `out` (appending), for backfill.
    pub fn take_gaps(&mut self, out: &mut Vec<Gap>) {
        self.holds.take_reports(out);
    }

    /// Applies one trade to every interval of its symbol.
    ///
    /// The usual trade (the next agg id of a symbol, in the second its last trade was in)
    /// writes one record: integer arithmetic, no allocation, no call. Everything else takes
    /// the slow path.
    #[inline]
    pub fn process_trade(&mut self, trade: &AggTradePayload) -> TradeOutcome {
        if self.book.apply_fast(trade) {
            self.book.advance_clock(trade.trade_time_ms);
            self.stats.trades += 1;
            return TradeOutcome::Applied;
        }
        if self
            .book
            .apply_next_second(trade, &mut self.log, &mut self.stats)
        {
            self.stats.trades += 1;
            return TradeOutcome::Applied;
        }
        self.process_slow(trade)
    }

    /// Applies a batch of trades in order, as [`Shard::process_trade`] does one by one: the
    /// shard thread's entry for a ring's batch.
    pub fn process_trades(&mut self, trades: &[AggTradePayload]) {
        // The clock and the trade counter move once per run of fast-path trades: nothing
        // reads them before the next slow-path trade or the end of the batch.
        let mut newest = i64::MIN;
        let mut applied = 0u64;
        for trade in trades {
            if self.book.apply_fast(trade) {
                newest = newest.max(trade.trade_time_ms);
                applied += 1;
            } else {
                self.book.advance_clock(newest);
                if self
                    .book
                    .apply_next_second(trade, &mut self.log, &mut self.stats)
                {
                    applied += 1;
                } else {
                    self.process_slow(trade);
                }
            }
        }
        self.book.advance_clock(newest);
        self.stats.trades += applied;
    }

    /// A trade the fast path did not take: dropped if invalid or a duplicate (or kept as a
    /// pending gap's fill), recorded as a gap after a jump, applied by every interval's full
    /// rule, and kept for the replay if its symbol is held.
    #[cold]
    #[inline(never)]
    fn process_slow(&mut self, trade: &AggTradePayload) -> TradeOutcome {
        let symbol = trade.symbol as usize;
        if symbol >= self.book.n_symbols() || !trade.is_valid() {
            self.stats.invalid += 1;
            return TradeOutcome::Invalid;
        }
        let last = self.book.last_agg_id(symbol);
        let mut outcome = TradeOutcome::Applied;
        if last != NO_AGG_ID {
            if trade.agg_id <= last {
                if self.book.gap_pending(symbol) && self.fill_trade(trade) {
                    return TradeOutcome::Filled;
                }
                self.stats.duplicates += 1;
                return TradeOutcome::Duplicate;
            }
            if trade.agg_id > last + 1 {
                let mut parts = parts!(self);
                self.holds
                    .record_gap(symbol, last + 1, trade.agg_id - 1, &mut parts);
                outcome = TradeOutcome::AppliedAfterGap;
            }
        } else {
            self.book.note_first_agg_id(symbol, trade.agg_id);
        }
        self.book.apply(trade, &mut self.log, &mut self.stats);
        self.stats.trades += 1;
        if self.book.is_held(symbol) {
            let mut parts = parts!(self);
            self.holds.keep(trade, &mut parts);
        }
        outcome
    }

    /// Advances the shard's clock and closes every kline whose period ended more than the
    /// close grace before `now_ms`, opening the next period empty at the previous close.
    /// Symbols with a pending gap are left as they are until the gap ends; repairs past their
    /// time are given up.
    pub fn tick(&mut self, now_ms: i64) {
        self.book.advance_clock(now_ms);
        let mut parts = parts!(self);
        self.holds.on_clock(&mut parts);
        self.book.tick(now_ms, &mut self.log, &mut self.stats);
    }

    /// Registers a consumer. Closed klines are kept for it from now on, and its first pull
    /// returns every open kline.
    pub fn register_consumer(&mut self) -> ConsumerId {
        self.log.register()
    }

    /// Answers every request waiting on `requests`, and the held pulls that now have news,
    /// without blocking; returns how many were answered or held.
    pub fn serve_requests(&mut self, requests: &Receiver<ShardRequest>) -> usize {
        self.log.serve(requests, &mut self.book, &mut self.stats)
    }

    /// Answers one request with `try_send`; an undelivered reply is owed to the next pull.
    pub fn handle_request(&mut self, request: ShardRequest) {
        self.log.handle(request, &mut self.book, &mut self.stats);
    }

    /// Takes one of the trades a pending gap misses (from the backfill, or a second connection
    /// carrying the stream); returns false if no pending gap misses it. The last missing
    /// trade fills the gap: the symbol's klines are rebuilt with it at once.
    pub fn fill_trade(&mut self, trade: &AggTradePayload) -> bool {
        let symbol = trade.symbol as usize;
        if symbol >= self.book.n_symbols() || !self.book.gap_pending(symbol) || !trade.is_valid() {
            return false;
        }
        let mut parts = parts!(self);
        self.holds.fill(trade, &mut parts)
    }

    /// Gives up waiting for `symbol`'s missing trades: its klines are rebuilt with the ones
    /// that came, and the rest is counted and logged as lost. Returns false if none was pending.
    pub fn abandon_gap(&mut self, symbol: u32) -> bool {
        let mut parts = parts!(self);
        self.holds.abandon_gap(symbol as usize, &mut parts)
    }

    /// True while `symbol` waits for missing trades.
    pub fn gap_pending(&self, symbol: u32) -> bool {
        (symbol as usize) < self.book.n_symbols() && self.book.gap_pending(symbol as usize)
    }

    /// Starts keeping `symbol`'s live trades for its warm start; false if it is out of range.
    pub fn begin_warm(&mut self, symbol: u32) -> bool {
        if symbol as usize >= self.book.n_symbols() {
            return false;
        }
        let mut parts = parts!(self);
        self.holds.begin_warm(symbol as usize, &mut parts);
        true
    }

    /// Takes a symbol's rebuilt state and replays it, at once or, for a symbol without a trade
    /// since `from_ms` yet, with its first trade (which gives the trade ids). False if the
    /// state does not fit the shard.
    pub fn finish_warm(&mut self, data: WarmStart) -> bool {
        if data.open.len() != self.book.intervals().len()
            || data.symbol as usize >= self.book.n_symbols()
        {
            return false;
        }
        let mut parts = parts!(self);
        self.holds.finish_warm(data, &mut parts);
        true
    }

    /// Stops warming `symbol`: its klines stay as the live trades made them. The warm start
    /// could not be done (the REST data was incomplete); counted.
    pub fn abandon_warm(&mut self, symbol: u32) {
        let mut parts = parts!(self);
        self.holds.abandon_warm(symbol as usize, &mut parts);
    }

    /// True while `symbol` waits for its rebuilt state.
    pub fn warming(&self, symbol: u32) -> bool {
        self.holds.is_warming(symbol as usize)
    }

    /// Makes `kline` the open kline of (`symbol`, `interval`) before any live trade: later
    /// trades of the same period add to it, and the period closes as usual.
    ///
    /// Trades that happened between the save and the restart are not in it; recovering those
    /// is the backfill's job.
    pub fn restore_open(
        &mut self,
        symbol: u32,
        interval: usize,
        kline: &Kline,
    ) -> Result<(), RestoreError> {
        self.book.restore(symbol as usize, interval, kline)
    }

    /// How `symbol`'s tail stands: its last agg id and the klines holding its last trade.
    pub fn tail_view(&self, symbol: u32) -> TailView {
        let index = symbol as usize;
        let tail = if index >= self.book.n_symbols() {
            Tail::NeverTraded
        } else if self.book.is_held(index) {
            Tail::Busy
        } else if self.book.last_agg_id(index) == NO_AGG_ID {
            Tail::NeverTraded
        } else {
            Tail::Traded {
                last_agg_id: self.book.last_agg_id(index),
                klines: self.book.tail_klines(index),
            }
        };
        TailView { symbol, tail }
    }

    /// The exchange has `symbol`'s trades `from..=to` (consecutive), and the backfill sends
    /// them next: unless the live trades brought them meanwhile, they become a pending gap
    /// whose replay starts after the last trade applied. The backfill is not told of it: the
    /// trades are on their way (with a redundant stream's wait, it is once that is over
    /// without them, as for any gap). Ids between the last applied and `from` are ones the
    /// exchange no longer has: counted lost. Returns whether a gap was opened.
    ///
    /// Nothing is claimed while a gap or a warm start is pending for the symbol: their replay
    /// is about to rebuild its klines, and a claim's trades that arrive meanwhile find no gap
    /// missing them and are dropped; a later tail check finds whatever is still missing.
    pub fn claim_tail(&mut self, symbol: u32, from: i64, to: i64) -> bool {
        if symbol as usize >= self.book.n_symbols() {
            return false;
        }
        let mut parts = parts!(self);
        self.holds.claim_tail(symbol as usize, from, to, &mut parts)
    }
}
