//! A naive shard: the rules a shard follows, written the obvious way, to hold the real one to.
//!
//! One plain `Kline` per (symbol, interval), every trade applied to every interval, every tick
//! looking at every slot; repairs kept as lists and replayed from copies of the klines; the
//! calendar is the oracle's ([`Period`]). It shares nothing with the aggregator's pieces,
//! folds or queues: only the types both hand out, and `Kline::apply` for one trade.
#![allow(dead_code)]

use std::collections::BTreeMap;

use klagg::aggregator::{
    Gap, GapFillConfig, KlineRecord, RestoreError, ShardStats, TradeOutcome, WarmStart,
};
use klagg::kline::Kline;
use klagg::oracle::Period;
use klagg::trade::AggTradePayload;

const INACTIVE: i64 = i64::MIN;
const NO_AGG: i64 = i64::MIN;

fn never() -> Kline {
    Kline::empty(INACTIVE, INACTIVE, 0)
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The open kline; `open_time == INACTIVE` before the symbol's first trade.
    kline: Kline,
    last_closed: Kline,
    last_traded: Kline,
    /// Changed since the last pull.
    dirty: bool,
}

#[derive(Debug)]
struct GapState {
    after: i64,
    missing: Vec<(i64, i64)>,
    missing_ids: u64,
    start: Vec<Kline>,
    fill: BTreeMap<i64, AggTradePayload>,
    found: i64,
    reported: bool,
    tail_to: i64,
}

#[derive(Debug)]
enum Warm {
    No,
    Waiting,
    Ready(WarmStart),
}

#[derive(Debug)]
struct Hold {
    since: i64,
    live: Vec<AggTradePayload>,
    gap: Option<GapState>,
    warm: Warm,
}

impl Hold {
    fn warming(&self) -> bool {
        !matches!(self.warm, Warm::No)
    }
}

/// One pull's worth: closed klines in order, and the open ones that changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NaiveDelta {
    pub closed: Vec<KlineRecord>,
    pub open: Vec<KlineRecord>,
}

/// The reference shard.
#[derive(Debug)]
pub struct NaiveShard {
    periods: Vec<Period>,
    grace: i64,
    config: GapFillConfig,
    slots: Vec<Vec<Slot>>,
    last_agg: Vec<i64>,
    first_agg: Vec<i64>,
    /// Holds in the order they began (a symbol's place is kept while it stays held).
    holds: Vec<(usize, Hold)>,
    now: i64,
    rebuilding: bool,
    closed: Vec<KlineRecord>,
    reports: Vec<Gap>,
    max_reports: usize,
    pub stats: ShardStats,
}

impl NaiveShard {
    /// A shard of `symbols` symbols over interval names such as `1s`, `1w`, `1M`.
    pub fn new(
        intervals: &[&str],
        symbols: usize,
        grace: i64,
        config: GapFillConfig,
        max_reports: usize,
    ) -> NaiveShard {
        let periods: Vec<Period> = intervals
            .iter()
            .map(|name| Period::parse(name).expect("interval"))
            .collect();
        let slot = Slot {
            kline: never(),
            last_closed: never(),
            last_traded: never(),
            dirty: false,
        };
        NaiveShard {
            slots: vec![vec![slot; periods.len()]; symbols],
            periods,
            grace,
            config,
            last_agg: vec![NO_AGG; symbols],
            first_agg: vec![NO_AGG; symbols],
            holds: Vec::new(),
            now: i64::MIN,
            rebuilding: false,
            closed: Vec::new(),
            reports: Vec::new(),
            max_reports,
            stats: ShardStats::default(),
        }
    }

    fn close_of(&self, interval: usize, open: i64) -> i64 {
        self.periods[interval].next(open) - 1
    }

    fn hold_index(&self, symbol: usize) -> Option<usize> {
        self.holds.iter().position(|(s, _)| *s == symbol)
    }

