//! The symbols held while their history is repaired ([`HeldSymbol`]), and every step of a
//! repair: a gap opened by a jump in agg ids or a tail claim, its missing trades filled, a warm
//! start's REST state, live trades kept meanwhile, and the replay that ends each repair.
//!
//! A hold expires a timeout after it began, and all holds together keep a bounded number of
//! live trades; a repair that runs out of either is given up: a gap is replayed with the
//! trades that came (the rest counted and logged as lost), a warm start leaves the klines as
//! the live trades made them.

use super::book::KlineBook;
use super::config::GapFillConfig;
use super::delta_log::DeltaLog;
use super::held_symbol::{GapRepair, HeldSymbol, WarmWait};
use super::leaf::NO_AGG_ID;
use super::stats::{Gap, ShardStats};
use super::warm_start::WarmStart;
use crate::kline::Kline;
use crate::trade::AggTradePayload;

/// `index` of a symbol that is not held.
const NOT_HELD: u32 = u32::MAX;

/// What a repair works on: the klines it rebuilds, the log its corrections go to, and the
/// counters.
#[derive(Debug)]
pub(crate) struct ShardParts<'a> {
    pub(crate) book: &'a mut KlineBook,
    pub(crate) log: &'a mut DeltaLog,
    pub(crate) stats: &'a mut ShardStats,
}

/// Every held symbol of a shard.
#[derive(Debug)]
pub(crate) struct Holds {
    config: GapFillConfig,
    held: Vec<HeldSymbol>,
    /// Per symbol, its index in `held`, or [`NOT_HELD`].
    index: Vec<u32>,
    /// Live trades kept by all holds together.
    buffered: usize,
    /// Holds with a gap.
    gaps: usize,
    /// Holds with a warm start.
    warming: usize,
    /// Missing ranges for the backfill, until taken.
    reports: Vec<Gap>,
    max_reports: usize,
}

impl Holds {
    /// No hold yet, for `n_symbols` symbols; at most `max_reports` gaps kept for the backfill.
    pub(crate) fn new(config: GapFillConfig, n_symbols: usize, max_reports: usize) -> Holds {
        Holds {
            config,
            held: Vec::with_capacity(config.max_pending),
            index: vec![NOT_HELD; n_symbols],
            buffered: 0,
            gaps: 0,
            warming: 0,
            reports: Vec::with_capacity(max_reports),
            max_reports,
        }
    }

    /// True while `symbol` waits for its warm start.
    pub(crate) fn is_warming(&self, symbol: usize) -> bool {
        self.index_of(symbol)
            .is_some_and(|index| self.held[index].is_warming())
    }

    /// Moves the missing ranges recorded for the backfill into `out` (appending).
    pub(crate) fn take_reports(&mut self, out: &mut Vec<Gap>) {
        out.append(&mut self.reports);
    }

    /// A jump in `symbol`'s agg ids: `from..=to` are missing, found when the trade after them
    /// arrived and before it is applied. Counted, and waited for if gaps are filled.
    pub(crate) fn record_gap(&mut self, symbol: usize, from: i64, to: i64, p: &mut ShardParts) {
        let later = self.open_gap(symbol, from, to, p);
        p.stats.gaps += 1;
        p.stats.missing_agg_ids += (to - from + 1) as u64;
        if !later {
            self.report(symbol, from, to, p.stats);
        }
    }

    /// The exchange has `symbol`'s trades `from..=to` past its last one, and the backfill
    /// sends them next (see [`super::Shard::claim_tail`]). Returns whether a gap was opened.
    pub(crate) fn claim_tail(
        &mut self,
        symbol: usize,
        from: i64,
        to: i64,
        p: &mut ShardParts,
    ) -> bool {
        let last = p.book.last_agg_id(symbol);
        if p.book.is_held(symbol) || last == NO_AGG_ID || to <= last || from > to {
            return false;
        }
        if self.config.max_pending == 0 || self.gaps >= self.config.max_pending {
            log::warn!(
                "tail of symbol {symbol} (agg ids {}..={to}) not claimed: no room for a gap",
                last + 1
            );
            return false;
        }
        let first = from.max(last + 1);
        let lost = (first - last - 1) as u64;
        p.stats.gaps += 1;
        p.stats.tail_gaps += 1;
        p.stats.missing_agg_ids += (to - last) as u64;
        if lost > 0 {
            p.stats.gap_ids_unfilled += lost;
            log::warn!(
                "symbol {symbol}: the exchange no longer has agg ids {}..={}; its klines miss them",
                last + 1,
                first - 1
            );
        }
        // The claimed trades are on their way: the backfill hears of the range only if they
        // have not come once a redundant stream's wait is over, like any gap's.
        let reported = self.config.report_after_ms == 0;
        self.begin_gap(symbol, last, (first, to), reported, to, p);
        // As if the trade `to` had come: live copies of the claimed trades are fills now.
        p.book.raise_last_agg_id(symbol, to);
        true
    }

