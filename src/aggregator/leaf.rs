//! A symbol's current second: the only kline a trade writes on the fast path.
//!
//! Every interval boundary (calendar months and Monday weeks included) falls on a whole second,
//! so the trades of one second all belong to the same period of every interval. A trade
//! therefore updates this one record; the coarser klines take the second whole when it closes
//! ([`super::rollover`]). The fields a trade writes come first, in two cache lines.

use super::part::Part;
use crate::kline::Sums;
use crate::trade::AggTradePayload;

/// `gate` of a leaf whose trades must take the slow path (see [`Leaf::gate`]). Only trade
/// times in its first second would pass it: 292 million years before the epoch, beyond what
/// any interval's calendar handles anyway.
pub(crate) const GATE_CLOSED: i64 = i64::MIN;

/// `sealed_mark` of a leaf whose last trade is its symbol's last one.
pub(crate) const NOT_SEALED: i64 = i64::MIN;

/// `last_agg_id` of a symbol that has not traded yet.
pub(crate) const NO_AGG_ID: i64 = i64::MIN;

/// One symbol's trades of its current second, and its agg-id position.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Leaf {
    /// Open time of the second when the next trade of it may take the fast path, else
    /// [`GATE_CLOSED`]: the symbol is held, its pieces are out of step, or its last trade went
    /// elsewhere. One comparison then covers all of these and the second's bounds.
    pub(crate) gate: i64,
    /// Last agg id applied (or claimed) for the symbol; [`NO_AGG_ID`] before the first.
    pub(crate) last_agg_id: i64,
    pub(crate) high: i64,
    pub(crate) low: i64,
    /// Last price, or the previous close while the second has no trade.
    pub(crate) close: i64,
    pub(crate) last_trade_id: i64,
    /// Raw trades this second; 0 while it has none.
    pub(crate) count: i64,
    /// Epoch of the symbol's last trade: every open kline of the symbol changed then.
    pub(crate) stamp: u64,
    pub(crate) volume: i128,
    pub(crate) quote_volume: i128,
    pub(crate) taker_buy_volume: i128,
    pub(crate) taker_buy_quote_volume: i128,
    pub(crate) open: i64,
    pub(crate) first_trade_id: i64,
    /// Mark (agg id) of the second's first trade.
    pub(crate) first_mark: i64,
    /// [`NOT_SEALED`], or the mark of the second's last trade when the symbol's last agg id is
    /// not it (a late trade went to a coarser piece after it, or a claim moved the id on).
    pub(crate) sealed_mark: i64,
}

impl Leaf {
    /// A symbol that has not traded.
    pub(crate) const NEW: Leaf = Leaf {
        gate: GATE_CLOSED,
        last_agg_id: NO_AGG_ID,
        high: i64::MIN,
        low: i64::MAX,
        close: 0,
        last_trade_id: -1,
        count: 0,
        stamp: 0,
        volume: 0,
        quote_volume: 0,
        taker_buy_volume: 0,
        taker_buy_quote_volume: 0,
        open: 0,
        first_trade_id: -1,
        first_mark: i64::MAX,
        sealed_mark: NOT_SEALED,
    };

    /// True when the fast path may take `trade`: the next agg id, inside the open gate's
    /// second. Bitwise `&`: one branch for the caller.
    #[inline(always)]
    pub(crate) fn takes(&self, trade: &AggTradePayload) -> bool {
        let in_second = (trade.trade_time_ms.wrapping_sub(self.gate) as u64) < 1_000;
        in_second & self.is_next(trade)
    }

    /// True when `trade` has the agg id after the last one applied (never before the first:
    /// the gate is closed then, and [`NO_AGG_ID`] is checked where it is not).
    #[inline(always)]
    pub(crate) fn is_next(&self, trade: &AggTradePayload) -> bool {
        trade.agg_id == self.last_agg_id.wrapping_add(1)
    }

    /// Adds a trade of this second that follows every trade applied so far; stamps the symbol
    /// changed at `epoch`.
    #[inline(always)]
    pub(crate) fn add(&mut self, trade: &AggTradePayload, epoch: u64) {
        let price = trade.price;
        if self.count == 0 {
            self.open = price;
            self.high = price;
            self.low = price;
            self.first_trade_id = trade.first_trade_id;
            self.first_mark = trade.agg_id;
        }
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.close = price;
        self.last_trade_id = trade.last_trade_id;
        self.last_agg_id = trade.agg_id;
        self.count += trade.trade_count();
        self.stamp = epoch;
        // The taker side is masked rather than branched on: `m` is a coin flip.
        let quantity = i128::from(trade.quantity);
        let quote = i128::from(price) * quantity;
        let taker = -i128::from(!trade.is_buyer_maker);
        self.volume += quantity;
        self.quote_volume += quote;
        self.taker_buy_volume += quantity & taker;
        self.taker_buy_quote_volume += quote & taker;
    }

