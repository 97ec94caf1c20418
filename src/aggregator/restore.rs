//! Starting a shard from stored state: the open kline of each slot as it was last saved, so a
//! restart in the middle of a period does not begin that period from nothing.

use super::shard::Shard;
use super::slot::{Slot, SlotId};
use crate::kline::{Kline, Sums};

/// Why a stored kline was not restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreError {
    /// The symbol or interval index is outside the shard.
    OutOfRange,
    /// The slot has already seen a trade: live state wins over stored state.
    AlreadyLive,
    /// The kline is not a period of the slot's interval (wrong open or close time).
    NotAPeriod,
}

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RestoreError::OutOfRange => "symbol or interval outside the shard",
            RestoreError::AlreadyLive => "the slot already has live trades",
            RestoreError::NotAPeriod => "the kline's times are not a period of its interval",
        })
    }
}

impl std::error::Error for RestoreError {}

impl Shard {
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
        if symbol as usize >= self.symbols.len() || interval >= self.n_intervals {
            return Err(RestoreError::OutOfRange);
        }
        let at = self.slot_id(symbol as usize, interval);
        if self.slots[at.index].is_active() {
            return Err(RestoreError::AlreadyLive);
        }
        let rule = self.intervals[interval];
        if rule.open_time(kline.open_time) != kline.open_time
            || rule.close_time(kline.open_time) != kline.close_time
        {
            return Err(RestoreError::NotAPeriod);
        }
        self.version += 1;
        self.set_slot(at, kline);
        self.next_due_ms = self.next_due_ms.min(self.due_time(kline.close_time));
        Ok(())
    }

    /// Makes `kline` the slot's open kline, sums included; the caller has bumped the version.
    pub(crate) fn set_slot(&mut self, at: SlotId, kline: &Kline) {
        let mut slot = Slot::empty(kline.open_time, kline.close_time, kline.close);
        if !kline.is_empty() {
            slot.open = kline.open;
            slot.high = kline.high;
            slot.low = kline.low;
            slot.first_trade_id = kline.first_trade_id;
            slot.last_trade_id = kline.last_trade_id;
        }
        // The slot's sums are the symbol's totals minus its base; for the restored sums to
        // show, the base sits that far below the totals.
        let restored = Sums {
            volume: kline.volume,
            quote_volume: kline.quote_volume,
            taker_buy_volume: kline.taker_buy_volume,
            taker_buy_quote_volume: kline.taker_buy_quote_volume,
            count: kline.count,
        };
        self.slots[at.index] = slot;
        self.bases[at.index].sums = self.symbols[at.symbol].totals.minus(&restored);
        self.bases[at.index].version = self.version;
        self.symbols[at.symbol].version = self.version;
    }
}
