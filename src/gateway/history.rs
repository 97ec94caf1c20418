//! The klines the gateway has seen, per (symbol, interval): a bounded run of closed ones for
//! REST, and the open one for REST and for the snapshot a new subscriber gets.
//!
//! Every trade a pull brings updates its symbol's open kline of every interval, so a symbol's
//! slots sit side by side, indexed by symbol then interval: no hashing, and one run of
//! memory per symbol instead of a cache miss per interval.

use std::collections::VecDeque;

use crate::kline::Kline;

/// A (global symbol index, interval index) pair, as in `KlineRecord`.
pub type SlotKey = (u32, u16);

/// One slot's klines.
#[derive(Debug, Default)]
struct Slot {
    /// Closed klines, oldest first, by open time.
    closed: VecDeque<Kline>,
    /// The latest open kline, if newer than every closed one.
    open: Option<Kline>,
}

/// Klines seen per slot, at most `per_slot` closed ones each.
#[derive(Debug)]
pub struct History {
    /// By symbol, then interval; grown as symbols and intervals show up.
    slots: Vec<Vec<Slot>>,
    per_slot: usize,
}

impl History {
    /// An empty history keeping `per_slot` closed klines per slot.
    pub fn new(per_slot: usize) -> History {
        History {
            slots: Vec::new(),
            per_slot,
        }
    }

    fn slot_mut(&mut self, (symbol, interval): SlotKey) -> &mut Slot {
        let (symbol, interval) = (symbol as usize, usize::from(interval));
        if symbol >= self.slots.len() {
            self.slots.resize_with(symbol + 1, Vec::new);
        }
        let intervals = &mut self.slots[symbol];
        if interval >= intervals.len() {
            intervals.resize_with(interval + 1, Slot::default);
        }
        &mut intervals[interval]
    }

    fn slot(&self, (symbol, interval): SlotKey) -> Option<&Slot> {
        self.slots.get(symbol as usize)?.get(usize::from(interval))
    }

    /// Records the latest state of an open kline.
    pub fn open(&mut self, key: SlotKey, kline: &Kline) {
        let slot = self.slot_mut(key);
        if slot
            .closed
            .back()
            .is_none_or(|last| last.open_time < kline.open_time)
        {
            slot.open = Some(*kline);
        }
    }

    /// Records a closed kline; a correction replaces the kline of the same open time.
    pub fn close(&mut self, key: SlotKey, kline: &Kline) {
        let per_slot = self.per_slot;
        let slot = self.slot_mut(key);
        if slot
            .open
            .is_some_and(|open| open.open_time <= kline.open_time)
        {
            slot.open = None;
        }
        match slot.closed.back() {
            Some(last) if last.open_time >= kline.open_time => {
                if let Some(same) = slot
                    .closed
                    .iter_mut()
                    .find(|k| k.open_time == kline.open_time)
                {
                    *same = *kline;
                }
            }
            _ => {
                slot.closed.push_back(*kline);
                if slot.closed.len() > per_slot {
                    slot.closed.pop_front();
                }
            }
        }
    }

    /// The current open kline of a slot.
    pub fn current(&self, key: SlotKey) -> Option<&Kline> {
        self.slot(key).and_then(|slot| slot.open.as_ref())
    }

    /// Klines of a slot (closed ones, then the open one) whose open time is within
    /// `[start, end]`, at most `limit`: the first ones from `start` when it is given, otherwise
    /// the latest, oldest first in both cases (as Binance answers).
    pub fn query(
        &self,
        key: SlotKey,
        start: Option<i64>,
        end: Option<i64>,
        limit: usize,
    ) -> Vec<Kline> {
        let Some(slot) = self.slot(key) else {
            return Vec::new();
        };
        let within = |k: &&Kline| {
            start.is_none_or(|s| k.open_time >= s) && end.is_none_or(|e| k.open_time <= e)
        };
        let all = slot.closed.iter().chain(slot.open.iter()).filter(within);
        let mut rows: Vec<Kline> = all.copied().collect();
        if start.is_some() {
            rows.truncate(limit);
        } else if rows.len() > limit {
            rows.drain(..rows.len() - limit);
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kline(open_time: i64) -> Kline {
        Kline::empty(open_time, open_time + 59_999, 1)
    }

    #[test]
    fn closed_then_open_bounded_and_limited() {
        let mut history = History::new(3);
        for t in 0..5 {
            history.close((0, 0), &kline(t * 60_000));
        }
        history.open((0, 0), &kline(300_000));
        let times = |rows: Vec<Kline>| {
            rows.iter()
                .map(|k| k.open_time / 60_000)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            times(history.query((0, 0), None, None, 10)),
            vec![2, 3, 4, 5]
        );
        assert_eq!(times(history.query((0, 0), None, None, 2)), vec![4, 5]);
        assert_eq!(
            times(history.query((0, 0), Some(180_000), None, 2)),
            vec![3, 4]
        );
        assert_eq!(
            times(history.query((0, 0), None, Some(180_000), 9)),
            vec![2, 3]
        );
        history.close((0, 0), &kline(300_000));
        assert!(history.current((0, 0)).is_none());
    }
}
