//! The cold paths of a shard: closing periods, filling skipped ones, and correcting the last
//! closed kline with a late trade.

use super::shard::Shard;
use super::slot::{Slot, SlotBase};
use crate::kline::{Kline, Sums};
use crate::trade::AggTradePayload;

impl Shard {
    /// Moves a slot forward to the period containing `time`: the open kline is closed, every
    /// period skipped in between is closed as an empty kline at the previous close, and the
    /// period of `time` is opened empty (the caller applies its trade, if any). A slot that
    /// never traded is simply opened. The caller has bumped the shard version for this change.
    // Out of line on purpose: inlined, the optimiser hoists the calendar-month arithmetic out
    // of the per-interval loop and runs it for every trade (measured: 40 ns of 45 per trade).
    #[cold]
    #[inline(never)]
    pub(crate) fn roll_to(&mut self, index: usize, time: i64) {
        let rule = self.intervals[index % self.n_intervals];
        let symbol = index / self.n_intervals;
        let current = self.slots[index];
        let (open, price) = if current.is_active() {
            let kline = self.kline_at(index);
            self.close(index, kline);
            let mut open = rule.next_open(current.open_time);
            while rule.close_time(open) < time {
                self.close(
                    index,
                    Kline::empty(open, rule.close_time(open), kline.close),
                );
                open = rule.next_open(open);
            }
            (open, kline.close)
        } else {
            let open = rule.open_time(time);
            self.next_due_ms = self.next_due_ms.min(self.due_time(rule.close_time(open)));
            (open, 0)
        };
        self.slots[index] = Slot::empty(open, rule.close_time(open), price);
        self.bases[index] = SlotBase {
            sums: self.symbols[symbol].totals,
            version: self.version,
        };
        self.symbols[symbol].version = self.version;
    }

    /// Handles a trade older than the slot's open period. If it belongs to the kline the slot
    /// closed last and that kline is still inside its correction window, the kline absorbs it
    /// and is emitted again as a correction; otherwise the trade is dropped for this interval
    /// and counted. Either way the open kline must not count it.
    #[cold]
    #[inline(never)]
    pub(crate) fn apply_late(&mut self, index: usize, trade: &AggTradePayload) {
        self.bases[index].sums.add(&Sums::of(trade));
        let mut last = self.last_closed[index];
        let time = trade.trade_time_ms;
        let belongs = last.open_time <= time && time <= last.close_time;
        let correction_deadline = self.due_time(last.close_time).saturating_add(self.grace_ms);
        if !belongs || self.now_ms >= correction_deadline {
            self.stats.late_dropped += 1;
            return;
        }
        last.apply(trade);
        self.stats.corrections += 1;
        self.emit_closed(index, last, true);
        self.last_closed[index] = last;
        let slot = &mut self.slots[index];
        if slot.is_empty() {
            // The empty period after it carried the old close forward.
            slot.close = last.close;
            self.bases[index].version = self.version;
        }
    }

    /// Records a kline as closed: emitted to consumers and kept for late corrections.
    fn close(&mut self, index: usize, kline: Kline) {
        self.stats.klines_closed += 1;
        if kline.is_empty() {
            self.stats.empty_klines += 1;
        }
        self.last_closed[index] = kline;
        self.emit_closed(index, kline, false);
    }

    /// When `tick` will close a period that ends at `close_time`.
    pub(crate) fn due_time(&self, close_time: i64) -> i64 {
        close_time.saturating_add(1 + self.grace_ms)
    }
}
