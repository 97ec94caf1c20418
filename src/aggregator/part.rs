//! A piece of a kline: the trades of some stretch of its period, kept so that pieces merge
//! exactly into the whole.
//!
//! A coarse kline is held in pieces: the symbol's current second, the seconds already folded
//! into it, a late trade that arrived after its second had closed. Sums add, high and low take
//! the extremes, and open and close come from the piece holding the first and the last trade
//! in agg-id order; each piece therefore carries the agg ids of those two trades (its *marks*),
//! so that merging never depends on the order the pieces are merged in.

use crate::kline::{Kline, Sums};
use crate::trade::AggTradePayload;

/// Trades of a stretch of one period, with the marks that order it against other pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) open: i64,
    pub(crate) high: i64,
    pub(crate) low: i64,
    pub(crate) close: i64,
    pub(crate) first_trade_id: i64,
    pub(crate) last_trade_id: i64,
    /// Agg id (or a stand-in, see [`Marks`]) of the trade that set `open`.
    pub(crate) first_mark: i64,
    /// Agg id (or a stand-in) of the trade that set `close`.
    pub(crate) last_mark: i64,
    pub(crate) sums: Sums,
}

/// Marks given to a piece rebuilt from a kline rather than from trades: the trades are gone,
/// only where they stand against the other pieces is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marks {
    /// Used when the piece holds its kline's first trade.
    pub(crate) first: i64,
    /// Used when the piece holds its kline's last trade.
    pub(crate) last: i64,
}

impl Part {
    /// No trade: merging it changes nothing.
    pub(crate) const EMPTY: Part = Part {
        open: 0,
        high: i64::MIN,
        low: i64::MAX,
        close: 0,
        first_trade_id: -1,
        last_trade_id: -1,
        first_mark: i64::MAX,
        last_mark: i64::MIN,
        sums: Sums::ZERO,
    };

    /// True when the piece holds no trade (every trade counts at least one raw trade).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.sums.count == 0
    }

    /// Adds a trade that follows every trade of the piece in agg-id order.
    pub(crate) fn add(&mut self, trade: &AggTradePayload) {
        if self.is_empty() {
            self.open = trade.price;
            self.high = trade.price;
            self.low = trade.price;
            self.first_trade_id = trade.first_trade_id;
            self.first_mark = trade.agg_id;
        }
        self.high = self.high.max(trade.price);
        self.low = self.low.min(trade.price);
        self.close = trade.price;
        self.last_trade_id = trade.last_trade_id;
        self.last_mark = trade.agg_id;
        self.sums.add(&Sums::of(trade));
    }

    /// Adds another piece of the same period, wherever its trades stand in agg-id order.
    #[inline]
    pub(crate) fn merge(&mut self, other: &Part) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = *other;
            return;
        }
        if other.first_mark < self.first_mark {
            self.open = other.open;
            self.first_trade_id = other.first_trade_id;
            self.first_mark = other.first_mark;
        }
        if other.last_mark > self.last_mark {
            self.close = other.close;
            self.last_trade_id = other.last_trade_id;
            self.last_mark = other.last_mark;
        }
        self.high = self.high.max(other.high);
        self.low = self.low.min(other.low);
        self.sums.add(&other.sums);
    }

    /// The kline of the period `open_time..=close_time` holding exactly this piece; an empty
    /// piece is an empty kline at `carry`, the previous close.
    pub(crate) fn kline(&self, open_time: i64, close_time: i64, carry: i64) -> Kline {
        if self.is_empty() {
            return Kline::empty(open_time, close_time, carry);
        }
        Kline {
            open_time,
            close_time,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.sums.volume,
            quote_volume: self.sums.quote_volume,
            taker_buy_volume: self.sums.taker_buy_volume,
            taker_buy_quote_volume: self.sums.taker_buy_quote_volume,
            count: self.sums.count,
            first_trade_id: self.first_trade_id,
            last_trade_id: self.last_trade_id,
        }
    }

    /// A whole kline as one piece holding both its first and its last trade.
    pub(crate) fn of_kline(kline: &Kline, marks: Marks) -> Part {
        if kline.is_empty() {
            return Part::EMPTY;
        }
        Part {
            open: kline.open,
            high: kline.high,
            low: kline.low,
            close: kline.close,
            first_trade_id: kline.first_trade_id,
            last_trade_id: kline.last_trade_id,
            first_mark: marks.first,
            last_mark: marks.last,
            sums: sums_of(kline),
        }
    }

    /// What `whole` holds beyond `inner`, a kline of a stretch of its period whose trades it
    /// includes: merged with `inner` it gives `whole` back. Sums are the difference; high and
    /// low are `whole`'s (merging takes the extremes, so they stay exact); the first and last
    /// trade are this piece's only where `inner` does not hold them (raw trade ids name
    /// trades). `None` when `inner` cannot be part of `whole` (a later save of one of them).
    pub(crate) fn beyond(whole: &Kline, inner: &Kline, marks: Marks) -> Option<Part> {
        if inner.is_empty() {
            return Some(Part::of_kline(whole, marks));
        }
        let outer = sums_of(whole);
        let sums = outer.minus(&sums_of(inner));
        let fits = sums.volume >= 0
            && sums.quote_volume >= 0
            && sums.taker_buy_volume >= 0
            && sums.taker_buy_quote_volume >= 0
            && sums.count >= 0
            && whole.high >= inner.high
            && whole.low <= inner.low
            && (whole.first_trade_id != inner.first_trade_id || whole.open == inner.open)
            && (whole.last_trade_id != inner.last_trade_id || whole.close == inner.close);
        if !fits {
            return None;
        }
        if sums.count == 0 {
            return (sums == Sums::ZERO && whole.high == inner.high && whole.low == inner.low)
                .then_some(Part::EMPTY);
        }
        let opens = whole.first_trade_id != inner.first_trade_id;
        let closes = whole.last_trade_id != inner.last_trade_id;
        Some(Part {
            open: whole.open,
            high: whole.high,
            low: whole.low,
            close: whole.close,
            first_trade_id: whole.first_trade_id,
            last_trade_id: whole.last_trade_id,
            first_mark: if opens { marks.first } else { i64::MAX },
            last_mark: if closes { marks.last } else { i64::MIN },
            sums,
        })
    }
}