    fn gap_pending(&self, symbol: usize) -> bool {
        self.hold_index(symbol)
            .is_some_and(|i| self.holds[i].1.gap.is_some())
    }

    fn held(&self, symbol: usize) -> bool {
        self.hold_index(symbol).is_some()
    }

    fn buffered(&self) -> usize {
        self.holds.iter().map(|(_, h)| h.live.len()).sum()
    }

    fn count_waiting(&mut self) {
        self.stats.gaps_pending = self.holds.iter().filter(|(_, h)| h.gap.is_some()).count() as u64;
        self.stats.warm_pending = self.holds.iter().filter(|(_, h)| h.warming()).count() as u64;
    }

    fn emit(&mut self, symbol: usize, interval: usize, kline: Kline, correction: bool) {
        self.closed.push(KlineRecord {
            symbol: symbol as u32,
            interval: interval as u16,
            correction,
            kline,
        });
    }

    /// Closes a slot's kline and the empty periods up to the one holding `time`.
    fn roll(&mut self, symbol: usize, interval: usize, time: i64) {
        let hold_empty = self.gap_pending(symbol) && !self.rebuilding;
        let current = self.slots[symbol][interval].kline;
        let emit = |shard: &mut NaiveShard, kline: Kline| {
            if hold_empty && kline.is_empty() {
                return;
            }
            if shard.rebuilding {
                shard.stats.gap_corrections += 1;
            } else {
                shard.stats.klines_closed += 1;
                shard.stats.empty_klines += u64::from(kline.is_empty());
            }
            shard.emit(symbol, interval, kline, shard.rebuilding);
        };
        emit(self, current);
        if !current.is_empty() {
            self.slots[symbol][interval].last_traded = current;
        }
        let mut last = current;
        let mut open = self.periods[interval].next(current.open_time);
        while self.close_of(interval, open) < time {
            last = Kline::empty(open, self.close_of(interval, open), current.close);
            emit(self, last);
            open = self.periods[interval].next(open);
        }
        let close = self.close_of(interval, open);
        let slot = &mut self.slots[symbol][interval];
        slot.last_closed = last;
        slot.kline = Kline::empty(open, close, current.close);
        slot.dirty = true;
    }

    /// A trade older than the slot's open period.
    fn late(&mut self, symbol: usize, interval: usize, trade: &AggTradePayload) {
        let slot = self.slots[symbol][interval];
        let mut last = slot.last_closed;
        let time = trade.trade_time_ms;
        let deadline = last
            .close_time
            .saturating_add(1 + self.grace)
            .saturating_add(self.grace);
        if !(last.open_time <= time && time <= last.close_time) || self.now >= deadline {
            self.stats.late_dropped += 1;
            return;
        }
        last.apply(trade);
        self.stats.corrections += 1;
        self.emit(symbol, interval, last, true);
        let slot = &mut self.slots[symbol][interval];
        slot.last_closed = last;
        slot.last_traded = last;
        if slot.kline.is_empty() {
            slot.kline = Kline::empty(slot.kline.open_time, slot.kline.close_time, last.close);
            slot.dirty = true;
        }
    }

    /// Applies a trade that follows the symbol's last one to every interval.
    fn apply(&mut self, trade: &AggTradePayload) {
        let symbol = trade.symbol as usize;
        let time = trade.trade_time_ms;
        self.now = self.now.max(time);
        for interval in 0..self.periods.len() {
            if self.slots[symbol][interval].kline.open_time == INACTIVE {
                let open = self.periods[interval].start_of(time);
                let close = self.close_of(interval, open);
                self.slots[symbol][interval].kline = Kline::empty(open, close, 0);
            }
            if time > self.slots[symbol][interval].kline.close_time {
                self.roll(symbol, interval, time);
            }
            let slot = &mut self.slots[symbol][interval];
            if time >= slot.kline.open_time {
                slot.kline.apply(trade);
            } else {
                self.late(symbol, interval, trade);
            }
            self.slots[symbol][interval].dirty = true;
        }
        self.last_agg[symbol] = trade.agg_id;
    }

