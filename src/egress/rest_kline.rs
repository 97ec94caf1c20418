//! `GET /fapi/v1/klines` rows: Binance's 12-element array per kline.
//!
//! ```text
//! [1721347080000,"63952.70","63952.70","63945.20","63947.90","33.530",1721347139999,
//!  "2144203.87590",367,"6.155","393601.07330","0"]
//! ```
//!
//! open time, open, high, low, close, volume, close time, quote volume, trade count, taker-buy
//! volume, taker-buy quote volume, and an always-`"0"` "ignore" field. Clients index these arrays
//! by position, so the order and the types (numbers for times and counts, strings for decimals)
//! must be exactly Binance's.

use super::decimals::Decimals;
use super::json::write_int;
use crate::kline::Kline;

/// Appends one kline as a REST row, decimals written as by [`Decimals`].
pub fn write_rest_kline(out: &mut Vec<u8>, kline: &Kline, decimals: Decimals) {
    out.push(b'[');
    write_int(out, kline.open_time);
    out.extend_from_slice(b",\"");
    decimals.write_price(out, kline.open);
    out.extend_from_slice(b"\",\"");
    decimals.write_price(out, kline.high);
    out.extend_from_slice(b"\",\"");
    decimals.write_price(out, kline.low);
    out.extend_from_slice(b"\",\"");
    decimals.write_price(out, kline.close);
    out.extend_from_slice(b"\",\"");
    decimals.write_volume(out, kline.volume);
    out.extend_from_slice(b"\",");
    write_int(out, kline.close_time);
    out.extend_from_slice(b",\"");
    decimals.write_quote_volume(out, kline.quote_volume);
    out.extend_from_slice(b"\",");
    write_int(out, kline.count);
    out.extend_from_slice(b",\"");
    decimals.write_volume(out, kline.taker_buy_volume);
    out.extend_from_slice(b"\",\"");
    decimals.write_quote_volume(out, kline.taker_buy_quote_volume);
    out.extend_from_slice(b"\",\"0\"]");
}

/// Appends a whole response body: the rows of `klines`, in the given order (Binance answers
/// oldest first), as one JSON array; `[]` when there are none.
pub fn write_rest_klines(out: &mut Vec<u8>, klines: &[Kline], decimals: Decimals) {
    // Rows are about 150 bytes; reserving up front keeps a 1,500-row page to one allocation.
    out.reserve(klines.len() * 160 + 2);
    out.push(b'[');
    for (i, kline) in klines.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_rest_kline(out, kline, decimals);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_page_is_an_empty_array() {
        let mut out = Vec::new();
        write_rest_klines(&mut out, &[], Decimals::new(2, 3));
        assert_eq!(out, b"[]");
    }
}
