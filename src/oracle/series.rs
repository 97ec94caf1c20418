//! One symbol's klines of one interval, built the slow and obvious way: list the periods, put
//! each trade in its period, and fold every period's trades in agg-id order.

use super::period::Period;

/// One trade as the oracle reads it: exact integers, prices and quantities in units of 1e-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OracleTrade {
    /// Aggregate trade id; trades are folded in this order.
    pub agg_id: i64,
    /// Price (1e-8).
    pub price: i64,
    /// Quantity (1e-8).
    pub quantity: i64,
    /// First raw trade id.
    pub first_trade_id: i64,
    /// Last raw trade id.
    pub last_trade_id: i64,
    /// Trade time (ms since the epoch): picks the period.
    pub time_ms: i64,
    /// The buyer was the maker, so the taker sold.
    pub is_buyer_maker: bool,
}

/// One kline as Binance publishes it, in exact integers: prices and volumes in 1e-8, quote
/// volumes in 1e-16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OracleKline {
    /// First millisecond of the period.
    pub open_time: i64,
    /// Last millisecond of the period.
    pub close_time: i64,
    /// First price in agg-id order.
    pub open: i64,
    /// Highest price.
    pub high: i64,
    /// Lowest price.
    pub low: i64,
    /// Last price in agg-id order.
    pub close: i64,
    /// Σ quantity.
    pub volume: i128,
    /// Σ price × quantity.
    pub quote_volume: i128,
    /// Σ quantity of trades whose taker bought.
    pub taker_buy_volume: i128,
    /// Σ price × quantity of those trades.
    pub taker_buy_quote_volume: i128,
    /// Raw trades: Σ (last id − first id + 1).
    pub count: i64,
    /// First raw trade id, -1 when the period had no trade.
    pub first_trade_id: i64,
    /// Last raw trade id, -1 when the period had no trade.
    pub last_trade_id: i64,
}

/// The klines of `trades` (one symbol, any order, duplicates allowed) for `period`, from the
/// period of the earliest trade to the period holding `until_ms` or the latest trade, whichever
/// is later: every period in between, empty ones at the previous close. Empty when there is no
/// trade.
pub fn build(trades: &[OracleTrade], period: Period, until_ms: i64) -> Vec<OracleKline> {
    let mut sorted = trades.to_vec();
    sorted.sort_by_key(|t| t.agg_id);
    sorted.dedup_by_key(|t| t.agg_id);
    let Some(first) = sorted.iter().map(|t| t.time_ms).min() else {
        return Vec::new();
    };
    let last = sorted.iter().map(|t| t.time_ms).max().unwrap_or(first);

    let mut starts = vec![period.start_of(first)];
    loop {
        let next = period.next(starts[starts.len() - 1]);
        if next > last.max(until_ms) {
            break;
        }
        starts.push(next);
    }

    let mut buckets: Vec<Vec<OracleTrade>> = vec![Vec::new(); starts.len()];
    for trade in sorted {
        let index = starts.partition_point(|&start| start <= trade.time_ms) - 1;
        buckets[index].push(trade);
    }

    let mut klines: Vec<OracleKline> = Vec::with_capacity(starts.len());
    let mut previous_close = 0;
    for (i, bucket) in buckets.iter().enumerate() {
        let open_time = starts[i];
        let close_time = period.next(open_time) - 1;
        let kline = fold(open_time, close_time, bucket, previous_close);
        previous_close = kline.close;
        klines.push(kline);
    }
    klines
}

/// The kline of one period from its trades in agg-id order; `previous_close` prices an empty
/// period.
fn fold(
    open_time: i64,
    close_time: i64,
    trades: &[OracleTrade],
    previous_close: i64,
) -> OracleKline {
    let mut kline = OracleKline {
        open_time,
        close_time,
        open: previous_close,
        high: previous_close,
        low: previous_close,
        close: previous_close,
        volume: 0,
        quote_volume: 0,
        taker_buy_volume: 0,
        taker_buy_quote_volume: 0,
        count: 0,
        first_trade_id: -1,
        last_trade_id: -1,
    };
    if let Some(first) = trades.first() {
        kline.open = first.price;
        kline.high = first.price;
        kline.low = first.price;
        kline.first_trade_id = first.first_trade_id;
    }
    for trade in trades {
        let quantity = i128::from(trade.quantity);
        let quote = i128::from(trade.price) * quantity;
        if trade.price > kline.high {
            kline.high = trade.price;
        }
        if trade.price < kline.low {
            kline.low = trade.price;
        }
        kline.close = trade.price;
        kline.last_trade_id = trade.last_trade_id;
        kline.volume += quantity;
        kline.quote_volume += quote;
        if !trade.is_buyer_maker {
            kline.taker_buy_volume += quantity;
            kline.taker_buy_quote_volume += quote;
        }
        kline.count += trade.last_trade_id - trade.first_trade_id + 1;
    }
    kline
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_704_067_200_000;

    fn trade(agg_id: i64, time_ms: i64, price: i64, quantity: i64, sold: bool) -> OracleTrade {
        OracleTrade {
            agg_id,
            price,
            quantity,
            first_trade_id: agg_id * 10,
            last_trade_id: agg_id * 10 + 2,
            time_ms,
            is_buyer_maker: sold,
        }
    }

    #[test]
    fn a_period_folds_its_trades_in_agg_id_order() {
        // Given out of order and with a duplicate: the fold is by agg id, once each.
        let trades = [
            trade(3, T0 + 900, 12, 5, true),
            trade(1, T0 + 100, 10, 2, false),
            trade(2, T0 + 500, 15, 3, false),
            trade(1, T0 + 100, 10, 2, false),
        ];
        let klines = build(&trades, Period::Fixed(60_000), T0);
        assert_eq!(
            klines,
            vec![OracleKline {
                open_time: T0,
                close_time: T0 + 59_999,
                open: 10,
                high: 15,
                low: 10,
                close: 12,
                volume: 10,
                quote_volume: 20 + 45 + 60,
                taker_buy_volume: 5,
                taker_buy_quote_volume: 65,
                count: 9,
                first_trade_id: 10,
                last_trade_id: 32,
            }]
        );
    }

    #[test]
    fn quiet_periods_are_empty_klines_at_the_previous_close_up_to_until() {
        let trades = [
            trade(1, T0 + 10, 7, 1, false),
            trade(2, T0 + 2_500, 9, 1, true),
        ];
        let klines = build(&trades, Period::Fixed(1_000), T0 + 4_000);
        let opens: Vec<i64> = klines.iter().map(|k| k.open_time - T0).collect();
        assert_eq!(opens, [0, 1_000, 2_000, 3_000, 4_000]);
        assert_eq!(
            (klines[1].count, klines[1].open, klines[1].close),
            (0, 7, 7)
        );
        assert_eq!(
            (klines[1].first_trade_id, klines[1].last_trade_id),
            (-1, -1)
        );
        assert_eq!((klines[4].count, klines[4].low), (0, 9));
    }

    #[test]
    fn no_trade_no_klines() {
        assert!(build(&[], Period::Week, T0).is_empty());
    }
}
