//! One page of REST `aggTrades`, parsed in place into exact trades.

use serde::Deserialize;

use crate::decimal::parse_fixed;
use crate::trade::AggTradePayload;

/// One element of Binance's `/fapi/v1/aggTrades` (and spot `/api/v3/aggTrades`) answer; other
/// fields, such as USD-M's `nq`, are ignored.
#[derive(Deserialize)]
struct RestAggTrade<'a> {
    a: i64,
    p: &'a str,
    q: &'a str,
    f: i64,
    l: i64,
    #[serde(rename = "T")]
    time: i64,
    m: bool,
}

/// Parses a page into `out` as trades of symbol index `symbol`, oldest first as sent.
///
/// # Errors
///
/// A body that is not such an array, or a price or quantity that is not an exact decimal, with
/// what was wrong.
pub fn parse_page(body: &[u8], symbol: u32, out: &mut Vec<AggTradePayload>) -> Result<(), String> {
    let page: Vec<RestAggTrade<'_>> =
        serde_json::from_slice(body).map_err(|e| format!("not an aggTrades page: {e}"))?;
    for t in page {
        let decimal = |text: &str, what: &str| {
            parse_fixed(text.as_bytes())
                .map_err(|e| format!("agg id {}: {what} {text:?}: {e}", t.a))
        };
        out.push(AggTradePayload {
            symbol,
            is_buyer_maker: t.m,
            price: decimal(t.p, "price")?,
            quantity: decimal(t.q, "quantity")?,
            agg_id: t.a,
            first_trade_id: t.f,
            last_trade_id: t.l,
            trade_time_ms: t.time,
            event_time_ms: t.time,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::ONE;

    #[test]
    fn binance_pages_become_exact_trades() {
        let body = br#"[{"a":26129,"p":"0.01633102","q":"4.70443515","nq":"4.70443515","f":27781,"l":27783,"T":1498793709153,"m":true}]"#;
        let mut out = Vec::new();
        parse_page(body, 7, &mut out).unwrap();
        assert_eq!(
            out,
            vec![AggTradePayload {
                symbol: 7,
                is_buyer_maker: true,
                price: 1_633_102,
                quantity: 4 * ONE + 70_443_515,
                agg_id: 26_129,
                first_trade_id: 27_781,
                last_trade_id: 27_783,
                trade_time_ms: 1_498_793_709_153,
                event_time_ms: 1_498_793_709_153,
            }]
        );
    }

    #[test]
    fn bad_pages_say_what_is_wrong() {
        let mut out = Vec::new();
        let err = parse_page(br#"{"code":-1121,"msg":"Invalid symbol."}"#, 0, &mut out);
        assert!(err.unwrap_err().starts_with("not an aggTrades page"));
        let err = parse_page(
            br#"[{"a":1,"p":"1e5","q":"1","f":1,"l":1,"T":1,"m":false}]"#,
            0,
            &mut out,
        );
        assert!(err.unwrap_err().contains("agg id 1: price \"1e5\""));
    }
}