    /// Takes one of the trades a gap misses; false if no gap of its symbol misses it. The last
    /// missing trade ends the gap: the symbol's klines are rebuilt with it at once.
    pub(crate) fn fill(&mut self, trade: &AggTradePayload, p: &mut ShardParts) -> bool {
        let symbol = trade.symbol as usize;
        let Some(index) = self.index_of(symbol) else {
            return false;
        };
        let Some(gap) = &mut self.held[index].gap else {
            return false;
        };
        if !gap.is_missing(trade.agg_id) {
            return false;
        }
        gap.fill.insert(trade.agg_id, *trade);
        if gap.is_filled() {
            self.finish_gap(index, p);
        }
        true
    }

    /// Gives up waiting for `symbol`'s missing trades; false if none was pending.
    pub(crate) fn abandon_gap(&mut self, symbol: usize, p: &mut ShardParts) -> bool {
        match self.index_of(symbol) {
            Some(index) if self.held[index].gap.is_some() => {
                self.finish_gap(index, p);
                true
            }
            _ => false,
        }
    }

    /// Starts keeping `symbol`'s live trades for its warm start.
    pub(crate) fn begin_warm(&mut self, symbol: usize, p: &mut ShardParts) {
        let index = self.hold(symbol, p.book.now());
        if !self.held[index].is_warming() {
            self.held[index].warm = WarmWait::Waiting;
            self.warming += 1;
        }
        self.sync(index, p);
    }

    /// Takes a symbol's rebuilt state and replays it, at once or, for a symbol without a
    /// trade since `from_ms` yet, with its first trade.
    pub(crate) fn finish_warm(&mut self, data: WarmStart, p: &mut ShardParts) {
        let symbol = data.symbol as usize;
        self.begin_warm(symbol, p);
        let index = self.hold(symbol, p.book.now());
        self.held[index].warm = WarmWait::Ready(data);
        self.try_warm(index, p);
    }

    /// Stops warming `symbol`: its klines stay as the live trades made them. Counted.
    pub(crate) fn abandon_warm(&mut self, symbol: usize, p: &mut ShardParts) {
        let Some(index) = self.index_of(symbol) else {
            return;
        };
        if !self.held[index].is_warming() {
            return;
        }
        self.held[index].warm = WarmWait::None;
        self.warming -= 1;
        p.stats.warm_starts_failed += 1;
        self.sync(index, p);
    }

    /// Keeps a live trade of a held symbol (applied already) for the replay.
    pub(crate) fn keep(&mut self, trade: &AggTradePayload, p: &mut ShardParts) {
        let symbol = trade.symbol as usize;
        let Some(index) = self.index_of(symbol) else {
            return;
        };
        // Kept even past the bound: giving the repair up replays it too.
        self.held[index].live.push(*trade);
        self.buffered += 1;
        if self.buffered > self.config.max_buffered_trades {
            log::warn!(
                "giving up the repair of symbol {symbol}: {} live trades wait for repairs already",
                self.buffered - 1
            );
            self.give_up(index, p);
        } else if matches!(self.held[index].warm, WarmWait::Ready(_)) {
            self.try_warm(index, p);
        }
    }

    /// The clock's work: hands the backfill the gaps that waited for another connection in
    /// vain, and gives up the holds past the timeout.
    pub(crate) fn on_clock(&mut self, p: &mut ShardParts) {
        if self.held.is_empty() {
            return;
        }
        let now = p.book.now();
        if self.config.report_after_ms > 0 {
            self.report_due_gaps(now, p.stats);
        }
        for hold in self.held.iter_mut().filter(|h| h.since_ms == i64::MIN) {
            // Begun before the shard's clock first ran: the wait starts now.
            hold.since_ms = now;
        }
        let deadline = now.saturating_sub(self.config.timeout_ms);
        while let Some(index) = self.held.iter().position(|h| h.since_ms < deadline) {
            let hold = &self.held[index];
            if hold.gap.is_some() {
                log::warn!(
                    "giving up a gap of symbol {} after {} ms",
                    hold.symbol,
                    now - hold.since_ms
                );
            }
            if hold.is_warming() {
                log::warn!(
                    "warm start of symbol {} given up: no rebuilt state in time",
                    hold.symbol
                );
            }
            self.give_up(index, p);
        }
    }