    /// See `Shard::process_trade`.
    pub fn process_trade(&mut self, trade: &AggTradePayload) -> TradeOutcome {
        let symbol = trade.symbol as usize;
        if symbol >= self.slots.len() || !trade.is_valid() {
            self.stats.invalid += 1;
            return TradeOutcome::Invalid;
        }
        let last = self.last_agg[symbol];
        let mut outcome = TradeOutcome::Applied;
        if last != NO_AGG {
            if trade.agg_id <= last {
                if self.gap_pending(symbol) && self.fill_trade(trade) {
                    return TradeOutcome::Filled;
                }
                self.stats.duplicates += 1;
                return TradeOutcome::Duplicate;
            }
            if trade.agg_id > last + 1 {
                self.record_gap(symbol, last + 1, trade.agg_id - 1);
                outcome = TradeOutcome::AppliedAfterGap;
            }
        } else {
            self.first_agg[symbol] = trade.agg_id;
        }
        self.apply(trade);
        self.stats.trades += 1;
        if self.held(symbol) {
            self.keep(trade);
        }
        outcome
    }

    /// See `Shard::tick`.
    pub fn tick(&mut self, now: i64) {
        self.now = self.now.max(now);
        self.on_clock();
        let until = now.saturating_sub(self.grace);
        for symbol in 0..self.slots.len() {
            if self.gap_pending(symbol) {
                continue;
            }
            for interval in 0..self.periods.len() {
                let kline = self.slots[symbol][interval].kline;
                if kline.open_time != INACTIVE && kline.close_time < until {
                    self.roll(symbol, interval, until);
                }
            }
        }
    }

    /// Everything closed since the last pull, and the open klines that changed.
    pub fn pull(&mut self) -> NaiveDelta {
        let mut open = Vec::new();
        for (symbol, slots) in self.slots.iter_mut().enumerate() {
            for (interval, slot) in slots.iter_mut().enumerate() {
                if slot.dirty && slot.kline.open_time != INACTIVE {
                    open.push(KlineRecord {
                        symbol: symbol as u32,
                        interval: interval as u16,
                        correction: false,
                        kline: slot.kline,
                    });
                }
                slot.dirty = false;
            }
        }
        NaiveDelta {
            closed: std::mem::take(&mut self.closed),
            open,
        }
    }

    /// See `Shard::open_kline`.
    pub fn open_kline(&self, symbol: usize, interval: usize) -> Option<Kline> {
        let kline = self.slots[symbol][interval].kline;
        (kline.open_time != INACTIVE).then_some(kline)
    }

    /// See `Shard::take_gaps`.
    pub fn take_gaps(&mut self, out: &mut Vec<Gap>) {
        out.append(&mut self.reports);
    }

    /// See `Shard::restore_open`.
    pub fn restore_open(
        &mut self,
        symbol: usize,
        interval: usize,
        kline: &Kline,
    ) -> Result<(), RestoreError> {
        if symbol >= self.slots.len() || interval >= self.periods.len() {
            return Err(RestoreError::OutOfRange);
        }
        if self.slots[symbol][interval].kline.open_time != INACTIVE {
            return Err(RestoreError::AlreadyLive);
        }
        let period = self.periods[interval];
        if period.start_of(kline.open_time) != kline.open_time
            || period.next(kline.open_time) - 1 != kline.close_time
        {
            return Err(RestoreError::NotAPeriod);
        }
        let slot = &mut self.slots[symbol][interval];
        slot.kline = *kline;
        slot.dirty = true;
        Ok(())
    }

    fn report(&mut self, symbol: usize, from: i64, to: i64) {
        if self.reports.len() < self.max_reports {
            self.reports.push(Gap {
                symbol: symbol as u32,
                from_agg_id: from,
                to_agg_id: to,
            });
        } else {
            self.stats.gaps_unrecorded += 1;
        }
    }

