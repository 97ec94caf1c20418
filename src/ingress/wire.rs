//! Binance market-stream frames, parsed in place.
//!
//! A frame is either a raw event (`{"e":"aggTrade",...}`) or a combined-stream envelope
//! (`{"stream":"btcusdt@aggTrade","data":{...}}`). Text fields borrow from the frame (`Cow`
//! only allocates if the exchange ever escapes a character), and fields other stream types
//! reuse with other JSON types (`"a"` is an id in aggTrade, an array in depth, a string in
//! bookTicker) are read leniently so one pass recognises every event type.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, Visitor};
use serde_json::value::RawValue;

use crate::decimal::{DecimalError, parse_fixed};
use crate::trade::AggTradePayload;

/// One aggTrade event with its text fields still borrowed from the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTradePayload<'a> {
    /// Symbol as sent, e.g. `BTCUSDT`.
    pub symbol: Cow<'a, str>,
    /// Price text, e.g. `37000.10`.
    pub price: Cow<'a, str>,
    /// Quantity text, e.g. `0.005`.
    pub quantity: Cow<'a, str>,
    /// Aggregate trade id (`a`).
    pub agg_id: i64,
    /// First raw trade id (`f`).
    pub first_trade_id: i64,
    /// Last raw trade id (`l`).
    pub last_trade_id: i64,
    /// Trade time in ms (`T`).
    pub trade_time_ms: i64,
    /// Event time in ms (`E`).
    pub event_time_ms: i64,
    /// Buyer was the maker (`m`).
    pub is_buyer_maker: bool,
}

impl RawTradePayload<'_> {
    /// Converts to the exact payload the aggregator takes, under the given symbol index.
    pub fn to_payload(&self, symbol: u32) -> Result<AggTradePayload, WireError> {
        let price = parse_fixed(self.price.as_bytes()).map_err(WireError::Price)?;
        let quantity = parse_fixed(self.quantity.as_bytes()).map_err(WireError::Quantity)?;
        Ok(AggTradePayload {
            symbol,
            is_buyer_maker: self.is_buyer_maker,
            price,
            quantity,
            agg_id: self.agg_id,
            first_trade_id: self.first_trade_id,
            last_trade_id: self.last_trade_id,
            trade_time_ms: self.trade_time_ms,
            event_time_ms: self.event_time_ms,
        })
    }
}

/// What a frame turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireEvent<'a> {
    /// An aggTrade event.
    AggTrade(RawTradePayload<'a>),
    /// Another event type (kline, depthUpdate, bookTicker, ...), named by its `e` field.
    Other(Cow<'a, str>),
    /// A reply to a request such as `SUBSCRIBE` (`{"result":..,"id":N}`), or an error
    /// object (`{"code":..,"msg":..}`).
    Reply,
}

/// Why a frame could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// Not JSON, or not an object of the expected shape.
    Json(String),
    /// An aggTrade event without one of its required fields.
    MissingField(&'static str),
    /// The price text is not an exact decimal.
    Price(DecimalError),
    /// The quantity text is not an exact decimal.
    Quantity(DecimalError),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Json(e) => write!(f, "malformed frame: {e}"),
            WireError::MissingField(name) => write!(f, "aggTrade event without field \"{name}\""),
            WireError::Price(e) => write!(f, "bad price: {e}"),
            WireError::Quantity(e) => write!(f, "bad quantity: {e}"),
        }
    }
}

impl std::error::Error for WireError {}

/// Parses one frame's payload bytes.
pub fn parse_frame(frame: &[u8]) -> Result<WireEvent<'_>, WireError> {
    let outer: EventFields<'_> = parse_fields(frame)?;
    match outer.data {
        Some(data) => {
            let inner = parse_fields(data.get().as_bytes())?;
            match (&inner.e.0, stream_type(&outer.stream)) {
                // Some spot streams (bookTicker, partial depth) send events without `e`; the
                // envelope's stream name still says what they are.
                (None, Some(kind))
                    if kind != "aggTrade" && !inner.is_reply() && data.get().starts_with('{') =>
                {
                    Ok(WireEvent::Other(kind))
                }
                _ => inner.into_event(),
            }
        }
        None => outer.into_event(),
    }
}

