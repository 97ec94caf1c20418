//! REST on the WebSocket port: routes a GET to its endpoint and turns the outcome into a status
//! and a JSON body. Paths are the market's (`/fapi/v1/...` or `/api/v3/...`).

use super::hub::Hub;
use super::market_api::MarketApi;
use super::rest_params::{Params, RestError};
use super::stats::Counters;
use super::{rest_info, rest_klines, rest_trades};

/// What a REST request is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RestAnswer {
    /// HTTP status.
    pub(crate) status: u16,
    /// JSON body.
    pub(crate) body: Vec<u8>,
}

/// The endpoints, after the market's prefix.
const ENDPOINTS: [&str; 5] = ["/time", "/ping", "/exchangeInfo", "/aggTrades", "/klines"];

/// Answers one request. Unknown paths get a 404, other methods than GET a 405, bad
/// parameters Binance's error object with a 400.
pub(crate) fn answer(hub: &Hub, method: &str, path: &str, query: &str) -> RestAnswer {
    Counters::bump(&hub.counters.rest_requests);
    let params = Params::parse(query);
    let api = MarketApi::of(hub.config.market);
    let endpoint = path
        .strip_prefix(api.rest_prefix)
        .filter(|endpoint| ENDPOINTS.contains(endpoint));
    let outcome = match endpoint {
        Some(_) if method != "GET" => Err(RestError {
            status: 405,
            code: -1000,
            msg: format!("Method {method} is not supported here; use GET."),
        }),
        Some("/time") => Ok(rest_info::time()),
        Some("/ping") => Ok(b"{}".to_vec()),
        Some("/exchangeInfo") => Ok(rest_info::exchange_info(hub)),
        Some("/aggTrades") => rest_trades::agg_trades(hub, &params),
        Some(_) => rest_klines::klines(hub, &params),
        None => Err(RestError {
            status: 404,
            code: -5000,
            msg: format!("Path {path}, Method {method} is invalid"),
        }),
    };
    match outcome {
        Ok(body) => RestAnswer { status: 200, body },
        Err(error) => RestAnswer {
            status: error.status,
            body: error.body(),
        },
    }
}