    fn kline_before_gap(&self, symbol: usize, interval: usize) -> Kline {
        let slot = &self.slots[symbol][interval];
        if !slot.kline.is_empty() {
            slot.kline
        } else if !slot.last_closed.is_empty() {
            slot.last_closed
        } else {
            slot.last_traded
        }
    }

    fn hold(&mut self, symbol: usize) -> usize {
        if let Some(i) = self.hold_index(symbol) {
            return i;
        }
        self.holds.push((
            symbol,
            Hold {
                since: self.now,
                live: Vec::new(),
                gap: None,
                warm: Warm::No,
            },
        ));
        self.holds.len() - 1
    }

    fn begin_gap(
        &mut self,
        symbol: usize,
        after: i64,
        ids: (i64, i64),
        reported: bool,
        tail_to: i64,
    ) {
        let start = (0..self.periods.len())
            .map(|i| self.kline_before_gap(symbol, i))
            .collect();
        let now = self.now;
        let i = self.hold(symbol);
        self.holds[i].1.gap = Some(GapState {
            after,
            missing: vec![ids],
            missing_ids: (ids.1 - ids.0 + 1) as u64,
            start,
            fill: BTreeMap::new(),
            found: now,
            reported,
            tail_to,
        });
        self.count_waiting();
    }

    fn open_gap(&mut self, symbol: usize, from: i64, to: i64) -> bool {
        if self.config.max_pending == 0 {
            return false;
        }
        let ids = (to - from + 1) as u64;
        if let Some(i) = self.hold_index(symbol)
            && let Some(gap) = &mut self.holds[i].1.gap
        {
            gap.missing.push((from, to));
            gap.missing_ids += ids;
            return !gap.reported;
        }
        let gaps = self.holds.iter().filter(|(_, h)| h.gap.is_some()).count();
        if gaps >= self.config.max_pending {
            self.stats.gaps_unfilled += 1;
            self.stats.gap_ids_unfilled += ids;
            return false;
        }
        let defer = self.config.report_after_ms > 0;
        self.begin_gap(symbol, from - 1, (from, to), !defer, i64::MIN);
        defer
    }

    fn record_gap(&mut self, symbol: usize, from: i64, to: i64) {
        let later = self.open_gap(symbol, from, to);
        self.stats.gaps += 1;
        self.stats.missing_agg_ids += (to - from + 1) as u64;
        if !later {
            self.report(symbol, from, to);
        }
    }

    /// See `Shard::fill_trade`.
    pub fn fill_trade(&mut self, trade: &AggTradePayload) -> bool {
        let symbol = trade.symbol as usize;
        if symbol >= self.slots.len() || !self.gap_pending(symbol) || !trade.is_valid() {
            return false;
        }
        let i = self.hold_index(symbol).expect("held");
        let gap = self.holds[i].1.gap.as_mut().expect("gap");
        if !gap
            .missing
            .iter()
            .any(|&(f, t)| f <= trade.agg_id && trade.agg_id <= t)
        {
            return false;
        }
        gap.fill.insert(trade.agg_id, *trade);
        if gap.fill.len() as u64 == gap.missing_ids {
            self.finish_gap(symbol);
        }
        true
    }

    /// See `Shard::abandon_gap`.
    pub fn abandon_gap(&mut self, symbol: usize) -> bool {
        if !self.gap_pending(symbol) {
            return false;
        }
        self.finish_gap(symbol);
        true
    }