/// The part of a combined stream's name after the symbol: `bookTicker` in
/// `btcusdt@bookTicker`, `depth5@100ms` in `btcusdt@depth5@100ms`.
fn stream_type<'a>(stream: &LenientStr<'a>) -> Option<Cow<'a, str>> {
    match stream.0.as_ref()? {
        Cow::Borrowed(name) => Some(Cow::Borrowed(name.split_once('@')?.1)),
        Cow::Owned(name) => Some(Cow::Owned(name.split_once('@')?.1.to_owned())),
    }
}

fn parse_fields(bytes: &[u8]) -> Result<EventFields<'_>, WireError> {
    serde_json::from_slice(bytes).map_err(|e| WireError::Json(e.to_string()))
}

/// Every field any market-stream frame may carry that matters here, all optional.
#[derive(Deserialize)]
struct EventFields<'a> {
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    stream: LenientStr<'a>,
    #[serde(borrow, default)]
    e: LenientStr<'a>,
    #[serde(rename = "E", default)]
    event_time: Option<i64>,
    #[serde(default)]
    a: LenientI64,
    #[serde(borrow, default)]
    s: LenientStr<'a>,
    #[serde(borrow, default)]
    p: LenientStr<'a>,
    #[serde(borrow, default)]
    q: LenientStr<'a>,
    #[serde(default)]
    f: LenientI64,
    #[serde(default)]
    l: LenientI64,
    #[serde(rename = "T", default)]
    trade_time: LenientI64,
    #[serde(default)]
    m: LenientBool,
    #[serde(default)]
    result: Option<IgnoredAny>,
    #[serde(default)]
    id: Option<IgnoredAny>,
    #[serde(default)]
    code: Option<IgnoredAny>,
}

impl<'a> EventFields<'a> {
    fn is_reply(&self) -> bool {
        self.id.is_some() || self.result.is_some() || self.code.is_some()
    }

    fn into_event(self) -> Result<WireEvent<'a>, WireError> {
        let Some(event_type) = self.e.0 else {
            if self.is_reply() {
                return Ok(WireEvent::Reply);
            }
            return Err(WireError::MissingField("e"));
        };
        if event_type != "aggTrade" {
            return Ok(WireEvent::Other(event_type));
        }
        Ok(WireEvent::AggTrade(RawTradePayload {
            symbol: self.s.0.ok_or(WireError::MissingField("s"))?,
            price: self.p.0.ok_or(WireError::MissingField("p"))?,
            quantity: self.q.0.ok_or(WireError::MissingField("q"))?,
            agg_id: self.a.0.ok_or(WireError::MissingField("a"))?,
            first_trade_id: self.f.0.ok_or(WireError::MissingField("f"))?,
            last_trade_id: self.l.0.ok_or(WireError::MissingField("l"))?,
            trade_time_ms: self.trade_time.0.ok_or(WireError::MissingField("T"))?,
            event_time_ms: self.event_time.ok_or(WireError::MissingField("E"))?,
            is_buyer_maker: self.m.0.ok_or(WireError::MissingField("m"))?,
        }))
    }
}

/// An integer field that other event types fill with something else; that reads as `None`.
#[derive(Default)]
struct LenientI64(Option<i64>);

/// A string field that other event types fill with something else; that reads as `None`.
/// Also how text borrows from the frame: serde's derive only borrows a bare `Cow` field.
#[derive(Default)]
struct LenientStr<'a>(Option<Cow<'a, str>>);

/// A boolean field that other event types fill with something else; that reads as `None`.
#[derive(Default)]
struct LenientBool(Option<bool>);

impl<'de> Deserialize<'de> for LenientI64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(LenientVisitor)
            .map(|v| LenientI64(v.as_i64()))
    }
}

impl<'de> Deserialize<'de> for LenientBool {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(LenientVisitor)
            .map(|v| LenientBool(v.as_bool()))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LenientStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(LenientVisitor)
            .map(|v| LenientStr(v.into_str()))
    }
}

/// A scalar as seen by the lenient fields; containers are skipped.
enum Lenient<'a> {
    Int(i64),
    Bool(bool),
    Str(Cow<'a, str>),
    Other,
}

impl<'a> Lenient<'a> {
    fn as_i64(&self) -> Option<i64> {
        match self {
            Lenient::Int(v) => Some(*v),
            _ => None,
        }
    }

    fn as_bool(&self) -> Option<bool> {
        match self {
            Lenient::Bool(v) => Some(*v),
            _ => None,
        }
    }

    fn into_str(self) -> Option<Cow<'a, str>> {
        match self {
            Lenient::Str(v) => Some(v),
            _ => None,
        }
    }
}

struct LenientVisitor;

