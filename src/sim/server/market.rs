//! Everything the server remembers about the market it publishes: which symbols are listed,
//! their trades, klines and tickers. REST answers and the ticker stream read it; only
//! `Publisher` writes it.

use super::history::TradeHistory;
use super::kline_book::KlineBook;
use super::tickers::Tickers;
use crate::aggregator::ShardConfigError;
use crate::interval::Interval;
use crate::sim::{SimTrade, SymbolSpec};

/// The published market, behind one mutex in the server.
#[derive(Debug)]
pub(crate) struct MarketState {
    /// Listed flags by symbol index: only these appear in exchangeInfo and tickers.
    pub(crate) listed: Vec<bool>,
    /// Trades for `/fapi/v1/aggTrades`.
    pub(crate) history: TradeHistory,
    /// Klines for `/fapi/v1/klines`.
    pub(crate) klines: KlineBook,
    /// Tickers for `!miniTicker@arr`.
    pub(crate) tickers: Tickers,
}

impl MarketState {
    /// An empty market: symbols without a listing time are listed from the start.
    pub(crate) fn new(
        symbols: &[SymbolSpec],
        intervals: Vec<Interval>,
        history_per_symbol: usize,
    ) -> Result<MarketState, ShardConfigError> {
        let n = symbols.len();
        Ok(MarketState {
            listed: symbols.iter().map(|s| s.listed_at_ms.is_none()).collect(),
            history: TradeHistory::new(n, history_per_symbol),
            klines: KlineBook::new(intervals, n)?,
            tickers: Tickers::new(n),
        })
    }

    /// Records a published trade everywhere. A symbol that trades is listed: the market
    /// thread lists symbols first, and this keeps a forgotten listing from hiding one.
    pub(crate) fn record(&mut self, trade: &SimTrade, event_time_ms: i64) {
        if let Some(listed) = self.listed.get_mut(trade.symbol as usize) {
            *listed = true;
        }
        self.history.record(trade);
        self.tickers.record(trade);
        self.klines.record(&trade.payload(event_time_ms));
    }
}