    /// The second's trades as a piece of the coarser klines.
    pub(crate) fn part(&self) -> Part {
        if self.count == 0 {
            return Part::EMPTY;
        }
        Part {
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            first_trade_id: self.first_trade_id,
            last_trade_id: self.last_trade_id,
            first_mark: self.first_mark,
            last_mark: if self.sealed_mark == NOT_SEALED {
                self.last_agg_id
            } else {
                self.sealed_mark
            },
            sums: Sums {
                volume: self.volume,
                quote_volume: self.quote_volume,
                taker_buy_volume: self.taker_buy_volume,
                taker_buy_quote_volume: self.taker_buy_quote_volume,
                count: self.count,
            },
        }
    }

    /// Makes `part` the second's trades (a rebuild); it is sealed, since the symbol's last
    /// agg id is not its last trade's mark.
    pub(crate) fn set_part(&mut self, part: &Part, carry: i64) {
        self.clear(carry);
        if part.is_empty() {
            return;
        }
        self.open = part.open;
        self.high = part.high;
        self.low = part.low;
        self.close = part.close;
        self.first_trade_id = part.first_trade_id;
        self.last_trade_id = part.last_trade_id;
        self.first_mark = part.first_mark;
        self.sealed_mark = part.last_mark;
        self.count = part.sums.count;
        self.volume = part.sums.volume;
        self.quote_volume = part.sums.quote_volume;
        self.taker_buy_volume = part.sums.taker_buy_volume;
        self.taker_buy_quote_volume = part.sums.taker_buy_quote_volume;
    }

    /// Starts a second without trades, carrying `carry` forward as its price. Only what the
    /// next trade does not set is reset: the first trade of a second sets open, high, low and
    /// the first ids and mark (see [`Leaf::add`]).
    pub(crate) fn clear(&mut self, carry: i64) {
        self.gate = GATE_CLOSED;
        self.close = carry;
        self.count = 0;
        self.volume = 0;
        self.quote_volume = 0;
        self.taker_buy_volume = 0;
        self.taker_buy_quote_volume = 0;
        self.sealed_mark = NOT_SEALED;
    }

    /// Remembers that the second's last trade is no longer the symbol's last: called before
    /// the symbol's last agg id moves on without a trade of this second.
    pub(crate) fn seal(&mut self) {
        if self.count > 0 && self.sealed_mark == NOT_SEALED {
            self.sealed_mark = self.last_agg_id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kline::Kline;

    #[test]
    fn a_trade_writes_two_cache_lines() {
        assert_eq!(std::mem::offset_of!(Leaf, volume), 64);
        assert_eq!(std::mem::offset_of!(Leaf, open), 128);
        assert_eq!(std::mem::size_of::<Leaf>(), 192);
    }

    #[test]
    fn the_leaf_builds_the_kline_of_its_trades() {
        let mut leaf = Leaf::NEW;
        leaf.clear(250);
        leaf.gate = 1_000;
        let mut expected = Kline::empty(1_000, 1_999, 250);
        for (i, price) in [(1, 300), (2, 280), (3, 310)] {
            let trade = AggTradePayload {
                price,
                quantity: 7,
                agg_id: i,
                first_trade_id: i * 4,
                last_trade_id: i * 4 + 2,
                trade_time_ms: 1_000 + i,
                is_buyer_maker: i == 2,
                ..Default::default()
            };
            assert!(
                leaf.takes(&trade) || i == 1,
                "the first trade has no last id to follow"
            );
            leaf.add(&trade, 1);
            expected.apply(&trade);
        }
        assert_eq!(leaf.part().kline(1_000, 1_999, 250), expected);
        let outside = AggTradePayload {
            agg_id: 4,
            trade_time_ms: 2_000,
            ..Default::default()
        };
        assert!(!leaf.takes(&outside), "the next second is not this leaf's");
        leaf.gate = GATE_CLOSED;
        assert!(!leaf.takes(&AggTradePayload {
            agg_id: 4,
            trade_time_ms: 1_500,
            ..Default::default()
        }));
    }
}
