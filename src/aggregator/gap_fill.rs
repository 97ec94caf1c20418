//! Gaps in a symbol's agg ids, filled after the fact: by the backfill (REST `aggTrades`) or by
//! another connection carrying the same stream.
//!
//! While a gap is pending, the symbol's klines go on from the live trades, which the gap also
//! keeps, but its empty periods are not filled: the clock does not close its periods, and
//! periods a live trade skips are not emitted, since the missing trades may belong in them.
//! Once every missing trade is in (or the fill gives up), the symbol's klines are put
//! back to where they stood before the gap and the missing and live trades are replayed in
//! agg-id order through the ordinary path. Every period that closes again on the way is emitted
//! as a correction, which consumers put in place of what they had: the klines come out as if
//! no trade had ever been missing, empty periods of the gap included.

use std::collections::BTreeMap;

use super::config::MAX_INTERVALS;
use super::shard::Shard;
use super::slot::SlotId;
use crate::kline::Kline;
use crate::trade::AggTradePayload;

/// How a shard waits for the missing trades of its gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapFillConfig {
    /// Gaps tracked at once; one more is counted as unfilled at once. 0 turns filling off
    /// (gaps are only recorded), as in offline replay.
    pub max_pending: usize,
    /// A gap still missing trades this long after it was found (shard clock) is given up.
    pub timeout_ms: i64,
    /// Live trades all pending gaps may keep together; the gap that would pass it is given
    /// up, so memory stays bounded whatever the backfill does.
    pub max_buffered_trades: usize,
    /// A gap is handed to the backfill ([`Shard::take_gaps`]) only once it has waited this
    /// long (shard clock), so that a second connection carrying the stream, a moment behind
    /// the first, fills it without spending REST weight. 0 hands it over at once.
    pub report_after_ms: i64,
}

impl GapFillConfig {
    /// Gaps are recorded for whoever takes them, never waited for.
    pub const OFF: GapFillConfig = GapFillConfig {
        max_pending: 0,
        timeout_ms: 0,
        max_buffered_trades: 0,
        report_after_ms: 0,
    };

    /// What a live engine uses: up to 1,024 gaps at once, each given 5 minutes, and 4M live
    /// trades kept meanwhile (about 256 MB at worst).
    pub const LIVE: GapFillConfig = GapFillConfig {
        max_pending: 1_024,
        timeout_ms: 300_000,
        max_buffered_trades: 4_000_000,
        report_after_ms: 0,
    };

    /// [`GapFillConfig::LIVE`] for streams carried by more than one connection: a gap waits a
    /// second for the other connection before the backfill is asked.
    pub const REDUNDANT: GapFillConfig = GapFillConfig {
        report_after_ms: 1_000,
        ..GapFillConfig::LIVE
    };
}

/// One symbol's gap (or gaps, if another jump came before the first was filled).
#[derive(Debug)]
pub(crate) struct PendingGap {
    symbol: usize,
    /// Last agg id applied before the first jump: the replay starts right after it.
    after: i64,
    /// Missing agg ids as inclusive ranges, ascending.
    missing: Vec<(i64, i64)>,
    /// How many ids `missing` covers.
    missing_ids: u64,
    /// The symbol's kline of each interval as it stood with the trade `after`.
    start: Vec<Kline>,
    /// Missing trades received so far, by agg id.
    fill: BTreeMap<i64, AggTradePayload>,
    /// Live trades applied since the first jump, in agg-id order.
    live: Vec<AggTradePayload>,
    /// Shard clock when the gap was found.
    since_ms: i64,
    /// Whether its missing ranges went to the backfill; later ones then go at once.
    reported: bool,
    /// Last agg id a tail claim ([`Shard::claim_tail`]) added, or `i64::MIN`: the ids up to
    /// it that come are counted as the tail's.
    tail_to: i64,
}

impl PendingGap {
    /// The symbol whose gap this is.
    pub(crate) fn symbol(&self) -> usize {
        self.symbol
    }

    fn is_missing(&self, agg_id: i64) -> bool {
        self.missing
            .iter()
            .any(|&(from, to)| from <= agg_id && agg_id <= to)
    }
}

impl Shard {
    /// Starts waiting for agg ids `from..=to` of `symbol`, found missing when the trade after
    /// them arrived and before it is applied. Returns true if the backfill is to hear of the
    /// range only later ([`GapFillConfig::report_after_ms`]).
    pub(crate) fn open_gap(&mut self, symbol: usize, from: i64, to: i64) -> bool {
        if self.gap_fill.max_pending == 0 {
            return false;
        }
        let ids = (to - from + 1) as u64;
        if self.symbols[symbol].gap_pending {
            if let Some(gap) = self.pending.iter_mut().find(|g| g.symbol == symbol) {
                gap.missing.push((from, to));
                gap.missing_ids += ids;
                return !gap.reported;
            }
            return false;
        }
        if self.pending.len() >= self.gap_fill.max_pending {
            self.stats.gaps_unfilled += 1;
            self.stats.gap_ids_unfilled += ids;
            log::warn!(
                "gap in agg ids {from}..={to} of symbol {symbol} not filled: {} gaps pending already",
                self.pending.len()
            );
            return false;
        }
        let defer = self.gap_fill.report_after_ms > 0;
        self.begin_gap(symbol, from - 1, (from, to), !defer, i64::MIN);
        defer
    }

