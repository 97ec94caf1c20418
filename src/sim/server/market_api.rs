//! Which Binance API the simulator speaks: USD-M's (`/market/ws`, `/market/stream`,
//! `/fapi/v1/...`) or spot's (`/ws`, `/stream`, `/api/v3/...`), and the rules that differ
//! between the two.

use crate::config::Market;

/// One market's paths and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MarketApi {
    /// The market.
    pub(crate) market: Market,
    /// What REST paths start with, before `/time`, `/exchangeInfo`, `/aggTrades`, `/klines`.
    pub(crate) rest_prefix: &'static str,
    /// The raw-stream path (`/<stream>` may follow).
    pub(crate) raw_path: &'static str,
    /// The combined-stream path (`?streams=` may follow).
    pub(crate) combined_path: &'static str,
    /// Largest `limit` of a klines request.
    pub(crate) max_klines_limit: usize,
}

impl MarketApi {
    /// The API Binance serves for `market`.
    pub(crate) const fn of(market: Market) -> MarketApi {
        match market {
            Market::Usdm => MarketApi {
                market,
                rest_prefix: "/fapi/v1",
                raw_path: "/market/ws",
                combined_path: "/market/stream",
                max_klines_limit: 1500,
            },
            Market::Spot => MarketApi {
                market,
                rest_prefix: "/api/v3",
                raw_path: "/ws",
                combined_path: "/stream",
                max_klines_limit: 1000,
            },
        }
    }
}
