//! REST `aggTrades` pages from the exchange, with Binance's rate-limit answers told apart.

use std::time::Duration;

use crate::config::Market;

/// Most trades one call returns.
pub const PAGE_LIMIT: u32 = 1_000;

/// How long to wait after a 429 or 418 that names no `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Why a page did not come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// 429: over the request-weight limit; no call before this long has passed.
    RateLimited(Duration),
    /// 418: the address is banned for this long for ignoring 429s.
    Banned(Duration),
    /// Worth asking again later: a transport error or a 5xx.
    Transient(String),
    /// Asking again will not help: another 4xx, such as an unknown symbol.
    Permanent(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::RateLimited(wait) => write!(f, "rate limited (429), retry after {wait:?}"),
            FetchError::Banned(wait) => write!(f, "banned (418), retry after {wait:?}"),
            FetchError::Transient(why) | FetchError::Permanent(why) => f.write_str(why),
        }
    }
}

/// Where a page of aggregate trades starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    /// At this agg id.
    Id(i64),
    /// At the first trade at or after this time (ms).
    Time(i64),
}

/// Most klines one call asks for: under 100 keeps a call's weight at its lowest (see
/// [`super::RestWeights`]).
pub const KLINES_LIMIT: u32 = 99;

/// The exchange's REST market data: pages of aggregate trades and of klines.
pub struct RestClient {
    agent: ureq::Agent,
    agg_trades_url: String,
    klines_url: String,
}

impl RestClient {
    /// A client of `rest_url` (e.g. `https://fapi.binance.com`) whose calls give up after
    /// `timeout`.
    pub fn new(rest_url: &str, market: Market, timeout: Duration) -> RestClient {
        let (agg_trades, klines) = match market {
            Market::Usdm => ("/fapi/v1/aggTrades", "/fapi/v1/klines"),
            Market::Spot => ("/api/v3/aggTrades", "/api/v3/klines"),
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let base = rest_url.trim_end_matches('/');
        RestClient {
            agent,
            agg_trades_url: format!("{base}{agg_trades}"),
            klines_url: format!("{base}{klines}"),
        }
    }

    /// The body of the page of `symbol`'s aggregate trades from `from` on, at most
    /// [`PAGE_LIMIT`] of them.
    pub fn agg_trades(&self, symbol: &str, from: From) -> Result<Vec<u8>, FetchError> {
        let (key, value) = match from {
            From::Id(id) => ("fromId", id),
            From::Time(ms) => ("startTime", ms),
        };
        let query = [
            ("symbol", symbol.to_owned()),
            (key, value.to_string()),
            ("limit", PAGE_LIMIT.to_string()),
        ];
        self.get(&self.agg_trades_url, &query)
    }

    /// The body of the page of `symbol`'s `interval` klines opening in `start..=end` (ms), at
    /// most [`KLINES_LIMIT`] of them.
    pub fn klines(
        &self,
        symbol: &str,
        interval: &str,
        start: i64,
        end: i64,
    ) -> Result<Vec<u8>, FetchError> {
        let query = [
            ("symbol", symbol.to_owned()),
            ("interval", interval.to_owned()),
            ("startTime", start.to_string()),
            ("endTime", end.to_string()),
            ("limit", KLINES_LIMIT.to_string()),
        ];
        self.get(&self.klines_url, &query)
    }

    fn get(&self, url: &str, query: &[(&str, String)]) -> Result<Vec<u8>, FetchError> {
        let transient = |e: ureq::Error| FetchError::Transient(format!("{url}: {e}"));
        let mut request = self.agent.get(url);
        for (key, value) in query {
            request = request.query(*key, value);
        }
        let mut response = request.call().map_err(transient)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs);
        let body = response.body_mut().read_to_vec().map_err(transient)?;
        match status {
            200 => Ok(body),
            429 => Err(FetchError::RateLimited(retry_after)),
            418 => Err(FetchError::Banned(retry_after)),
            _ => {
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                let asked: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let why = format!("{url} {}: HTTP {status}: {text}", asked.join(" "));
                if status >= 500 {
                    Err(FetchError::Transient(why))
                } else {
                    Err(FetchError::Permanent(why))
                }
            }
        }
    }
}
