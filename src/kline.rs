//! One kline's state and the rules that update it, exactly as Binance builds its klines.

use crate::trade::AggTradePayload;

/// One candle of one symbol and interval, in exact integers.
///
/// Prices and volumes are in units of 1e-8; quote volumes (Σ price·quantity) are in units of
/// 1e-16, which is why the sums are `i128`. A kline with `count == 0` is an empty period: all
/// four prices equal the previous close and the trade ids are -1, as in Binance's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kline {
    /// First millisecond of the period.
    pub open_time: i64,
    /// Last millisecond of the period (next period's open time − 1).
    pub close_time: i64,
    /// Price of the first trade in agg-id order (1e-8).
    pub open: i64,
    /// Highest trade price (1e-8).
    pub high: i64,
    /// Lowest trade price (1e-8).
    pub low: i64,
    /// Price of the last trade in agg-id order (1e-8).
    pub close: i64,
    /// Σ quantity (1e-8).
    pub volume: i128,
    /// Σ price·quantity (1e-16).
    pub quote_volume: i128,
    /// Σ quantity of trades whose aggressor bought, i.e. `m == false` (1e-8).
    pub taker_buy_volume: i128,
    /// Σ price·quantity of those trades (1e-16).
    pub taker_buy_quote_volume: i128,
    /// Raw trades in the period: Σ (last_trade_id − first_trade_id + 1).
    pub count: i64,
    /// First raw trade id of the period, or -1 when empty.
    pub first_trade_id: i64,
    /// Last raw trade id of the period, or -1 when empty.
    pub last_trade_id: i64,
}

impl Kline {
    /// An empty period: no trades, every price at `price` (the previous close).
    pub fn empty(open_time: i64, close_time: i64, price: i64) -> Kline {
        Kline {
            open_time,
            close_time,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: 0,
            quote_volume: 0,
            taker_buy_volume: 0,
            taker_buy_quote_volume: 0,
            count: 0,
            first_trade_id: -1,
            last_trade_id: -1,
        }
    }

    /// True when no trade has been applied to this period.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Applies one trade that belongs to this period; trades must arrive in agg-id order.
    pub fn apply(&mut self, trade: &AggTradePayload) {
        let price = trade.price;
        if self.count == 0 {
            self.open = price;
            self.high = price;
            self.low = price;
            self.first_trade_id = trade.first_trade_id;
        }
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.close = price;
        self.last_trade_id = trade.last_trade_id;
        let sums = Sums::of(trade);
        self.volume += sums.volume;
        self.quote_volume += sums.quote_volume;
        self.taker_buy_volume += sums.taker_buy_volume;
        self.taker_buy_quote_volume += sums.taker_buy_quote_volume;
        self.count += sums.count;
    }
}

/// The additive part of a kline: exact volumes (1e-8), quote volumes (1e-16) and raw trades.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sums {
    pub(crate) volume: i128,
    pub(crate) quote_volume: i128,
    pub(crate) taker_buy_volume: i128,
    pub(crate) taker_buy_quote_volume: i128,
    pub(crate) count: i64,
}

impl Sums {
    /// Nothing yet.
    pub(crate) const ZERO: Sums = Sums {
        volume: 0,
        quote_volume: 0,
        taker_buy_volume: 0,
        taker_buy_quote_volume: 0,
        count: 0,
    };

    /// What one trade adds. The taker side is masked rather than branched on: `m` is a coin flip.
    #[inline]
    pub(crate) fn of(trade: &AggTradePayload) -> Sums {
        let quantity = i128::from(trade.quantity);
        let quote = i128::from(trade.price) * quantity;
        let taker_mask = -i128::from(!trade.is_buyer_maker);
        Sums {
            volume: quantity,
            quote_volume: quote,
            taker_buy_volume: quantity & taker_mask,
            taker_buy_quote_volume: quote & taker_mask,
            count: trade.trade_count(),
        }
    }

    /// Adds another trade's or kline's sums.
    #[inline]
    pub(crate) fn add(&mut self, other: &Sums) {
        self.volume += other.volume;
        self.quote_volume += other.quote_volume;
        self.taker_buy_volume += other.taker_buy_volume;
        self.taker_buy_quote_volume += other.taker_buy_quote_volume;
        self.count += other.count;
    }

    /// The sums accumulated since `base` was taken.
    pub(crate) fn minus(&self, base: &Sums) -> Sums {
        Sums {
            volume: self.volume - base.volume,
            quote_volume: self.quote_volume - base.quote_volume,
            taker_buy_volume: self.taker_buy_volume - base.taker_buy_volume,
            taker_buy_quote_volume: self.taker_buy_quote_volume - base.taker_buy_quote_volume,
            count: self.count - base.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(price: i64, quantity: i64, ids: (i64, i64), maker: bool) -> AggTradePayload {
        AggTradePayload {
            price,
            quantity,
            first_trade_id: ids.0,
            last_trade_id: ids.1,
            is_buyer_maker: maker,
            ..Default::default()
        }
    }

    #[test]
    fn first_trade_sets_open_even_after_empty_carry_forward() {
        let mut k = Kline::empty(0, 59_999, 500);
        k.apply(&trade(700, 2, (10, 12), false));
        assert_eq!((k.open, k.high, k.low, k.close), (700, 700, 700, 700));
        assert_eq!((k.first_trade_id, k.last_trade_id, k.count), (10, 12, 3));
    }

    #[test]
    fn sums_are_exact_and_split_by_taker_side() {
        let mut k = Kline::empty(0, 59_999, 0);
        k.apply(&trade(3_700_010_000_000, 500_000, (1, 1), false));
        k.apply(&trade(3_699_990_000_000, 1_000_000, (2, 4), true));
        k.apply(&trade(3_700_500_000_000, 300_000, (5, 5), false));
        assert_eq!(
            (k.open, k.high, k.low, k.close),
            (
                3_700_010_000_000,
                3_700_500_000_000,
                3_699_990_000_000,
                3_700_500_000_000
            )
        );
        assert_eq!(k.volume, 1_800_000);
        assert_eq!(
            k.quote_volume,
            3_700_010_000_000i128 * 500_000
                + 3_699_990_000_000 * 1_000_000
                + 3_700_500_000_000 * 300_000
        );
        assert_eq!(k.taker_buy_volume, 800_000);
        assert_eq!(
            k.taker_buy_quote_volume,
            3_700_010_000_000i128 * 500_000 + 3_700_500_000_000 * 300_000
        );
        assert_eq!(k.count, 5);
        assert_eq!((k.first_trade_id, k.last_trade_id), (1, 5));
    }

    #[test]
    fn empty_kline_carries_price_and_no_ids() {
        let k = Kline::empty(60_000, 119_999, 42);
        assert!(k.is_empty());
        assert_eq!((k.open, k.high, k.low, k.close), (42, 42, 42, 42));
        assert_eq!((k.first_trade_id, k.last_trade_id), (-1, -1));
    }
}
