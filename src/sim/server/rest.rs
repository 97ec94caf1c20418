//! REST on the WebSocket port: routes a GET to its endpoint and turns the outcome into a status
//! and a JSON body.

use super::hub::Hub;
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

/// Answers one request. Unknown paths get a 404, other methods than GET a 405, bad
/// parameters Binance's error object with a 400.
pub(crate) fn answer(hub: &Hub, method: &str, path: &str, query: &str) -> RestAnswer {
    Counters::bump(&hub.counters.rest_requests);
    let params = Params::parse(query);
    let outcome = match path {
        "/fapi/v1/time" | "/fapi/v1/exchangeInfo" | "/fapi/v1/aggTrades" | "/fapi/v1/klines"
            if method != "GET" =>
        {
            Err(RestError {
                status: 405,
                code: -1000,
                msg: format!("Method {method} is not supported here; use GET."),
            })
        }
        "/fapi/v1/time" => Ok(rest_info::time()),
        "/fapi/v1/exchangeInfo" => Ok(rest_info::exchange_info(hub)),
        "/fapi/v1/aggTrades" => rest_trades::agg_trades(hub, &params),
        "/fapi/v1/klines" => rest_klines::klines(hub, &params),
        _ => Err(RestError {
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
