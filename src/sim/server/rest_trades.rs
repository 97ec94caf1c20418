//! `/fapi/v1/aggTrades` (spot: `/api/v3/aggTrades`): a page of a symbol's published trades,
//! Binance's way (spot adds the always-true `"M"`).

use std::io::Write;

use super::encode::{write_decimal_field, write_price, write_quantity};
use super::history::TradeQuery;
use super::hub::Hub;
use super::lock::lock;
use super::rest_params::{Params, RestError};
use crate::config::Market;

/// Trades per page when `limit` is not sent.
const DEFAULT_LIMIT: usize = 500;
/// Most trades per page.
const MAX_LIMIT: usize = 1000;
/// Widest `startTime`..`endTime` window Binance accepts.
const MAX_WINDOW_MS: i64 = 3_600_000;

/// `[{"a":..,"p":"..","q":"..","f":..,"l":..,"T":..,"m":..},...]`, oldest first.
pub(crate) fn agg_trades(hub: &Hub, params: &Params) -> Result<Vec<u8>, RestError> {
    let query = TradeQuery {
        from_id: params.integer("fromId")?,
        start_time: params.integer("startTime")?,
        end_time: params.integer("endTime")?,
        limit: params.limit(DEFAULT_LIMIT, MAX_LIMIT)?,
    };
    if let (Some(start), Some(end)) = (query.start_time, query.end_time)
        && end - start > MAX_WINDOW_MS
    {
        return Err(RestError::bad_request(
            -1127,
            "More than 1 hours between startTime and endTime.",
        ));
    }
    let (index, trades) = {
        let market = lock(&hub.market);
        let index = params.symbol(&hub.symbols, &market.listed)?;
        (index, market.history.query(index, &query))
    };
    let Some(symbol) = hub.symbols.get(index) else {
        return Err(RestError::bad_request(-1121, "Invalid symbol."));
    };
    let mut out = Vec::with_capacity(trades.len() * 128 + 2);
    out.push(b'[');
    for (i, trade) in trades.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{{\"a\":{},", trade.agg_id);
        write_decimal_field(&mut out, "p", |out| write_price(out, symbol, trade.price));
        out.push(b',');
        write_decimal_field(&mut out, "q", |out| {
            write_quantity(out, symbol, i128::from(trade.quantity));
        });
        let _ = write!(
            out,
            ",\"f\":{},\"l\":{},\"T\":{},\"m\":{}",
            trade.first_trade_id, trade.last_trade_id, trade.time_ms, trade.is_buyer_maker
        );
        if hub.config.market == Market::Spot {
            out.extend_from_slice(b",\"M\":true");
        }
        out.push(b'}');
    }
    out.push(b']');
    Ok(out)
}
