//! `/fapi/v1/klines` (spot: `/api/v3/klines`): a page of a symbol's exact klines in Binance's
//! array format.

use super::hub::Hub;
use super::kline_book::KlineQuery;
use super::lock::lock;
use super::market_api::MarketApi;
use super::rest_params::{Params, RestError};
use crate::egress::write_rest_klines;
use crate::interval::Interval;

/// Klines per page when `limit` is not sent.
const DEFAULT_LIMIT: usize = 500;

/// `[[openTime,"o","h","l","c","v",closeTime,"quoteVolume",count,"takerBuyBase",
/// "takerBuyQuote","0"],...]`, oldest first: the closed klines and the open one.
pub(crate) fn klines(hub: &Hub, params: &Params) -> Result<Vec<u8>, RestError> {
    let invalid_interval = || RestError::bad_request(-1120, "Invalid interval.");
    let interval = Interval::parse(params.required("interval")?).map_err(|_| invalid_interval())?;
    let mut query = KlineQuery {
        interval: 0,
        start_time: params.integer("startTime")?,
        end_time: params.integer("endTime")?,
        limit: params.limit(
            DEFAULT_LIMIT,
            MarketApi::of(hub.config.market).max_klines_limit,
        )?,
    };
    let (index, klines) = {
        let mut market = lock(&hub.market);
        let index = params.symbol(&hub.symbols, &market.listed)?;
        query.interval = market
            .klines
            .intervals()
            .iter()
            .position(|served| *served == interval)
            .ok_or_else(invalid_interval)?;
        (index, market.klines.query(index, &query))
    };
    let Some(symbol) = hub.symbols.get(index) else {
        return Err(RestError::bad_request(-1121, "Invalid symbol."));
    };
    let mut out = Vec::with_capacity(klines.len() * 200 + 2);
    write_rest_klines(&mut out, &klines, symbol.decimals);
    Ok(out)
}
