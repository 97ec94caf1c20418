//! How one (symbol, interval) kline is stored so that a trade touches as little as possible.
//!
//! The four exact sums and the trade count of every interval of a symbol grow together, so the
//! shard keeps them once per symbol as running totals ([`Sums`]) and each slot remembers only
//! the totals at the moment its kline opened ([`SlotBase`]). A trade then writes one cache
//! line per interval (prices and trade ids, [`Slot`]); the sums of a kline are
//! `totals - base` whenever somebody reads it. A trade a slot must not include (late for that
//! interval) is added to the slot's base as well, so the difference stays exact.

use crate::kline::{Kline, Sums};
use crate::trade::AggTradePayload;

/// Where a slot is: its symbol, its interval and its index in the flat arrays
/// (`symbol * n_intervals + interval`), carried together so no path divides to recover them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotId {
    pub(crate) symbol: usize,
    pub(crate) interval: usize,
    pub(crate) index: usize,
}

/// `open_time` of a slot that has never seen a trade. With its `close_time` also at the
/// minimum, any trade is "past the boundary" and takes the cold path that opens the slot.
pub(crate) const INACTIVE: i64 = i64::MIN;

/// The per-trade part of an open kline: exactly one cache line.
///
/// `open == 0` marks a period without a trade yet (valid prices are positive); `close` then
/// holds the price carried forward from the previous period.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Slot {
    pub(crate) open_time: i64,
    pub(crate) close_time: i64,
    pub(crate) open: i64,
    pub(crate) high: i64,
    pub(crate) low: i64,
    pub(crate) close: i64,
    pub(crate) first_trade_id: i64,
    pub(crate) last_trade_id: i64,
}

impl Slot {
    /// A slot of a symbol that has not traded.
    pub(crate) const INACTIVE: Slot = Slot::empty(INACTIVE, INACTIVE, 0);

    /// A period with no trade yet, carrying `price` forward.
    pub(crate) const fn empty(open_time: i64, close_time: i64, price: i64) -> Slot {
        Slot {
            open_time,
            close_time,
            open: 0,
            high: i64::MIN,
            low: i64::MAX,
            close: price,
            first_trade_id: -1,
            last_trade_id: -1,
        }
    }

    /// True until the symbol's first trade.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.open_time != INACTIVE
    }

    /// True while the period has no trade.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.open == 0
    }

    /// Applies the price and ids of a trade that belongs to this period, in agg-id order.
    #[inline]
    pub(crate) fn apply(&mut self, trade: &AggTradePayload) {
        if self.open == 0 {
            self.open = trade.price;
            self.first_trade_id = trade.first_trade_id;
        }
        self.high = self.high.max(trade.price);
        self.low = self.low.min(trade.price);
        self.close = trade.price;
        self.last_trade_id = trade.last_trade_id;
    }

    /// The full kline, given the sums accumulated since the slot opened.
    pub(crate) fn kline(&self, sums: &Sums) -> Kline {
        if self.is_empty() {
            return Kline::empty(self.open_time, self.close_time, self.close);
        }
        Kline {
            open_time: self.open_time,
            close_time: self.close_time,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: sums.volume,
            quote_volume: sums.quote_volume,
            taker_buy_volume: sums.taker_buy_volume,
            taker_buy_quote_volume: sums.taker_buy_quote_volume,
            count: sums.count,
            first_trade_id: self.first_trade_id,
            last_trade_id: self.last_trade_id,
        }
    }
}

/// The cold part of a slot: the symbol totals its kline starts from, and when it last changed
/// other than by a trade applied to it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SlotBase {
    pub(crate) sums: Sums,
    pub(crate) version: u64,
}

/// Per-symbol state touched once per trade.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SymbolState {
    /// Last agg id applied; `NO_AGG_ID` before the first trade.
    pub(crate) last_agg_id: i64,
    /// First agg id applied live; `NO_AGG_ID` before the first trade.
    pub(crate) first_agg_id: i64,
    /// Shard version of the last trade applied to this symbol.
    pub(crate) trade_version: u64,
    /// Shard version of the last change of any kind to this symbol's klines.
    pub(crate) version: u64,
    /// Running totals of every trade applied to this symbol.
    pub(crate) totals: Sums,
    /// True while a gap in this symbol's agg ids waits for its missing trades.
    pub(crate) gap_pending: bool,
    /// True while this symbol's open klines are being rebuilt from REST.
    pub(crate) warming: bool,
}

/// `last_agg_id` of a symbol that has not traded yet.
pub(crate) const NO_AGG_ID: i64 = i64::MIN;

impl SymbolState {
    pub(crate) const NEW: SymbolState = SymbolState {
        last_agg_id: NO_AGG_ID,
        first_agg_id: NO_AGG_ID,
        trade_version: 0,
        version: 0,
        totals: Sums::ZERO,
        gap_pending: false,
        warming: false,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Slot>(), 64);
    }

    #[test]
    fn kline_is_totals_minus_base() {
        let trade = AggTradePayload {
            price: 300,
            quantity: 7,
            first_trade_id: 4,
            last_trade_id: 5,
            is_buyer_maker: false,
            ..Default::default()
        };
        let mut totals = Sums {
            volume: 10,
            quote_volume: 1_000,
            count: 3,
            ..Sums::ZERO
        };
        let base = totals;
        let mut slot = Slot::empty(0, 59_999, 250);
        assert_eq!(
            slot.kline(&totals.minus(&base)),
            Kline::empty(0, 59_999, 250)
        );
        slot.apply(&trade);
        totals.add(&Sums::of(&trade));
        let k = slot.kline(&totals.minus(&base));
        assert_eq!((k.open, k.high, k.low, k.close), (300, 300, 300, 300));
        assert_eq!(
            (k.volume, k.quote_volume, k.taker_buy_volume, k.count),
            (7, 2_100, 7, 2)
        );
        assert_eq!((k.first_trade_id, k.last_trade_id), (4, 5));
    }
}