    /// Starts tracking a gap of `symbol` whose klines are to be replayed from after agg id
    /// `after`, missing `ids`. `reported` says the backfill needs no word of it (any more).
    pub(crate) fn begin_gap(
        &mut self,
        symbol: usize,
        after: i64,
        ids: (i64, i64),
        reported: bool,
        tail_to: i64,
    ) {
        let start = (0..self.n_intervals)
            .map(|interval| self.kline_before_gap(self.slot_id(symbol, interval)))
            .collect();
        self.pending.push(PendingGap {
            symbol,
            after,
            missing: vec![ids],
            missing_ids: (ids.1 - ids.0 + 1) as u64,
            start,
            fill: BTreeMap::new(),
            live: Vec::new(),
            since_ms: self.now_ms,
            reported,
            tail_to,
        });
        self.symbols[symbol].gap_pending = true;
        self.count_waiting();
    }

    /// Hands the backfill the missing ranges of the gaps that have waited
    /// [`GapFillConfig::report_after_ms`] for another connection in vain.
    pub(crate) fn report_due_gaps(&mut self) {
        if self.gap_fill.report_after_ms == 0 {
            return;
        }
        let due = self.now_ms.saturating_sub(self.gap_fill.report_after_ms);
        for index in 0..self.pending.len() {
            let gap = &mut self.pending[index];
            if gap.reported || gap.since_ms > due {
                continue;
            }
            gap.reported = true;
            let symbol = gap.symbol as u32;
            for range in 0..gap.missing.len() {
                let gap = &self.pending[index];
                let (from, to) = gap.missing[range];
                // A range the other connection filled meanwhile is not asked for.
                if gap.fill.range(from..=to).count() as i64 <= to - from {
                    self.report_gap(symbol, from, to);
                }
            }
        }
    }

    /// The kline of a slot's interval that holds the symbol's last trade: the open one if it
    /// has trades, else the last closed one with trades.
    pub(crate) fn kline_before_gap(&self, at: SlotId) -> Kline {
        if !self.slots[at.index].is_empty() {
            self.kline_at(at)
        } else if !self.last_closed[at.index].is_empty() {
            self.last_closed[at.index]
        } else {
            self.last_traded[at.index]
        }
    }

    /// Takes one of the trades a pending gap misses (from the backfill, or a second connection
    /// carrying the stream); returns false if no pending gap misses it. The last missing
    /// trade fills the gap: the symbol's klines are rebuilt with it at once.
    pub fn fill_trade(&mut self, trade: &AggTradePayload) -> bool {
        let symbol = trade.symbol as usize;
        if symbol >= self.symbols.len() || !self.symbols[symbol].gap_pending || !trade.is_valid() {
            return false;
        }
        let Some(index) = self.pending.iter().position(|g| g.symbol == symbol) else {
            return false;
        };
        let gap = &mut self.pending[index];
        if !gap.is_missing(trade.agg_id) {
            return false;
        }
        gap.fill.insert(trade.agg_id, *trade);
        if gap.fill.len() as u64 == gap.missing_ids {
            let gap = self.take_gap(index);
            self.finish_gap(gap);
        }
        true
    }

    /// Gives up waiting for `symbol`'s missing trades: its klines are rebuilt with the ones
    /// that came, and the rest is counted and logged as lost. Returns false if none was pending.
    pub fn abandon_gap(&mut self, symbol: u32) -> bool {
        let Some(index) = self
            .pending
            .iter()
            .position(|g| g.symbol == symbol as usize)
        else {
            return false;
        };
        let gap = self.take_gap(index);
        self.finish_gap(gap);
        true
    }

    /// True while `symbol` waits for missing trades.
    pub fn gap_pending(&self, symbol: u32) -> bool {
        self.symbols
            .get(symbol as usize)
            .is_some_and(|s| s.gap_pending)
    }

    /// Keeps a live trade of a symbol with a pending gap or a warm start, for its replay.
    #[cold]
    #[inline(never)]
    pub(crate) fn keep_for_replay(&mut self, trade: &AggTradePayload) {
        let state = &self.symbols[trade.symbol as usize];
        let warming = state.warming;
        if state.gap_pending {
            self.buffer_live(trade);
        }
        if warming {
            self.buffer_warm(trade);
        }
    }

    /// Keeps a live trade of a symbol with a pending gap, for the replay.
    pub(crate) fn buffer_live(&mut self, trade: &AggTradePayload) {
        let symbol = trade.symbol as usize;
        let Some(index) = self.pending.iter().position(|g| g.symbol == symbol) else {
            return;
        };
        // Kept even past the bound: the replay that gives the gap up needs it too.
        self.pending[index].live.push(*trade);
        self.buffered_trades += 1;
        if self.buffered_trades > self.gap_fill.max_buffered_trades {
            log::warn!(
                "giving up a gap of symbol {symbol}: {} live trades wait for gaps already",
                self.buffered_trades - 1
            );
            let gap = self.take_gap(index);
            self.finish_gap(gap);
        }
    }

