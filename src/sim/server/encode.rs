//! Binance's JSON for the stream events, written by hand: `publish` runs once per trade at up
//! to ~100k trades/s, so it appends bytes to one buffer instead of building serde values.
//!
//! USD-M and spot aggTrade events differ: USD-M writes `"a"` before `"s"` and adds `nq`, spot
//! writes `"s"` first, ends with the always-true `"M"`, and gives every price and quantity 8
//! decimals (see [`SymbolInfo::decimals`]).

use tungstenite::Utf8Bytes;

use super::symbols::SymbolInfo;
use crate::config::Market;
use crate::decimal::{SCALE, write_scaled};
use crate::sim::SimTrade;

/// Fractional digits of quote volumes (price·quantity, units of 1e-16).
const QUOTE_SCALE: u32 = 2 * SCALE;
/// Fewest fractional digits of a quote volume, as Binance prints them.
const QUOTE_MIN_FRAC: u32 = 8;

/// How a connection receives its streams, fixed by the path it connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `/market/ws/...` (spot: `/ws/...`): the event itself.
    Raw,
    /// `/market/stream...` (spot: `/stream...`): `{"stream":"<name>","data":<event>}`.
    Combined,
}

impl Form {
    /// Index of this form in a per-form cache.
    pub(crate) fn index(self) -> usize {
        match self {
            Form::Raw => 0,
            Form::Combined => 1,
        }
    }
}

/// Appends a price (units of 1e-8) with the symbol's price decimals.
pub(crate) fn write_price(out: &mut Vec<u8>, symbol: &SymbolInfo, price: i64) {
    write_scaled(i128::from(price), SCALE, symbol.decimals.price, out);
}

/// Appends a quantity or volume (units of 1e-8) with the symbol's quantity decimals.
pub(crate) fn write_quantity(out: &mut Vec<u8>, symbol: &SymbolInfo, quantity: i128) {
    write_scaled(quantity, SCALE, symbol.decimals.quantity, out);
}

/// Appends a quote volume (units of 1e-16), exact, with at least 8 fractional digits.
pub(crate) fn write_quote(out: &mut Vec<u8>, quote: i128) {
    write_scaled(quote, QUOTE_SCALE, QUOTE_MIN_FRAC, out);
}

/// Appends `"<key>":"<decimal>"` written by `write`.
pub(crate) fn write_decimal_field(out: &mut Vec<u8>, key: &str, write: impl FnOnce(&mut Vec<u8>)) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":\"");
    write(out);
    out.push(b'"');
}

/// Appends one aggTrade event exactly as Binance sends it on `market`: USD-M's with `nq`
/// equal to `q`, spot's with `"M":true`.
pub(crate) fn write_agg_trade(
    out: &mut Vec<u8>,
    symbol: &SymbolInfo,
    trade: &SimTrade,
    event_time_ms: i64,
    market: Market,
) {
    let mut int = itoa::Buffer::new();
    out.extend_from_slice(b"{\"e\":\"aggTrade\",\"E\":");
    out.extend_from_slice(int.format(event_time_ms).as_bytes());
    let write_symbol = |out: &mut Vec<u8>| {
        out.extend_from_slice(b",\"s\":\"");
        out.extend_from_slice(symbol.spec.name.as_bytes());
        out.push(b'"');
    };
    if market == Market::Spot {
        write_symbol(out);
    }
    out.extend_from_slice(b",\"a\":");
    out.extend_from_slice(int.format(trade.agg_id).as_bytes());
    if market == Market::Usdm {
        write_symbol(out);
    }
    out.push(b',');
    write_decimal_field(out, "p", |out| write_price(out, symbol, trade.price));
    out.push(b',');
    let mut quantity = 0..0;
    write_decimal_field(out, "q", |out| {
        let start = out.len();
        write_quantity(out, symbol, i128::from(trade.quantity));
        quantity = start..out.len();
    });
    if market == Market::Usdm {
        out.push(b',');
        write_decimal_field(out, "nq", |out| out.extend_from_within(quantity));
    }
    for (key, value) in [
        (&b",\"f\":"[..], trade.first_trade_id),
        (b",\"l\":", trade.last_trade_id),
        (b",\"T\":", trade.time_ms),
    ] {
        out.extend_from_slice(key);
        out.extend_from_slice(int.format(value).as_bytes());
    }
    out.extend_from_slice(if trade.is_buyer_maker {
        b",\"m\":true"
    } else {
        b",\"m\":false"
    });
    if market == Market::Spot {
        out.extend_from_slice(b",\"M\":true");
    }
    out.push(b'}');
}