    /// Hands the backfill the missing ranges of the gaps that have waited
    /// [`GapFillConfig::report_after_ms`] for another connection in vain.
    fn report_due_gaps(&mut self, now: i64, stats: &mut ShardStats) {
        let due = now.saturating_sub(self.config.report_after_ms);
        let mut ranges = Vec::new();
        for hold in &mut self.held {
            let Some(gap) = &mut hold.gap else {
                continue;
            };
            if gap.reported || gap.found_ms > due {
                continue;
            }
            gap.reported = true;
            ranges.extend(
                gap.unfilled_ranges()
                    .map(|(from, to)| (hold.symbol, from, to)),
            );
        }
        for (symbol, from, to) in ranges {
            self.report(symbol, from, to, stats);
        }
    }

    /// Starts waiting for agg ids `from..=to` of `symbol`. Returns true if the backfill is to
    /// hear of the range only later ([`GapFillConfig::report_after_ms`]).
    fn open_gap(&mut self, symbol: usize, from: i64, to: i64, p: &mut ShardParts) -> bool {
        if self.config.max_pending == 0 {
            return false;
        }
        let ids = (to - from + 1) as u64;
        if let Some(index) = self.index_of(symbol)
            && let Some(gap) = &mut self.held[index].gap
        {
            gap.missing.push((from, to));
            gap.missing_ids += ids;
            return !gap.reported;
        }
        if self.gaps >= self.config.max_pending {
            p.stats.gaps_unfilled += 1;
            p.stats.gap_ids_unfilled += ids;
            log::warn!(
                "gap in agg ids {from}..={to} of symbol {symbol} not filled: {} gaps pending already",
                self.gaps
            );
            return false;
        }
        let defer = self.config.report_after_ms > 0;
        self.begin_gap(symbol, from - 1, (from, to), !defer, i64::MIN, p);
        defer
    }

    /// Starts a gap of `symbol` whose klines are to be replayed from after agg id `after`,
    /// missing `ids`. `reported` says the backfill needs no word of it (any more).
    fn begin_gap(
        &mut self,
        symbol: usize,
        after: i64,
        ids: (i64, i64),
        reported: bool,
        tail_to: i64,
        p: &mut ShardParts,
    ) {
        let now = p.book.now();
        let start = p.book.start_klines(symbol);
        let index = self.hold(symbol, now);
        self.held[index].gap = Some(GapRepair {
            after,
            missing: vec![ids],
            missing_ids: (ids.1 - ids.0 + 1) as u64,
            start,
            fill: Default::default(),
            found_ms: now,
            reported,
            tail_to,
        });
        self.gaps += 1;
        self.sync(index, p);
    }

    /// Ends the gap of the hold at `index`, filled or not: counts it, and replays what came.
    fn finish_gap(&mut self, index: usize, p: &mut ShardParts) {
        let Some(gap) = self.held[index].gap.take() else {
            return;
        };
        self.gaps -= 1;
        let symbol = self.held[index].symbol;
        let filled = gap.fill.len() as u64;
        let unfilled = gap.missing_ids - filled;
        p.stats.gap_trades_filled += filled;
        p.stats.trades += filled;
        if unfilled == 0 {
            p.stats.gaps_filled += 1;
        } else {
            p.stats.gaps_unfilled += 1;
            p.stats.gap_ids_unfilled += unfilled;
            log::warn!(
                "symbol {symbol}: {unfilled} of {} missing trades (agg ids {:?}) never came; \
                 its klines miss them",
                gap.missing_ids,
                gap.missing
            );
        }
        // Even with nothing filled: the periods held while it was pending are closed here.
        let released = self.sync(index, p);
        let live = match &released {
            Some(hold) => &hold.live,
            None => &self.held[index].live,
        };
        replay_gap(symbol, &gap, live, p);
        if gap.tail_to != i64::MIN {
            p.stats.tail_trades_filled += gap.fill.range(..=gap.tail_to).count() as u64;
        }
        // Ids that never came are lost: a later trade is not to report them again (only a
        // tail claim's can lie above every trade applied).
        p.book.raise_last_agg_id(symbol, gap.highest_missing());
    }

    /// Replays a warm start whose state has come, once there is a trade to take the trade ids
    /// from. A gap found meanwhile is part of what the replay rebuilds: its fills are replayed,
    /// and what is still missing is a gap again.
    fn try_warm(&mut self, index: usize, p: &mut ShardParts) {
        let hold = &self.held[index];
        let WarmWait::Ready(data) = &hold.warm else {
            return;
        };
        let fills = hold.gap.iter().flat_map(|g| g.fill.values().copied());
        let replay = data.replay_trades(&hold.live, fills);
        let Some(&first) = replay.first() else {
            return;
        };
        let symbol = hold.symbol;
        let mut hold = self.release(index, p);
        self.warming -= 1;
        if hold.gap.is_some() {
            self.gaps -= 1;
        }
        let WarmWait::Ready(data) = std::mem::replace(&mut hold.warm, WarmWait::None) else {
            return;
        };
        // Trades the live stream brought were counted when applied; the rest are new.
        let (first_live, last) = (p.book.first_agg_id(symbol), p.book.last_agg_id(symbol));
        let added = replay
            .iter()
            .filter(|t| {
                last == NO_AGG_ID
                    || !(first_live..=last).contains(&t.agg_id)
                    || hold.gap.as_ref().is_some_and(|g| g.is_missing(t.agg_id))
            })
            .count();
        p.stats.trades += added as u64;
        p.stats.warm_starts += 1;
        let start = p.book.node_klines(&data.open_with_ids(&first));
        self.replay_warm(symbol, &start, first.agg_id - 1, &replay, p);
        self.count_waiting(p.stats);
    }

