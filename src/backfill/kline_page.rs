//! One page of REST klines (Binance's array rows), parsed into exact klines.

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::decimal::SCALE;
use crate::decimal::parse_scaled;
use crate::kline::Kline;

/// `[openTime,"o","h","l","c","v",closeTime,"quoteVolume",count,"takerBuyBase",
/// "takerBuyQuote","ignore"]`.
#[derive(Deserialize)]
struct Row<'a>(
    i64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    i64,
    &'a str,
    i64,
    &'a str,
    &'a str,
    IgnoredAny,
);

/// Parses a page of klines, oldest first as sent. Their trade ids are not in the rows: they
/// come back as -1.
///
/// # Errors
///
/// A body that is not such an array, or a number that is not an exact decimal.
pub fn parse_klines(body: &[u8]) -> Result<Vec<Kline>, String> {
    let rows: Vec<Row<'_>> =
        serde_json::from_slice(body).map_err(|e| format!("not a klines page: {e}"))?;
    rows.into_iter()
        .map(|row| {
            let open_time = row.0;
            let exact = |text: &str, scale: u32, what: &str| {
                parse_scaled(text, scale)
                    .ok_or_else(|| format!("kline {open_time}: {what} {text:?} is not exact"))
            };
            let price = |text: &str, what: &str| {
                exact(text, SCALE, what).and_then(|v| {
                    i64::try_from(v).map_err(|_| format!("kline {open_time}: {what} too large"))
                })
            };
            Ok(Kline {
                open_time,
                close_time: row.6,
                open: price(row.1, "open")?,
                high: price(row.2, "high")?,
                low: price(row.3, "low")?,
                close: price(row.4, "close")?,
                volume: exact(row.5, SCALE, "volume")?,
                quote_volume: exact(row.7, 2 * SCALE, "quote volume")?,
                taker_buy_volume: exact(row.9, SCALE, "taker buy volume")?,
                taker_buy_quote_volume: exact(row.10, 2 * SCALE, "taker buy quote volume")?,
                count: row.8,
                first_trade_id: -1,
                last_trade_id: -1,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::ONE;

    #[test]
    fn binance_rows_become_exact_klines() {
        let body = br#"[[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]]"#;
        let klines = parse_klines(body).unwrap();
        assert_eq!(klines.len(), 1);
        let k = klines[0];
        assert_eq!(
            (k.open_time, k.close_time, k.count),
            (1_499_040_000_000, 1_499_644_799_999, 308)
        );
        assert_eq!((k.open, k.high), (1_634_790, 80_000_000));
        assert_eq!(k.volume, 148_976 * i128::from(ONE) + 11_427_815);
        assert_eq!(k.quote_volume, 243_419_055_334 * 100_000_000);
        assert_eq!((k.first_trade_id, k.last_trade_id), (-1, -1));
        assert!(
            parse_klines(b"[[1]]")
                .unwrap_err()
                .starts_with("not a klines page")
        );
    }
}
