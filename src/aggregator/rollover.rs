//! The cold paths of a shard: closing periods, filling skipped ones, and correcting the last
//! closed kline with a late trade.

use super::shard::{INACTIVE, Shard};
use crate::kline::Kline;
use crate::trade::AggTradePayload;

impl Shard {
    /// Moves a slot forward to the period containing `time`: the open kline is closed, every
    /// period skipped in between is closed as an empty kline at the previous close, and the
    /// period of `time` is opened empty (the caller applies its trade, if any). A slot that
    /// never traded is simply opened. The caller has bumped the shard version for this change.
    pub(crate) fn roll_to(&mut self, index: usize, interval: usize, time: i64) {
        let rule = self.intervals[interval];
        let current = self.slots[index].kline;
        if current.open_time == INACTIVE {
            let open = rule.open_time(time);
            self.slots[index].kline = Kline::empty(open, rule.close_time(open), 0);
            self.next_due_ms = self.next_due_ms.min(self.due_time(rule.close_time(open)));
            return;
        }
        self.close(index, current);
        let price = current.close;
        let mut open = current.close_time + 1;
        while rule.close_time(open) < time {
            let empty = Kline::empty(open, rule.close_time(open), price);
            self.close(index, empty);
            open = rule.next_open(open);
        }
        let slot = &mut self.slots[index];
        slot.kline = Kline::empty(open, rule.close_time(open), price);
        slot.version = self.version;
        let symbol = index / self.n_intervals;
        self.symbol_version[symbol] = self.version;
    }

    /// Handles a trade older than the slot's open period. If it belongs to the kline the slot
    /// closed last and that kline is still inside its correction window, the kline absorbs it
    /// and is emitted again as a correction; otherwise the trade is dropped for this interval
    /// and counted.
    pub(crate) fn apply_late(&mut self, index: usize, trade: &AggTradePayload) {
        let mut last = self.last_closed[index];
        let time = trade.trade_time_ms;
        let belongs =
            last.open_time != INACTIVE && time >= last.open_time && time <= last.close_time;
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
        if slot.kline.is_empty() {
            slot.kline.reprice_empty(last.close);
            slot.version = self.version;
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
