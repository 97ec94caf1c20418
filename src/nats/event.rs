//! Binance's kline event, as the publisher writes it, read back into an exact kline: what a
//! consumer of the bus (the bus-fed gateway, the tests) gets from a message.

use serde::Deserialize;

use crate::decimal::{SCALE, parse_scaled};
use crate::egress::Decimals;
use crate::interval::Interval;
use crate::kline::Kline;

/// One kline event taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KlineEvent {
    /// `E`: when the publisher wrote it.
    pub event_time_ms: i64,
    /// `s`: the symbol as Binance spells it.
    pub symbol: String,
    /// `i`: the interval.
    pub interval: Interval,
    /// `x`: the final event of the period.
    pub closed: bool,
    /// The kline, in klagg's fixed point.
    pub kline: Kline,
    /// The fractional digits of the prices and volumes as written, so the event can be
    /// written again the same way.
    pub decimals: Decimals,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "E")]
    event_time: i64,
    #[serde(borrow)]
    s: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    k: Body<'a>,
}

#[derive(Deserialize)]
struct Body<'a> {
    t: i64,
    #[serde(rename = "T")]
    close_time: i64,
    i: &'a str,
    f: i64,
    #[serde(rename = "L")]
    last: i64,
    o: &'a str,
    c: &'a str,
    h: &'a str,
    l: &'a str,
    v: &'a str,
    n: i64,
    x: bool,
    q: &'a str,
    #[serde(rename = "V")]
    taker_volume: &'a str,
    #[serde(rename = "Q")]
    taker_quote: &'a str,
}

/// Digits after the decimal point of a number as written.
fn fraction_digits(text: &str) -> u32 {
    text.split_once('.')
        .map_or(0, |(_, f)| u32::try_from(f.len()).unwrap_or(u32::MAX))
}

/// The fewest digits any of `texts` was written with: the writer's setting (a value that
/// needs more digits is written with more).
fn least_digits(texts: &[&str]) -> u32 {
    texts.iter().map(|t| fraction_digits(t)).min().unwrap_or(0)
}

/// Parses one kline event.
///
/// # Errors
///
/// Text that is not a kline event, an unknown interval or a number that is not exact.
pub fn parse_kline_event(payload: &[u8]) -> Result<KlineEvent, String> {
    let event: Event<'_> =
        serde_json::from_slice(payload).map_err(|e| format!("not a kline event: {e}"))?;
    let k = &event.k;
    let interval = Interval::parse(k.i).map_err(|e| e.to_string())?;
    let exact = |text: &str, scale: u32, what: &str| {
        parse_scaled(text, scale).ok_or_else(|| format!("{what} {text:?} is not exact"))
    };
    let price = |text: &str, what: &str| {
        exact(text, SCALE, what)
            .and_then(|v| i64::try_from(v).map_err(|_| format!("{what} {text:?} too large")))
    };
    let kline = Kline {
        open_time: k.t,
        close_time: k.close_time,
        open: price(k.o, "open")?,
        high: price(k.h, "high")?,
        low: price(k.l, "low")?,
        close: price(k.c, "close")?,
        volume: exact(k.v, SCALE, "volume")?,
        quote_volume: exact(k.q, 2 * SCALE, "quote volume")?,
        taker_buy_volume: exact(k.taker_volume, SCALE, "taker buy volume")?,
        taker_buy_quote_volume: exact(k.taker_quote, 2 * SCALE, "taker buy quote volume")?,
        count: k.n,
        first_trade_id: k.f,
        last_trade_id: k.last,
    };
    Ok(KlineEvent {
        event_time_ms: event.event_time,
        symbol: event.s.into_owned(),
        interval,
        closed: k.x,
        kline,
        decimals: Decimals {
            price: least_digits(&[k.o, k.h, k.l, k.c]),
            quantity: least_digits(&[k.v, k.taker_volume]),
            quote: least_digits(&[k.q, k.taker_quote]),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::write_kline_event;

    #[test]
    fn what_the_publisher_writes_reads_back() {
        let mut kline = Kline::empty(1_626_992_700_000, 1_626_992_759_999, 101_000_000);
        kline.high = 101_100_000;
        kline.close = 101_100_000;
        kline.volume = 3_917 * 100_000_000;
        kline.quote_volume = 395_789_900 * 10_i128.pow(11);
        kline.count = 48;
        kline.first_trade_id = 23_961_275;
        kline.last_trade_id = 23_961_322;
        let mut out = Vec::new();
        let iv = Interval::parse("1m").unwrap();
        let decimals = Decimals::new(5, 0);
        write_kline_event(&mut out, 7, "币安人生USDT", iv, &kline, true, decimals);
        let event = parse_kline_event(&out).unwrap();
        assert_eq!(event.kline, kline);
        assert_eq!(
            (
                event.symbol.as_str(),
                event.interval,
                event.closed,
                event.event_time_ms
            ),
            ("币安人生USDT", iv, true, 7)
        );
        let mut again = Vec::new();
        write_kline_event(
            &mut again,
            7,
            &event.symbol,
            iv,
            &event.kline,
            true,
            event.decimals,
        );
        assert_eq!(again, out);
        assert!(parse_kline_event(b"{\"e\":\"kline\"}").is_err());
    }
}
