//! The trades each symbol published, kept for `/fapi/v1/aggTrades`, and Binance's rules for
//! picking a page of them.

use std::collections::VecDeque;

use crate::sim::SimTrade;

/// Which trades a `/fapi/v1/aggTrades` request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TradeQuery {
    /// Trades with an agg id at or above this.
    pub(crate) from_id: Option<i64>,
    /// Trades at or after this time (ms).
    pub(crate) start_time: Option<i64>,
    /// Trades at or before this time (ms).
    pub(crate) end_time: Option<i64>,
    /// Most trades to return.
    pub(crate) limit: usize,
}

/// Per-symbol trade history, oldest first, each symbol bounded.
#[derive(Debug)]
pub(crate) struct TradeHistory {
    per_symbol: Vec<VecDeque<SimTrade>>,
    capacity: usize,
}

impl TradeHistory {
    /// Empty histories for `n_symbols` symbols, keeping at most `capacity` trades each.
    pub(crate) fn new(n_symbols: usize, capacity: usize) -> TradeHistory {
        TradeHistory {
            per_symbol: (0..n_symbols).map(|_| VecDeque::new()).collect(),
            capacity,
        }
    }

    /// Appends a published trade, forgetting the symbol's oldest one when full.
    pub(crate) fn record(&mut self, trade: &SimTrade) {
        let Some(trades) = self.per_symbol.get_mut(trade.symbol as usize) else {
            return;
        };
        if self.capacity == 0 {
            return;
        }
        if trades.len() == self.capacity {
            trades.pop_front();
        }
        trades.push_back(*trade);
    }

    /// The page of a symbol's trades `query` selects, oldest first.
    ///
    /// As on Binance: with `fromId` and/or `startTime` the page starts at the first matching
    /// trade; with neither it is the most recent `limit` trades (up to `endTime` if given).
    /// Trades are in agg-id and time order per symbol, so both bounds are binary searches.
    pub(crate) fn query(&self, symbol: u32, query: &TradeQuery) -> Vec<SimTrade> {
        let Some(trades) = self.per_symbol.get(symbol as usize) else {
            return Vec::new();
        };
        let mut first = 0;
        if let Some(from_id) = query.from_id {
            first = first.max(trades.partition_point(|t| t.agg_id < from_id));
        }
        if let Some(start) = query.start_time {
            first = first.max(trades.partition_point(|t| t.time_ms < start));
        }
        let end = query.end_time.map_or(trades.len(), |end| {
            trades.partition_point(|t| t.time_ms <= end)
        });
        if end <= first {
            return Vec::new();
        }
        let (from, to) = if query.from_id.is_some() || query.start_time.is_some() {
            (first, end.min(first + query.limit))
        } else {
            (end.saturating_sub(query.limit).max(first), end)
        };
        trades.range(from..to).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(agg_id: i64, time_ms: i64) -> SimTrade {
        SimTrade {
            symbol: 0,
            agg_id,
            price: 1,
            quantity: 1,
            first_trade_id: agg_id,
            last_trade_id: agg_id,
            time_ms,
            is_buyer_maker: false,
        }
    }

    fn ids(trades: &[SimTrade]) -> Vec<i64> {
        trades.iter().map(|t| t.agg_id).collect()
    }

    fn history() -> TradeHistory {
        let mut history = TradeHistory::new(1, 8);
        for id in 1..=10 {
            history.record(&trade(id, id * 100));
        }
        history
    }

    fn query(
        from_id: Option<i64>,
        start: Option<i64>,
        end: Option<i64>,
        limit: usize,
    ) -> TradeQuery {
        TradeQuery {
            from_id,
            start_time: start,
            end_time: end,
            limit,
        }
    }

    #[test]
    fn keeps_the_newest_trades() {
        assert_eq!(
            ids(&history().query(0, &query(None, None, None, 500))),
            (3..=10).collect::<Vec<_>>()
        );
    }

    #[test]
    fn from_id_pages_forward() {
        let history = history();
        assert_eq!(
            ids(&history.query(0, &query(Some(5), None, None, 2))),
            [5, 6]
        );
        assert_eq!(
            ids(&history.query(0, &query(Some(9), None, None, 5))),
            [9, 10]
        );
        assert_eq!(ids(&history.query(0, &query(Some(1), None, None, 1))), [3]);
        assert!(history.query(0, &query(Some(11), None, None, 5)).is_empty());
    }

    #[test]
    fn time_window_and_latest() {
        let history = history();
        assert_eq!(
            ids(&history.query(0, &query(None, Some(450), Some(700), 10))),
            [5, 6, 7]
        );
        assert_eq!(
            ids(&history.query(0, &query(None, Some(450), None, 2))),
            [5, 6]
        );
        assert_eq!(
            ids(&history.query(0, &query(None, None, Some(700), 2))),
            [6, 7]
        );
        assert_eq!(ids(&history.query(0, &query(None, None, None, 2))), [9, 10]);
        assert!(
            history
                .query(0, &query(None, Some(800), Some(700), 5))
                .is_empty()
        );
        assert!(history.query(1, &query(None, None, None, 5)).is_empty());
    }
}