    /// Gives up the gaps pending for longer than the timeout.
    pub(crate) fn expire_gaps(&mut self) {
        let deadline = self.now_ms.saturating_sub(self.gap_fill.timeout_ms);
        while let Some(index) = self.pending.iter().position(|g| g.since_ms < deadline) {
            let gap = self.take_gap(index);
            log::warn!(
                "giving up a gap of symbol {} after {} ms",
                gap.symbol,
                self.now_ms - gap.since_ms
            );
            self.finish_gap(gap);
        }
    }

    /// Stops tracking the pending gap at `index`: its symbol no longer waits, and its live
    /// trades no longer count against the bound.
    pub(crate) fn take_gap(&mut self, index: usize) -> PendingGap {
        let gap = self.pending.swap_remove(index);
        self.symbols[gap.symbol].gap_pending = false;
        self.buffered_trades -= gap.live.len();
        self.count_waiting();
        gap
    }

    /// Ends a gap taken from the pending ones, filled or not: counts it, and replays what came
    /// into the klines.
    fn finish_gap(&mut self, gap: PendingGap) {
        let symbol = gap.symbol;
        let filled = gap.fill.len() as u64;
        let unfilled = gap.missing_ids - filled;
        self.stats.gap_trades_filled += filled;
        self.stats.trades += filled;
        if unfilled == 0 {
            self.stats.gaps_filled += 1;
        } else {
            self.stats.gaps_unfilled += 1;
            self.stats.gap_ids_unfilled += unfilled;
            log::warn!(
                "symbol {symbol}: {unfilled} of {} missing trades (agg ids {:?}) never came; \
                 its klines miss them",
                gap.missing_ids,
                gap.missing
            );
        }
        // Even with nothing filled: the periods held while it was pending are closed here.
        self.replay_gap(&gap);
        if gap.tail_to != i64::MIN {
            self.stats.tail_trades_filled += gap.fill.range(..=gap.tail_to).count() as u64;
        }
        // Ids that never came are counted lost: a later trade is not to report them again
        // (only a tail claim's can lie above every trade applied).
        let highest = gap
            .missing
            .iter()
            .map(|&(_, to)| to)
            .max()
            .unwrap_or(i64::MIN);
        let state = &mut self.symbols[symbol];
        state.last_agg_id = state.last_agg_id.max(highest);
    }

    /// Puts the symbol's klines back to where they stood before the gap and applies the
    /// missing and live trades in agg-id order. Ids that never came stay missing: they were
    /// counted when the gap was given up.
    fn replay_gap(&mut self, gap: &PendingGap) {
        let mut fill = gap.fill.values().copied().peekable();
        let mut live = gap.live.iter().copied().peekable();
        let mut merged = std::iter::from_fn(|| match (fill.peek(), live.peek()) {
            (Some(f), Some(l)) if f.agg_id < l.agg_id => fill.next(),
            (Some(_), None) => fill.next(),
            _ => live.next(),
        });
        self.replay_from(gap.symbol, &gap.start, gap.after, &mut merged, false);
    }

    /// Sets `symbol`'s klines to `start` (one per interval) as they stood after agg id
    /// `after`, and applies `trades` (agg-id order) on top; every period closed again is a
    /// correction. With `find_gaps`, a jump in the ids is a gap like a live one; duplicates are
    /// skipped. Each slot ends in the period it was in before, as the clock had moved it.
    pub(crate) fn replay_from(
        &mut self,
        symbol: usize,
        start: &[Kline],
        after: i64,
        trades: &mut dyn Iterator<Item = AggTradePayload>,
        find_gaps: bool,
    ) {
        let mut open_before = [0i64; MAX_INTERVALS];
        self.version += 1;
        for (interval, kline) in start.iter().enumerate() {
            let at = self.slot_id(symbol, interval);
            open_before[interval] = self.slots[at.index].open_time;
            self.set_slot(at, kline);
        }
        self.symbols[symbol].last_agg_id = after;
        self.rebuilding = true;
        for trade in trades {
            let last = self.symbols[symbol].last_agg_id;
            if trade.agg_id <= last {
                continue;
            }
            if find_gaps && trade.agg_id > last + 1 {
                self.record_gap(trade.symbol, last + 1, trade.agg_id - 1);
            }
            self.apply_trade(&trade);
            if self.symbols[symbol].gap_pending {
                self.buffer_live(&trade);
            }
        }
        self.version += 1;
        for (interval, &open_time) in open_before.iter().enumerate().take(self.n_intervals) {
            let at = self.slot_id(symbol, interval);
            if self.slots[at.index].open_time < open_time {
                self.roll_to(at, open_time);
            }
            let due = self.due_time(self.slots[at.index].close_time);
            self.next_due_ms = self.next_due_ms.min(due);
        }
        self.rebuilding = false;
    }
}