/// The frame of an event in the given form: the event itself, or wrapped in the combined
/// envelope under `stream`.
pub(crate) fn frame(form: Form, stream: &str, event: impl FnOnce(&mut Vec<u8>)) -> Utf8Bytes {
    let mut out = Vec::with_capacity(256);
    if form == Form::Combined {
        out.extend_from_slice(b"{\"stream\":\"");
        out.extend_from_slice(stream.as_bytes());
        out.extend_from_slice(b"\",\"data\":");
    }
    event(&mut out);
    if form == Form::Combined {
        out.push(b'}');
    }
    text(out)
}

/// Turns bytes this module wrote (ASCII JSON plus symbol names, which are `String`s) into a
/// text payload.
pub(crate) fn text(bytes: Vec<u8>) -> Utf8Bytes {
    match String::from_utf8(bytes) {
        Ok(text) => Utf8Bytes::from(text),
        // Unreachable: every byte written comes from a `str`.
        Err(e) => Utf8Bytes::from(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SymbolSpec;

    fn btc() -> SymbolInfo {
        SymbolInfo::new(SymbolSpec {
            name: "BTCUSDT".into(),
            price_decimals: 2,
            quantity_decimals: 3,
            listed_at_ms: None,
        })
    }

    fn trade() -> SimTrade {
        SimTrade {
            symbol: 0,
            agg_id: 5_933_014,
            price: 3_700_010_000_000,
            quantity: 500_000,
            first_trade_id: 100,
            last_trade_id: 105,
            time_ms: 123,
            is_buyer_maker: true,
        }
    }

    #[test]
    fn agg_trade_is_binance_json_with_symbol_decimals() {
        let symbol = btc();
        let raw = frame(Form::Raw, "btcusdt@aggTrade", |out| {
            write_agg_trade(out, &symbol, &trade(), 124, Market::Usdm);
        });
        assert_eq!(
            raw.as_str(),
            r#"{"e":"aggTrade","E":124,"a":5933014,"s":"BTCUSDT","p":"37000.10","q":"0.005","nq":"0.005","f":100,"l":105,"T":123,"m":true}"#
        );
        let combined = frame(Form::Combined, "btcusdt@aggTrade", |out| {
            write_agg_trade(out, &symbol, &trade(), 124, Market::Usdm);
        });
        assert_eq!(
            combined.as_str(),
            format!(r#"{{"stream":"btcusdt@aggTrade","data":{}}}"#, raw.as_str())
        );
    }

    #[test]
    fn spot_agg_trade_has_the_symbol_first_m_and_eight_decimals() {
        let symbol = SymbolInfo::for_market(btc().spec, Market::Spot);
        let raw = frame(Form::Raw, "btcusdt@aggTrade", |out| {
            write_agg_trade(out, &symbol, &trade(), 124, Market::Spot);
        });
        assert_eq!(
            raw.as_str(),
            r#"{"e":"aggTrade","E":124,"s":"BTCUSDT","a":5933014,"p":"37000.10000000","q":"0.00500000","f":100,"l":105,"T":123,"m":true,"M":true}"#
        );
    }

    #[test]
    fn quote_volume_keeps_every_digit() {
        let mut out = Vec::new();
        write_quote(&mut out, 1_234_500_000_000_000_001);
        assert_eq!(out, b"123.4500000000000001");
        out.clear();
        write_quote(&mut out, 50_000_000_000_000_000);
        assert_eq!(out, b"5.00000000");
    }
}