impl<'de> Visitor<'de> for LenientVisitor {
    type Value = Lenient<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Lenient::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Lenient::Other, Lenient::Int))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lenient::Other)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Lenient::Bool(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Lenient::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Lenient::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Other)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Lenient::Other)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Lenient::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = r#"{"e":"aggTrade","E":1672515782136,"a":12345,"s":"BTCUSDT","p":"37000.10","q":"0.005","nq":"0.005","f":100,"l":105,"T":1672515782130,"m":true}"#;

    fn trade(event: WireEvent<'_>) -> RawTradePayload<'_> {
        match event {
            WireEvent::AggTrade(t) => t,
            other => panic!("expected aggTrade, got {other:?}"),
        }
    }

    #[test]
    fn raw_aggtrade_borrows_its_text_and_ignores_unknown_fields() {
        let t = trade(parse_frame(RAW.as_bytes()).unwrap());
        assert!(matches!(t.symbol, Cow::Borrowed("BTCUSDT")));
        assert!(matches!(t.price, Cow::Borrowed("37000.10")));
        let p = t.to_payload(7).unwrap();
        assert_eq!(p.symbol, 7);
        assert_eq!(p.price, 3_700_010_000_000);
        assert_eq!(p.quantity, 500_000);
        assert_eq!(
            (p.agg_id, p.first_trade_id, p.last_trade_id),
            (12345, 100, 105)
        );
        assert_eq!(
            (p.trade_time_ms, p.event_time_ms, p.is_buyer_maker),
            (1672515782130, 1672515782136, true)
        );
    }

    #[test]
    fn combined_envelope_unwraps_to_the_same_trade() {
        let combined = format!(r#"{{"stream":"btcusdt@aggTrade","data":{RAW}}}"#);
        let a = trade(parse_frame(combined.as_bytes()).unwrap());
        let b = trade(parse_frame(RAW.as_bytes()).unwrap());
        assert_eq!(a, b);
    }

    #[test]
    fn other_streams_and_replies_are_recognised() {
        let depth = r#"{"stream":"x@depth","data":{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1.0","2"]],"a":[["1.1","3"]]}}"#;
        assert_eq!(
            parse_frame(depth.as_bytes()).unwrap(),
            WireEvent::Other("depthUpdate".into())
        );
        let book = r#"{"stream":"x@bookTicker","data":{"e":"bookTicker","u":1,"s":"X","b":"1","B":"2","a":"3","A":"4"}}"#;
        assert_eq!(
            parse_frame(book.as_bytes()).unwrap(),
            WireEvent::Other("bookTicker".into())
        );
        let kline = r#"{"e":"kline","E":1,"s":"X","k":{"t":0,"x":false}}"#;
        assert_eq!(
            parse_frame(kline.as_bytes()).unwrap(),
            WireEvent::Other("kline".into())
        );
        let spot_book = r#"{"stream":"nknusdt@bookTicker","data":{"u":1,"s":"NKNUSDT","b":"0.3","B":"6","a":"0.4","A":"3"}}"#;
        assert_eq!(
            parse_frame(spot_book.as_bytes()).unwrap(),
            WireEvent::Other("bookTicker".into())
        );
        let no_e = r#"{"stream":"x@aggTrade","data":{"s":"X"}}"#;
        assert_eq!(
            parse_frame(no_e.as_bytes()),
            Err(WireError::MissingField("e"))
        );
        assert_eq!(
            parse_frame(br#"{"result":null,"id":3}"#).unwrap(),
            WireEvent::Reply
        );
        assert_eq!(
            parse_frame(br#"{"code":2,"msg":"Invalid request"}"#).unwrap(),
            WireEvent::Reply
        );
    }

    #[test]
    fn broken_frames_are_errors_not_panics() {
        assert!(matches!(parse_frame(b"not json"), Err(WireError::Json(_))));
        assert!(matches!(
            parse_frame(b"{}"),
            Err(WireError::MissingField("e"))
        ));
        let no_price = r#"{"e":"aggTrade","E":1,"a":1,"s":"X","q":"1","f":1,"l":1,"T":1,"m":true}"#;
        assert_eq!(
            parse_frame(no_price.as_bytes()),
            Err(WireError::MissingField("p"))
        );
        let bad_price = RAW.replace("37000.10", "1e5");
        let t = trade(parse_frame(bad_price.as_bytes()).unwrap());
        assert!(matches!(
            t.to_payload(0),
            Err(WireError::Price(DecimalError::Exponent))
        ));
    }
}
