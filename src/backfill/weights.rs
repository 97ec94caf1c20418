//! What each REST call costs on each market, in Binance's request weight.

use crate::config::Market;

/// The weight of the backfill's two calls on one market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestWeights {
    /// One page of `aggTrades` (up to 1,000 trades).
    pub agg_trades: u32,
    /// One page of fewer than 100 `klines`.
    pub klines: u32,
}

impl RestWeights {
    /// Binance's weights: USD-M `aggTrades` 20 and `klines` (limit below 100) 1; spot
    /// `aggTrades` 4 and `klines` 2.
    pub const fn of(market: Market) -> RestWeights {
        match market {
            Market::Usdm => RestWeights {
                agg_trades: 20,
                klines: 1,
            },
            Market::Spot => RestWeights {
                agg_trades: 4,
                klines: 2,
            },
        }
    }
}
