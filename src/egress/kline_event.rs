//! Binance's kline stream event, byte for byte, and USD-M's continuous-contract variant.
//!
//! ```text
//! {"e":"kline","E":1626992741424,"s":"CTKUSDT","k":{"t":1626992700000,"T":1626992759999,
//!  "s":"CTKUSDT","i":"1m","f":23961275,"L":23961322,"o":"1.01000","c":"1.01100",
//!  "h":"1.01100","l":"1.01000","v":"3917","n":48,"x":false,"q":"3957.89900","V":"1729",
//!  "Q":"1748.01900","B":"0"}}
//! {"e":"continuous_kline","E":1607443058651,"ps":"BTCUSDT","ct":"PERPETUAL","k":{
//!  "t":1607443020000,"T":1607443079999,"i":"1m","f":116467658886,"L":116468012423, ...}}
//! ```
//!
//! Spot and USD-M send the same kline event; only the decimals differ (spot writes every number
//! with 8 fractional digits, see [`Decimals::SPOT`]). A continuous kline has no `s`: the pair is
//! `ps`, the contract type `ct`, and the rest of `k` is the kline event's.
//!
//! The field order is Binance's, not alphabetical or the struct's: some clients scan the text
//! instead of parsing it, and byte equality with real frames is how the format is tested. The
//! gateway writes each event once and shares the bytes with every subscriber, so this appends to
//! a caller's reused buffer and never allocates beyond growing it.

use std::io::Write;

use super::decimals::Decimals;
use super::json::{write_int, write_string};
use crate::interval::Interval;
use crate::kline::Kline;

/// Appends one kline stream event for `symbol` (as Binance spells it, e.g. `BTCUSDT`).
///
/// `event_time_ms` is `E`; `closed` is `x`, true only for the final event of a period. Prices are
/// written with `decimals.price` fractional digits, volumes with `decimals.quantity` and quote
/// volumes with [`Decimals::quote`], more when the exact value needs more. `B` is Binance's
/// always-`"0"` "ignore" field, kept so the event has every field clients expect.
pub fn write_kline_event(
    out: &mut Vec<u8>,
    event_time_ms: i64,
    symbol: &str,
    interval: Interval,
    kline: &Kline,
    closed: bool,
    decimals: Decimals,
) {
    // A typical event is 250-330 bytes; one reservation instead of several doublings.
    out.reserve(320 + 2 * symbol.len());
    out.extend_from_slice(b"{\"e\":\"kline\",\"E\":");
    write_int(out, event_time_ms);
    out.extend_from_slice(b",\"s\":");
    write_string(out, symbol);
    out.extend_from_slice(b",\"k\":{\"t\":");
    write_int(out, kline.open_time);
    out.extend_from_slice(b",\"T\":");
    write_int(out, kline.close_time);
    out.extend_from_slice(b",\"s\":");
    write_string(out, symbol);
    write_kline_fields(out, interval, kline, closed, decimals);
}

/// Appends one continuous-contract kline event of a perpetual `pair` (its symbol, e.g.
/// `BTCUSDT`): the same kline as [`write_kline_event`] writes, in Binance's
/// `continuous_kline` format.
pub fn write_continuous_kline_event(
    out: &mut Vec<u8>,
    event_time_ms: i64,
    pair: &str,
    interval: Interval,
    kline: &Kline,
    closed: bool,
    decimals: Decimals,
) {
    out.reserve(340 + pair.len());
    out.extend_from_slice(b"{\"e\":\"continuous_kline\",\"E\":");
    write_int(out, event_time_ms);
    out.extend_from_slice(b",\"ps\":");
    write_string(out, pair);
    out.extend_from_slice(b",\"ct\":\"PERPETUAL\",\"k\":{\"t\":");
    write_int(out, kline.open_time);
    out.extend_from_slice(b",\"T\":");
    write_int(out, kline.close_time);
    write_kline_fields(out, interval, kline, closed, decimals);
}

/// The part of `k` both formats share, from `"i"` to the end of the event.
fn write_kline_fields(
    out: &mut Vec<u8>,
    interval: Interval,
    kline: &Kline,
    closed: bool,
    decimals: Decimals,
) {
    out.extend_from_slice(b",\"i\":\"");
    // Interval names are ASCII letters and digits, so they need no escaping. Writing into a Vec
    // cannot fail, and the interval's Display only fails on text it never builds.
    let _ = write!(out, "{interval}");
    out.extend_from_slice(b"\",\"f\":");
    write_int(out, kline.first_trade_id);
    out.extend_from_slice(b",\"L\":");
    write_int(out, kline.last_trade_id);
    out.extend_from_slice(b",\"o\":\"");
    decimals.write_price(out, kline.open);
    out.extend_from_slice(b"\",\"c\":\"");
    decimals.write_price(out, kline.close);
    out.extend_from_slice(b"\",\"h\":\"");
    decimals.write_price(out, kline.high);
    out.extend_from_slice(b"\",\"l\":\"");
    decimals.write_price(out, kline.low);
    out.extend_from_slice(b"\",\"v\":\"");
    decimals.write_volume(out, kline.volume);
    out.extend_from_slice(b"\",\"n\":");
    write_int(out, kline.count);
    out.extend_from_slice(if closed {
        b",\"x\":true,\"q\":\""
    } else {
        b",\"x\":false,\"q\":\""
    });
    decimals.write_quote_volume(out, kline.quote_volume);
    out.extend_from_slice(b"\",\"V\":\"");
    decimals.write_volume(out, kline.taker_buy_volume);
    out.extend_from_slice(b"\",\"Q\":\"");
    decimals.write_quote_volume(out, kline.taker_buy_quote_volume);
    out.extend_from_slice(b"\",\"B\":\"0\"}}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_after_existing_bytes() {
        let kline = Kline::empty(0, 59_999, 100_000_000);
        let mut out = b"xx".to_vec();
        let decimals = Decimals::new(1, 0);
        write_kline_event(
            &mut out,
            5,
            "A",
            Interval::standard()[1],
            &kline,
            true,
            decimals,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"xx{"e":"kline","E":5,"s":"A","k":{"t":0,"T":59999,"s":"A","i":"1m","f":-1,"L":-1,"o":"1.0","c":"1.0","h":"1.0","l":"1.0","v":"0","n":0,"x":true,"q":"0.0","V":"0","Q":"0.0","B":"0"}}"#
        );
    }

    #[test]
    fn continuous_kline_has_the_pair_and_contract_type_and_no_symbol_in_k() {
        let kline = Kline::empty(0, 59_999, 100_000_000);
        let mut out = Vec::new();
        let minute = Interval::standard()[1];
        write_continuous_kline_event(&mut out, 5, "A", minute, &kline, false, Decimals::SPOT);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"e":"continuous_kline","E":5,"ps":"A","ct":"PERPETUAL","k":{"t":0,"T":59999,"i":"1m","f":-1,"L":-1,"o":"1.00000000","c":"1.00000000","h":"1.00000000","l":"1.00000000","v":"0.00000000","n":0,"x":false,"q":"0.00000000","V":"0.00000000","Q":"0.00000000","B":"0"}}"#
        );
    }
}