/// The additive part of a kline.
fn sums_of(kline: &Kline) -> Sums {
    Sums {
        volume: kline.volume,
        quote_volume: kline.quote_volume,
        taker_buy_volume: kline.taker_buy_volume,
        taker_buy_quote_volume: kline.taker_buy_quote_volume,
        count: kline.count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(agg_id: i64, price: i64, maker: bool) -> AggTradePayload {
        AggTradePayload {
            price,
            quantity: 3,
            agg_id,
            first_trade_id: agg_id * 10,
            last_trade_id: agg_id * 10 + 1,
            is_buyer_maker: maker,
            ..Default::default()
        }
    }

    fn kline_of(trades: &[AggTradePayload]) -> Kline {
        let mut k = Kline::empty(0, 59_999, 0);
        for t in trades {
            k.apply(t);
        }
        k
    }

    fn part_of(trades: &[AggTradePayload]) -> Part {
        let mut p = Part::EMPTY;
        for t in trades {
            p.add(t);
        }
        p
    }

    #[test]
    fn pieces_merge_in_any_order_into_the_kline_of_all_their_trades() {
        let trades: Vec<_> = (1..=6)
            .map(|i| trade(i, 100 + (i * 37) % 11, i % 2 == 0))
            .collect();
        let expected = kline_of(&trades);
        // Trades 1, 2 and 5 in one piece, 3, 4 and 6 in another: interleaved in agg-id order.
        let a = part_of(&[trades[0], trades[1], trades[4]]);
        let b = part_of(&[trades[2], trades[3], trades[5]]);
        for (x, y) in [(a, b), (b, a)] {
            let mut merged = x;
            merged.merge(&y);
            merged.merge(&Part::EMPTY);
            assert_eq!(merged.kline(0, 59_999, 0), expected);
        }
    }

    #[test]
    fn an_empty_piece_is_an_empty_kline_at_the_carried_price() {
        assert_eq!(Part::EMPTY.kline(0, 999, 42), Kline::empty(0, 999, 42));
    }

    #[test]
    fn what_a_kline_holds_beyond_an_inner_one_merges_back_into_it() {
        let trades: Vec<_> = (1..=5)
            .map(|i| trade(i, 90 + (i * 7) % 13, i % 3 == 0))
            .collect();
        let whole = kline_of(&trades);
        let marks = Marks {
            first: -10,
            last: -5,
        };
        for split in 0..=trades.len() {
            let inner = kline_of(&trades[split..]);
            let inner_part = Part::of_kline(
                &inner,
                Marks {
                    first: -7,
                    last: -7,
                },
            );
            let mut rebuilt = Part::beyond(&whole, &inner, marks).expect("inner is part of it");
            rebuilt.merge(&inner_part);
            assert_eq!(rebuilt.kline(0, 59_999, 0), whole, "split at {split}");
        }
    }

    #[test]
    fn a_kline_that_cannot_hold_the_inner_one_is_refused() {
        let whole = kline_of(&[trade(1, 100, false)]);
        let inner = kline_of(&[trade(1, 100, false), trade(2, 120, true)]);
        assert_eq!(
            Part::beyond(&whole, &inner, Marks { first: 0, last: 0 }),
            None
        );
    }
}
