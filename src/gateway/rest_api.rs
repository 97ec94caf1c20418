//! Which API the gateway serves, by market: the REST paths clients call before and around
//! klines, the limits that differ between USD-M and spot, and where streams are announced.

use crate::config::Market;

/// One market's REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestApi {
    /// `GET` klines, e.g. `/fapi/v1/klines`.
    pub klines: &'static str,
    /// `GET` the symbol list.
    pub exchange_info: &'static str,
    /// `GET` the server's clock.
    pub time: &'static str,
    /// `GET` connectivity test, answered `{}`.
    pub ping: &'static str,
    /// Largest `limit` of a klines request (USD-M 1500, spot 1000).
    pub max_klines_limit: usize,
    /// The combined-stream path Binance documents for the market (every form is served, see
    /// [`crate::egress::stream_path`]).
    pub streams: &'static str,
}

impl RestApi {
    /// The API Binance serves for `market`.
    #[must_use]
    pub const fn of(market: Market) -> RestApi {
        match market {
            Market::Usdm => RestApi {
                klines: "/fapi/v1/klines",
                exchange_info: "/fapi/v1/exchangeInfo",
                time: "/fapi/v1/time",
                ping: "/fapi/v1/ping",
                max_klines_limit: 1500,
                streams: "/market/stream",
            },
            Market::Spot => RestApi {
                klines: "/api/v3/klines",
                exchange_info: "/api/v3/exchangeInfo",
                time: "/api/v3/time",
                ping: "/api/v3/ping",
                max_klines_limit: 1000,
                streams: "/stream",
            },
        }
    }

    /// Every path served, for the message of a request to another one.
    #[must_use]
    pub fn paths(&self) -> String {
        format!(
            "GET {}, {}, {}, {}, /healthz and /metrics",
            self.klines, self.exchange_info, self.time, self.ping
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_market_has_its_own_paths() {
        assert_eq!(RestApi::of(Market::Usdm).klines, "/fapi/v1/klines");
        assert_eq!(RestApi::of(Market::Spot).klines, "/api/v3/klines");
        assert!(
            RestApi::of(Market::Spot)
                .paths()
                .contains("/api/v3/exchangeInfo")
        );
    }
}
