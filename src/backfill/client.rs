//! REST `aggTrades` pages from the exchange, with Binance's rate-limit answers told apart.

use std::time::Duration;

use crate::config::Market;

/// Weight of one `aggTrades` call (Binance USD-M: 20).
pub const AGG_TRADES_WEIGHT: u32 = 20;

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

/// Fetches pages of a market's aggregate trades by id.
pub struct AggTradesClient {
    agent: ureq::Agent,
    url: String,
}

impl AggTradesClient {
    /// A client of `rest_url` (e.g. `https://fapi.binance.com`) whose calls give up after
    /// `timeout`.
    pub fn new(rest_url: &str, market: Market, timeout: Duration) -> AggTradesClient {
        let path = match market {
            Market::Usdm => "/fapi/v1/aggTrades",
            Market::Spot => "/api/v3/aggTrades",
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        AggTradesClient {
            agent,
            url: format!("{}{path}", rest_url.trim_end_matches('/')),
        }
    }

    /// The body of the page of `symbol`'s trades from agg id `from_id` on, at most
    /// [`PAGE_LIMIT`] of them.
    pub fn fetch(&self, symbol: &str, from_id: i64) -> Result<Vec<u8>, FetchError> {
        let transient = |e: ureq::Error| FetchError::Transient(format!("{}: {e}", self.url));
        let mut response = self
            .agent
            .get(&self.url)
            .query("symbol", symbol)
            .query("fromId", from_id.to_string())
            .query("limit", PAGE_LIMIT.to_string())
            .call()
            .map_err(transient)?;
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
                let why = format!(
                    "{} {symbol} fromId={from_id}: HTTP {status}: {text}",
                    self.url
                );
                if status >= 500 {
                    Err(FetchError::Transient(why))
                } else {
                    Err(FetchError::Permanent(why))
                }
            }
        }
    }
}