    /// Sets `symbol`'s klines to `start` and replays `trades` on top; a jump in their agg ids
    /// is a gap like a live one.
    fn replay_warm(
        &mut self,
        symbol: usize,
        start: &[Kline],
        after: i64,
        trades: &[AggTradePayload],
        p: &mut ShardParts,
    ) {
        let before = p.book.begin_replay(symbol, start, after);
        for trade in trades {
            let last = p.book.last_agg_id(symbol);
            if trade.agg_id <= last {
                continue;
            }
            if trade.agg_id > last + 1 {
                self.record_gap(symbol, last + 1, trade.agg_id - 1, p);
            }
            p.book.apply(trade, p.log, p.stats);
            // A gap the replay found keeps what follows it; the bound is looked at by the
            // next live trade, not in the middle of a replay.
            if let Some(index) = self.index_of(symbol) {
                self.held[index].live.push(*trade);
                self.buffered += 1;
            }
        }
        p.book.end_replay(symbol, &before, p.log, p.stats);
    }

    /// Gives up whatever the hold at `index` waits for.
    fn give_up(&mut self, index: usize, p: &mut ShardParts) {
        let symbol = self.held[index].symbol;
        self.abandon_warm(symbol, p);
        if let Some(index) = self.index_of(symbol) {
            self.finish_gap(index, p);
        }
    }

    /// Records a run of missing agg ids for the backfill.
    fn report(&mut self, symbol: usize, from_agg_id: i64, to_agg_id: i64, stats: &mut ShardStats) {
        if self.reports.len() < self.max_reports {
            self.reports.push(Gap {
                symbol: symbol as u32,
                from_agg_id,
                to_agg_id,
            });
        } else {
            stats.gaps_unrecorded += 1;
        }
    }

    /// The index of `symbol`'s hold, creating one beginning at `now_ms`.
    fn hold(&mut self, symbol: usize, now_ms: i64) -> usize {
        if let Some(index) = self.index_of(symbol) {
            return index;
        }
        self.index[symbol] = self.held.len() as u32;
        self.held.push(HeldSymbol::new(symbol, now_ms));
        self.held.len() - 1
    }

    /// The index of `symbol`'s hold, if it is held.
    #[inline]
    fn index_of(&self, symbol: usize) -> Option<usize> {
        let index = *self.index.get(symbol)?;
        (index != NOT_HELD).then_some(index as usize)
    }

    /// Tells the book how the hold at `index` stands now; a hold that waits for nothing any
    /// more is released and returned.
    fn sync(&mut self, index: usize, p: &mut ShardParts) -> Option<HeldSymbol> {
        self.count_waiting(p.stats);
        let hold = &self.held[index];
        if hold.is_waiting() {
            p.book.set_hold(hold.symbol, true, hold.gap.is_some());
            None
        } else {
            Some(self.release(index, p))
        }
    }

    /// Ends the hold at `index`: its symbol goes on unheld, its live trades no longer count
    /// against the bound.
    fn release(&mut self, index: usize, p: &mut ShardParts) -> HeldSymbol {
        let hold = self.held.swap_remove(index);
        self.index[hold.symbol] = NOT_HELD;
        if let Some(moved) = self.held.get(index) {
            self.index[moved.symbol] = index as u32;
        }
        self.buffered -= hold.live.len();
        p.book.set_hold(hold.symbol, false, false);
        hold
    }

    /// Brings the gauges of waiting gaps and warm starts up to date.
    fn count_waiting(&self, stats: &mut ShardStats) {
        stats.gaps_pending = self.gaps as u64;
        stats.warm_pending = self.warming as u64;
    }
}

/// Sets the symbol's klines back to where they stood before the gap and applies the missing
/// and live trades in agg-id order. Ids that never came stay missing.
fn replay_gap(symbol: usize, gap: &GapRepair, live: &[AggTradePayload], p: &mut ShardParts) {
    let before = p.book.begin_replay(symbol, &gap.start, gap.after);
    for trade in gap.replay(live) {
        if trade.agg_id > p.book.last_agg_id(symbol) {
            p.book.apply(&trade, p.log, p.stats);
        }
    }
    p.book.end_replay(symbol, &before, p.log, p.stats);
}