    fn finish_gap(&mut self, symbol: usize) {
        let i = self.hold_index(symbol).expect("held");
        let gap = self.holds[i].1.gap.take().expect("gap");
        let filled = gap.fill.len() as u64;
        let unfilled = gap.missing_ids - filled;
        self.stats.gap_trades_filled += filled;
        self.stats.trades += filled;
        if unfilled == 0 {
            self.stats.gaps_filled += 1;
        } else {
            self.stats.gaps_unfilled += 1;
            self.stats.gap_ids_unfilled += unfilled;
        }
        let live = if self.holds[i].1.warming() {
            self.holds[i].1.live.clone()
        } else {
            self.holds.remove(i).1.live
        };
        self.count_waiting();
        let mut trades: Vec<AggTradePayload> = gap.fill.values().copied().collect();
        trades.extend(live.iter().filter(|t| t.agg_id > gap.after));
        trades.sort_by_key(|t| t.agg_id);
        self.replay(symbol, gap.start.clone(), gap.after, &trades, false);
        if gap.tail_to != i64::MIN {
            self.stats.tail_trades_filled += gap.fill.range(..=gap.tail_to).count() as u64;
        }
        let highest = gap
            .missing
            .iter()
            .map(|&(_, t)| t)
            .max()
            .unwrap_or(i64::MIN);
        self.last_agg[symbol] = self.last_agg[symbol].max(highest);
    }

    fn replay(
        &mut self,
        symbol: usize,
        start: Vec<Kline>,
        after: i64,
        trades: &[AggTradePayload],
        find_gaps: bool,
    ) {
        let before: Vec<i64> = self.slots[symbol]
            .iter()
            .map(|s| s.kline.open_time)
            .collect();
        for (slot, kline) in self.slots[symbol].iter_mut().zip(start) {
            slot.kline = kline;
            slot.dirty = true;
        }
        self.last_agg[symbol] = after;
        self.rebuilding = true;
        for trade in trades {
            let last = self.last_agg[symbol];
            if trade.agg_id <= last {
                continue;
            }
            if find_gaps && trade.agg_id > last + 1 {
                self.record_gap(symbol, last + 1, trade.agg_id - 1);
            }
            self.apply(trade);
            if find_gaps && let Some(i) = self.hold_index(symbol) {
                self.holds[i].1.live.push(*trade);
            }
        }
        for (interval, &open) in before.iter().enumerate() {
            let kline = self.slots[symbol][interval].kline;
            if kline.open_time != INACTIVE && kline.close_time < open {
                self.roll(symbol, interval, open);
            }
        }
        self.rebuilding = false;
    }

    fn keep(&mut self, trade: &AggTradePayload) {
        let symbol = trade.symbol as usize;
        let Some(i) = self.hold_index(symbol) else {
            return;
        };
        self.holds[i].1.live.push(*trade);
        if self.buffered() > self.config.max_buffered_trades {
            self.give_up(symbol);
        } else if matches!(self.holds[i].1.warm, Warm::Ready(_)) {
            self.try_warm(symbol);
        }
    }

    fn give_up(&mut self, symbol: usize) {
        self.abandon_warm(symbol);
        if self.gap_pending(symbol) {
            self.finish_gap(symbol);
        }
    }

    fn on_clock(&mut self) {
        if self.holds.is_empty() {
            return;
        }
        let now = self.now;
        if self.config.report_after_ms > 0 {
            let due = now.saturating_sub(self.config.report_after_ms);
            let mut ranges = Vec::new();
            for (symbol, hold) in &mut self.holds {
                let Some(gap) = &mut hold.gap else { continue };
                if gap.reported || gap.found > due {
                    continue;
                }
                gap.reported = true;
                for &(from, to) in &gap.missing {
                    if (gap.fill.range(from..=to).count() as i64) <= to - from {
                        ranges.push((*symbol, from, to));
                    }
                }
            }
            for (symbol, from, to) in ranges {
                self.report(symbol, from, to);
            }
        }
        for (_, hold) in &mut self.holds {
            if hold.since == i64::MIN {
                hold.since = now;
            }
        }
        let deadline = now.saturating_sub(self.config.timeout_ms);
        while let Some(i) = self.holds.iter().position(|(_, h)| h.since < deadline) {
            let symbol = self.holds[i].0;
            self.give_up(symbol);
        }
    }

    /// See `Shard::begin_warm`.
    pub fn begin_warm(&mut self, symbol: usize) -> bool {
        if symbol >= self.slots.len() {
            return false;
        }
        let i = self.hold(symbol);
        if !self.holds[i].1.warming() {
            self.holds[i].1.warm = Warm::Waiting;
        }
        self.count_waiting();
        true
    }

