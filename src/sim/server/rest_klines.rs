//! `/fapi/v1/klines`: a page of a symbol's exact klines in Binance's array format.

use std::io::Write;

use super::encode::{write_price, write_quantity, write_quote};
use super::hub::Hub;
use super::kline_book::KlineQuery;
use super::lock::lock;
use super::rest_params::{Params, RestError};
use super::symbols::SymbolInfo;
use crate::interval::Interval;
use crate::kline::Kline;

/// Klines per page when `limit` is not sent.
const DEFAULT_LIMIT: usize = 500;
/// Most klines per page.
const MAX_LIMIT: usize = 1500;

/// `[[openTime,"o","h","l","c","v",closeTime,"quoteVolume",count,"takerBuyBase",
/// "takerBuyQuote","0"],...]`, oldest first: the closed klines and the open one.
pub(crate) fn klines(hub: &Hub, params: &Params) -> Result<Vec<u8>, RestError> {
    let invalid_interval = || RestError::bad_request(-1120, "Invalid interval.");
    let interval = Interval::parse(params.required("interval")?).map_err(|_| invalid_interval())?;
    let mut query = KlineQuery {
        interval: 0,
        start_time: params.integer("startTime")?,
        end_time: params.integer("endTime")?,
        limit: params.limit(DEFAULT_LIMIT, MAX_LIMIT)?,
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
    out.push(b'[');
    for (i, kline) in klines.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_row(&mut out, symbol, kline);
    }
    out.push(b']');
    Ok(out)
}

/// One kline as Binance's 12-element array, every decimal exact.
fn write_row(out: &mut Vec<u8>, symbol: &SymbolInfo, k: &Kline) {
    let quoted = |out: &mut Vec<u8>, write: &dyn Fn(&mut Vec<u8>)| {
        out.push(b'"');
        write(out);
        out.extend_from_slice(b"\",");
    };
    // Writing into a Vec cannot fail.
    let _ = write!(out, "[{},", k.open_time);
    for price in [k.open, k.high, k.low, k.close] {
        quoted(out, &|out| write_price(out, symbol, price));
    }
    quoted(out, &|out| write_quantity(out, symbol, k.volume));
    let _ = write!(out, "{},", k.close_time);
    quoted(out, &|out| write_quote(out, k.quote_volume));
    let _ = write!(out, "{},", k.count);
    quoted(out, &|out| write_quantity(out, symbol, k.taker_buy_volume));
    quoted(out, &|out| write_quote(out, k.taker_buy_quote_volume));
    out.extend_from_slice(b"\"0\"]");
}
