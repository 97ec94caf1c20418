//! The cold paths of a shard: closing periods, filling skipped ones, and correcting the last
//! closed kline with a late trade.

use super::shard::Shard;
use super::slot::{Slot, SlotBase, SlotId};
use crate::kline::{Kline, Sums};
use crate::trade::AggTradePayload;

impl Shard {
    /// Moves a slot forward to the period containing `time`: the open kline is closed, every
    /// period skipped in between is closed as an empty kline at the previous close, and the
    /// period of `time` is opened empty (the caller applies its trade, if any). A slot that
    /// never traded is simply opened. The caller has bumped the shard version for this change.
    #[cold]
    #[inline(never)]
    pub(crate) fn roll_to(&mut self, at: SlotId, time: i64) {
        let rule = self.intervals[at.interval];
        let current = self.slots[at.index];
        let (open, price) = if current.is_active() {
            // While a gap is pending, a period without trades may hold its missing ones: it is
            // not emitted as empty now but by the gap's replay, with whatever trades it had.
            let hold_empty = self.symbols[at.symbol].gap_pending && !self.rebuilding;
            let mut last = self.kline_at(at);
            if !(hold_empty && last.is_empty()) {
                self.close(at, &last);
            }
            if !last.is_empty() {
                self.last_traded[at.index] = last;
            }
            let price = last.close;
            let mut open = rule.next_open(current.open_time);
            while rule.close_time(open) < time {
                last = Kline::empty(open, rule.close_time(open), price);
                if !hold_empty {
                    self.close(at, &last);
                }
                open = rule.next_open(open);
            }
            self.last_closed[at.index] = last;
            (open, price)
        } else {
            let open = rule.open_time(time);
            self.next_due_ms = self.next_due_ms.min(self.due_time(rule.close_time(open)));
            (open, 0)
        };
        self.slots[at.index] = Slot::empty(open, rule.close_time(open), price);
        self.bases[at.index] = SlotBase {
            sums: self.symbols[at.symbol].totals,
            version: self.version,
        };
        self.symbols[at.symbol].version = self.version;
    }

    /// Handles a trade older than the slot's open period. If it belongs to the kline the slot
    /// closed last and that kline is still inside its correction window, the kline absorbs it
    /// and is emitted again as a correction; otherwise the trade is dropped for this interval
    /// and counted. Either way the open kline must not count it.
    #[cold]
    #[inline(never)]
    pub(crate) fn apply_late(&mut self, at: SlotId, trade: &AggTradePayload) {
        self.bases[at.index].sums.add(&Sums::of(trade));
        let mut last = self.last_closed[at.index];
        let time = trade.trade_time_ms;
        let belongs = last.open_time <= time && time <= last.close_time;
        let correction_deadline = self.due_time(last.close_time).saturating_add(self.grace_ms);
        if !belongs || self.now_ms >= correction_deadline {
            self.stats.late_dropped += 1;
            return;
        }
        last.apply(trade);
        self.stats.corrections += 1;
        self.emit_closed(at, &last, true);
        self.last_closed[at.index] = last;
        let slot = &mut self.slots[at.index];
        if slot.is_empty() {
            // The empty period after it carried the old close forward.
            slot.close = last.close;
            self.bases[at.index].version = self.version;
        }
    }

    /// Counts a closed kline and hands it to consumers; the caller keeps the slot's last one
    /// for late corrections. A gap's rebuild closes periods closed once already: those are
    /// corrections.
    #[inline]
    fn close(&mut self, at: SlotId, kline: &Kline) {
        if self.rebuilding {
            self.stats.gap_corrections += 1;
        } else {
            self.stats.klines_closed += 1;
            self.stats.empty_klines += u64::from(kline.is_empty());
        }
        self.emit_closed(at, kline, self.rebuilding);
    }

    /// When `tick` will close a period that ends at `close_time`.
    pub(crate) fn due_time(&self, close_time: i64) -> i64 {
        close_time.saturating_add(1 + self.grace_ms)
    }
}