    /// See `Shard::finish_warm`.
    pub fn finish_warm(&mut self, data: WarmStart) -> bool {
        let symbol = data.symbol as usize;
        if data.open.len() != self.periods.len() || symbol >= self.slots.len() {
            return false;
        }
        self.begin_warm(symbol);
        let i = self.hold_index(symbol).expect("held");
        self.holds[i].1.warm = Warm::Ready(data);
        self.try_warm(symbol);
        true
    }

    /// See `Shard::abandon_warm`.
    pub fn abandon_warm(&mut self, symbol: usize) {
        let Some(i) = self.hold_index(symbol) else {
            return;
        };
        if !self.holds[i].1.warming() {
            return;
        }
        self.holds[i].1.warm = Warm::No;
        self.stats.warm_starts_failed += 1;
        if self.holds[i].1.gap.is_none() {
            self.holds.remove(i);
        }
        self.count_waiting();
    }

    /// See `Shard::warming`.
    pub fn warming(&self, symbol: usize) -> bool {
        self.hold_index(symbol)
            .is_some_and(|i| self.holds[i].1.warming())
    }

    fn try_warm(&mut self, symbol: usize) {
        let i = self.hold_index(symbol).expect("held");
        let hold = &self.holds[i].1;
        let Warm::Ready(data) = &hold.warm else {
            return;
        };
        let mut replay: Vec<AggTradePayload> = data.trades.clone();
        replay.extend(hold.live.iter().filter(|t| t.trade_time_ms >= data.from_ms));
        if let Some(gap) = &hold.gap {
            replay.extend(gap.fill.values());
        }
        replay.sort_by_key(|t| t.agg_id);
        replay.dedup_by_key(|t| t.agg_id);
        let Some(&first) = replay.first() else {
            return;
        };
        let (_, hold) = self.holds.remove(i);
        self.count_waiting();
        let Warm::Ready(data) = hold.warm else {
            unreachable!()
        };
        let (first_live, last) = (self.first_agg[symbol], self.last_agg[symbol]);
        let missing = |agg: i64| {
            hold.gap
                .as_ref()
                .is_some_and(|g| g.missing.iter().any(|&(f, t)| f <= agg && agg <= t))
        };
        let added = replay
            .iter()
            .filter(|t| {
                last == NO_AGG || !(first_live..=last).contains(&t.agg_id) || missing(t.agg_id)
            })
            .count();
        self.stats.trades += added as u64;
        self.stats.warm_starts += 1;
        let start = data
            .open
            .iter()
            .map(|k| {
                let mut k = *k;
                if k.count > 0 {
                    k.first_trade_id = first.first_trade_id - k.count;
                    k.last_trade_id = first.first_trade_id - 1;
                }
                k
            })
            .collect();
        self.replay(symbol, start, first.agg_id - 1, &replay, true);
        self.count_waiting();
    }

    /// See `Shard::claim_tail`.
    pub fn claim_tail(&mut self, symbol: usize, from: i64, to: i64) -> bool {
        if symbol >= self.slots.len() {
            return false;
        }
        let last = self.last_agg[symbol];
        if self.held(symbol) || last == NO_AGG || to <= last || from > to {
            return false;
        }
        let gaps = self.holds.iter().filter(|(_, h)| h.gap.is_some()).count();
        if self.config.max_pending == 0 || gaps >= self.config.max_pending {
            return false;
        }
        let first = from.max(last + 1);
        let lost = (first - last - 1) as u64;
        self.stats.gaps += 1;
        self.stats.tail_gaps += 1;
        self.stats.missing_agg_ids += (to - last) as u64;
        self.stats.gap_ids_unfilled += lost;
        let reported = self.config.report_after_ms == 0;
        self.begin_gap(symbol, last, (first, to), reported, to);
        self.last_agg[symbol] = to;
        true
    }
}
