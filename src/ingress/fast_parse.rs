//! A schema-specific scanner for aggTrade frames: bytes in, trade fields out, in one pass.
//!
//! serde_json spends most of its ~300 ns per frame on generic machinery (field identifiers,
//! visitor dispatch, lenient field types). This scanner knows the ten fields it wants, reads them
//! straight from the bytes and only *skips* everything else. It is deliberately narrow: whenever
//! a frame is not plainly a well-formed aggTrade (an escape in a string it needs, a non-ASCII
//! byte in a string other than the symbol and the stream name, bytes there that are not UTF-8,
//! a missing or duplicate field, a float where an integer belongs, trailing bytes, unusual
//! nesting...), it answers [`FastParse::Fallback`] and the caller runs
//! [`crate::ingress::wire::parse_frame`], which then succeeds or classifies the error. The rule
//! that keeps it exact: it only returns a trade when serde_json would return the same one, and
//! only calls a frame another event type when serde_json would too. (The latter also keeps
//! nested events such as klines and depth updates off serde's path, which allocates a scratch
//! buffer for nesting.)

use super::agg_trade_layout;
use super::json_cursor::Cursor;
use crate::decimal::parse_fixed;
use crate::trade::AggTradePayload;

/// An aggTrade read by the scanner; only the symbol is still text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastTrade<'a> {
    /// Symbol as sent (UTF-8 without escapes or control bytes), e.g. `BTCUSDT` or `币安人生USDT`.
    pub symbol: &'a [u8],
    /// Price in units of 1e-8.
    pub price: i64,
    /// Quantity in units of 1e-8.
    pub quantity: i64,
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

impl FastTrade<'_> {
    /// The payload the aggregator takes, under the given symbol index.
    #[inline]
    pub fn to_payload(&self, symbol: u32) -> AggTradePayload {
        AggTradePayload {
            symbol,
            is_buyer_maker: self.is_buyer_maker,
            price: self.price,
            quantity: self.quantity,
            agg_id: self.agg_id,
            first_trade_id: self.first_trade_id,
            last_trade_id: self.last_trade_id,
            trade_time_ms: self.trade_time_ms,
            event_time_ms: self.event_time_ms,
        }
    }
}

/// What the scanner made of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastParse<'a> {
    /// A well-formed aggTrade, raw or combined, exactly as serde_json would read it.
    Trade(FastTrade<'a>),
    /// The payload is a JSON array: a bare `[...]` frame or a combined frame whose `data`
    /// starts with `[` (on klagg's connections, `!miniTicker@arr`). Not validated.
    ArrayPayload,
    /// A well-formed event of another type (`e` is not `aggTrade`), which serde_json would
    /// also read as one.
    OtherEvent,
    /// Anything else: ask serde_json.
    Fallback,
}

/// Scans one frame's payload bytes: Binance's own layout first (read by position),
/// any other JSON layout second.
pub fn parse_agg_trade(frame: &[u8]) -> FastParse<'_> {
    match agg_trade_layout::scan(frame) {
        Some(trade) => FastParse::Trade(trade),
        None => parse_any_layout(frame),
    }
}

/// The general scanner: any field order, whitespace, unknown fields, other event types. Out
/// of line so that the positional reader stays a small function of its own.
#[inline(never)]
fn parse_any_layout(frame: &[u8]) -> FastParse<'_> {
    let mut c = Cursor::new(frame);
    c.ws();
    match c.peek() {
        Some(b'[') => return FastParse::ArrayPayload,
        Some(b'{') => {}
        _ => return FastParse::Fallback,
    }
    scan_frame(&mut c).unwrap_or(FastParse::Fallback)
}

/// A combined frame's `data` member, as far as seen.
enum Data<'a> {
    Absent,
    Object(Fields<'a>),
    Array,
}

/// Reads the outer object: either the event itself or a `{"stream":..,"data":{..}}` envelope.
#[inline(always)]
fn scan_frame<'a>(c: &mut Cursor<'a>) -> Option<FastParse<'a>> {
    let mut outer = Fields::default();
    let mut data = Data::Absent;
    c.bump(); // `{`
    // Binance's envelope starts `{"stream":"<name>","data":{`: read it by comparison, too.
    let after_value = if c.eat(br#""stream":"#) {
        c.ws();
        let mut ahead = *c;
        *c = match ahead.text_str() {
            Some(_) => ahead,
            None => c.skipped_lenient()?,
        };
        outer.seen |= STREAM_BIT;
        if c.eat(br#","data":{"#) {
            data = Data::Object(scan_event(c)?);
        }
        true
    } else {
        binance_layout(c, &mut outer)?
    };
    scan_members::<true>(c, &mut outer, &mut data, after_value)?;
    let fields = match data {
        Data::Array => return Some(FastParse::ArrayPayload),
        Data::Absent => outer,
        // Envelope fields serde_json would also read (and type-check) at the outer level are
        // never sent by Binance; leave such frames to serde.
        Data::Object(inner) if outer.seen & ALL_FIELDS == 0 => inner,
        Data::Object(_) => return None,
    };
    c.ws();
    if !c.at_end() {
        return None; // trailing bytes: serde_json errors, let it say so
    }
    fields.finish()
}

/// Reads an event object after its `{`, through its `}`.
#[inline(always)]
fn scan_event<'a>(c: &mut Cursor<'a>) -> Option<Fields<'a>> {
    let mut fields = Fields::default();
    let after_value = binance_layout(c, &mut fields)?;
    scan_members::<false>(c, &mut fields, &mut Data::Absent, after_value)?;
    Some(fields)
}

/// Reads an object's remaining members through its `}`, starting either right after the `{`
/// or right after a member's value. In the outer object (`OUTER`) a `data` member is an
/// envelope's payload and goes to `data`; an array there ends the scan.
#[inline(always)]
fn scan_members<'a, const OUTER: bool>(
    c: &mut Cursor<'a>,
    fields: &mut Fields<'a>,
    data: &mut Data<'a>,
    after_value: bool,
) -> Option<()> {
    if after_value {
        if !c.next_member()? {
            return Some(());
        }
    } else {
        c.ws();
        if c.peek()? == b'}' {
            c.bump();
            return Some(());
        }
    }
    loop {
        let key = c.plain_str()?;
        c.colon()?;
        if OUTER && key == b"data" {
            // serde_json rejects a duplicate `data`; so do we, by falling back.
            if !matches!(data, Data::Absent) {
                return None;
            }
            match c.peek()? {
                b'{' => {
                    c.bump();
                    *data = Data::Object(scan_event(c)?);
                }
                b'[' => {
                    *data = Data::Array;
                    return Some(());
                }
                _ => return None,
            }
        } else {
            member(c, key, fields)?;
        }
        if !c.next_member()? {
            return Some(());
        }
    }
}

/// Binance writes an aggTrade's fields in one order without whitespace:
/// `"e":"aggTrade","E":..,"a":..,"s":"..","p":"..","q":"..",("nq":"..",)"f":..,"l":..,"T":..,"m":..(,"M":..)`
/// (spot writes `"s"` before `"a"`, and `"M"` but no `"nq"`).
/// Right after an object's `{`, this reads as much of that layout as is there, comparing whole
/// keys with their separators instead of parsing and dispatching them (measured: a third
/// less time per frame). It stops (and the general loop takes over) at the first byte that differs;
/// returns whether it read any member, i.e. whether the cursor is now after a value.
#[inline(always)]
fn binance_layout<'a>(c: &mut Cursor<'a>, f: &mut Fields<'a>) -> Option<bool> {
    if !c.eat(br#""e":"aggTrade""#) {
        return Some(false);
    }
    // Each field appears once here and first in its object, so no duplicate check is needed.
    f.seen = 1 << 0;
    macro_rules! field {
        ($prefix:literal, $bit:literal, $read:expr) => {
            if !c.eat($prefix) {
                return Some(true);
            }
            c.ws(); // JSON allows it; a failed read must mean a bad value, never layout
            $read;
            f.seen |= 1 << $bit;
        };
    }
    field!(br#","E":"#, 1, f.event_time_ms = c.int()?);
    if c.eat(br#","s":"#) {
        // Spot's order.
        c.ws();
        f.symbol = c.text_str()?;
        f.seen |= 1 << 3;
        field!(br#","a":"#, 2, f.agg_id = c.int()?);
    } else {
        field!(br#","a":"#, 2, f.agg_id = c.int()?);
        field!(br#","s":"#, 3, f.symbol = c.text_str()?);
    }
    field!(br#","p":"#, 4, f.price = c.plain_str()?);
    field!(br#","q":"#, 5, f.quantity = c.plain_str()?);
    if c.eat(br#","nq":"#) {
        c.ws();
        // USD-M's notional quantity: not needed. Always a plain string; anything else goes
        // through the general skip.
        let mut ahead = *c;
        *c = match ahead.plain_str() {
            Some(_) => ahead,
            None => c.skipped()?,
        };
    }
    field!(br#","f":"#, 6, f.first_trade_id = c.int()?);
    field!(br#","l":"#, 7, f.last_trade_id = c.int()?);
    field!(br#","T":"#, 8, f.trade_time_ms = c.int()?);
    field!(br#","m":"#, 9, f.is_buyer_maker = c.bool()?);
    if c.eat(br#","M":"#) {
        c.ws();
        c.bool()?; // spot's always-true "ignore" flag
    }
    Some(true)
}

/// Reads one member's value: a wanted field into `fields`, anything else skipped.
#[inline(always)]
fn member<'a>(c: &mut Cursor<'a>, key: &[u8], fields: &mut Fields<'a>) -> Option<()> {
    // aggTrade keys are one byte: dispatch on it (a jump table) instead of comparing slices.
    let [k] = key else {
        return match key {
            // Read (leniently) by serde's event struct, so a duplicate is a serde error there.
            b"stream" => {
                *c = c.skipped_lenient()?;
                fields.set(STREAM_BIT)
            }
            // serde's event struct also reads these (an envelope inside an event, reply
            // fields); they never appear in an aggTrade, so fall back rather than mirror
            // serde's rules for them.
            b"data" | b"result" | b"id" | b"code" => None,
            _ => {
                *c = c.skipped()?;
                Some(())
            }
        };
    };
    let bit = match k {
        b'e' => 0,
        b'E' => 1,
        b'a' => 2,
        b's' => 3,
        b'p' => 4,
        b'q' => 5,
        b'f' => 6,
        b'l' => 7,
        b'T' => 8,
        b'm' => 9,
        _ => {
            *c = c.skipped()?;
            return Some(());
        }
    };
    if fields.other_event && bit >= 2 {
        // Other event types reuse these keys with other types; serde reads them leniently,
        // so only their presence matters (and that serde's reading cannot fail).
        *c = c.skipped_lenient()?;
        return fields.set(1 << bit);
    }
    match bit {
        0 => fields.other_event = c.plain_str()? != b"aggTrade",
        1 => fields.event_time_ms = c.int()?,
        2 => fields.agg_id = c.int()?,
        3 => fields.symbol = c.text_str()?,
        4 => fields.price = c.plain_str()?,
        5 => fields.quantity = c.plain_str()?,
        6 => fields.first_trade_id = c.int()?,
        7 => fields.last_trade_id = c.int()?,
        8 => fields.trade_time_ms = c.int()?,
        _ => fields.is_buyer_maker = c.bool()?,
    }
    fields.set(1 << bit)
}

/// Every field an aggTrade must have.
const ALL_FIELDS: u16 = (1 << 10) - 1;

/// Marks a `stream` member: allowed anywhere, but only once per object.
const STREAM_BIT: u16 = 1 << 10;

/// The wanted fields of one object, as far as read.
#[derive(Default)]
struct Fields<'a> {
    /// One bit per wanted field already read.
    seen: u16,
    /// `e` named another event type (kline, depthUpdate, bookTicker, ...).
    other_event: bool,
    symbol: &'a [u8],
    price: &'a [u8],
    quantity: &'a [u8],
    agg_id: i64,
    first_trade_id: i64,
    last_trade_id: i64,
    trade_time_ms: i64,
    event_time_ms: i64,
    is_buyer_maker: bool,
}

impl<'a> Fields<'a> {
    /// Marks a field read; a second occurrence is a serde_json error ("duplicate field").
    #[inline(always)]
    fn set(&mut self, bit: u16) -> Option<()> {
        if self.seen & bit != 0 {
            return None;
        }
        self.seen |= bit;
        Some(())
    }

    /// The trade, if every field was present and both decimals are exact; or the news that
    /// this is another event type (serde needs nothing but a well-formed frame to say so).
    #[inline(always)]
    fn finish(self) -> Option<FastParse<'a>> {
        if self.other_event {
            return Some(FastParse::OtherEvent);
        }
        if self.seen & ALL_FIELDS != ALL_FIELDS {
            return None;
        }
        Some(FastParse::Trade(FastTrade {
            symbol: self.symbol,
            price: parse_fixed(self.price).ok()?,
            quantity: parse_fixed(self.quantity).ok()?,
            agg_id: self.agg_id,
            first_trade_id: self.first_trade_id,
            last_trade_id: self.last_trade_id,
            trade_time_ms: self.trade_time_ms,
            event_time_ms: self.event_time_ms,
            is_buyer_maker: self.is_buyer_maker,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = r#"{"e":"aggTrade","E":1672515782136,"a":12345,"s":"BTCUSDT","p":"37000.10","q":"0.005","nq":"0.005","f":100,"l":105,"T":1672515782130,"m":true}"#;

    fn trade(frame: &str) -> FastTrade<'_> {
        match parse_agg_trade(frame.as_bytes()) {
            FastParse::Trade(t) => t,
            other => panic!("expected a trade from {frame}, got {other:?}"),
        }
    }

    fn falls_back(frame: &str) {
        assert_eq!(
            parse_agg_trade(frame.as_bytes()),
            FastParse::Fallback,
            "{frame}"
        );
    }

    #[test]
    fn reads_raw_and_combined_frames() {
        let t = trade(RAW);
        assert_eq!(t.symbol, b"BTCUSDT");
        assert_eq!((t.price, t.quantity), (3_700_010_000_000, 500_000));
        assert_eq!(
            (t.agg_id, t.first_trade_id, t.last_trade_id),
            (12345, 100, 105)
        );
        assert_eq!(
            (t.trade_time_ms, t.event_time_ms),
            (1672515782130, 1672515782136)
        );
        assert!(t.is_buyer_maker);
        let combined = format!(r#"{{"stream":"btcusdt@aggTrade","data":{RAW}}}"#);
        assert_eq!(trade(&combined), t);
        let spaced = " {\n \"data\" :\t{ \"m\" : false , \"T\":1,\"l\":2,\"f\":-2,\"q\":\"1\",\"p\":\"2\",\"s\":\"X\",\"a\":0,\"E\":3,\"e\":\"aggTrade\",\"M\":true} , \"stream\":[1,{\"k\":\"\\u00e9\\n\"}] }\r\n";
        let t = trade(spaced);
        assert_eq!(
            (t.symbol, t.first_trade_id, t.is_buyer_maker),
            (&b"X"[..], -2, false)
        );
    }

    #[test]
    fn reads_spot_frames_with_the_symbol_first_and_m() {
        // As captured from stream.binance.com (`ws-captures/BINANCE.ws`).
        let spot = r#"{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}"#;
        let t = trade(spot);
        assert_eq!(t.symbol, b"NKNUSDT");
        assert_eq!(t.agg_id, 15683430);
        assert_eq!((t.price, t.quantity), (35_280_000, 5_800_000_000));
        assert_eq!((t.first_trade_id, t.last_trade_id), (19862790, 19862790));
        assert!(!t.is_buyer_maker);
        let combined = format!(r#"{{"stream":"nknusdt@aggTrade","data":{spot}}}"#);
        assert_eq!(trade(&combined), t);
    }

    #[test]
    fn reads_non_ascii_symbols_and_leaves_bad_utf8_and_escapes_to_serde() {
        let cjk = RAW.replace("BTCUSDT", "币安人生USDT");
        let t = trade(&cjk);
        assert_eq!(t.symbol, "币安人生USDT".as_bytes());
        assert_eq!(t.agg_id, 12345);
        let combined = format!(r#"{{"stream":"币安人生usdt@aggTrade","data":{cjk}}}"#);
        assert_eq!(trade(&combined), t);
        let reordered = cjk
            .replace(r#""e":"aggTrade","#, "")
            .replace('}', r#","e":"aggTrade"}"#);
        assert_eq!(trade(&reordered).symbol, t.symbol, "the general loop too");
        // Escaped, the symbol needs decoding: serde's job.
        falls_back(&cjk.replace("币安", r"\u5e01\u5b89"));
        // Bytes that are not UTF-8, in the symbol or in the stream name.
        let mut broken = cjk.clone().into_bytes();
        let at = cjk.find("安").unwrap();
        broken.remove(at + 1);
        assert_eq!(parse_agg_trade(&broken), FastParse::Fallback);
        let mut broken = combined.into_bytes();
        broken[12] = 0xff;
        assert_eq!(parse_agg_trade(&broken), FastParse::Fallback);
    }

    #[test]
    fn skips_unknown_values_of_every_type() {
        let frame = RAW.replace(
            r#""nq":"0.005""#,
            r#""x":null,"y":[true,false,null,-1.5e+3,0,{"a":[]}],"z":{"w":"q\"\\\/\b\f\n\r\t\u12aB"},"v":{}"#,
        );
        assert_eq!(trade(&frame).agg_id, 12345);
    }

    #[test]
    fn arrays_are_reported_not_parsed() {
        assert_eq!(parse_agg_trade(b" [1,2"), FastParse::ArrayPayload);
        assert_eq!(
            parse_agg_trade(br#"{"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker"}]}"#),
            FastParse::ArrayPayload
        );
    }

    #[test]
    fn defers_anything_unusual_to_serde() {
        for (from, to) in [
            (r#""s":"BTCUSDT""#, r#""s":"BTC\u0055SDT""#), // escape in a wanted string
            (r#""nq":"0.005""#, r#""nq":"é""#),            // non-ASCII anywhere
            (r#""a":12345"#, r#""a":12345.0"#),            // float id
            (r#""a":12345"#, r#""a":012345"#),             // leading zero
            (r#""a":12345"#, r#""a":-0"#),                 // serde reads -0 as a float
            (r#""a":12345"#, r#""a":99999999999999999999"#), // overflow
            (r#""a":12345"#, r#""a":"12345""#),            // wrong type
            (r#""m":true"#, r#""m":1"#),
            (r#""nq":"0.005""#, r#""a":1"#),       // duplicate
            (r#""nq":"0.005""#, r#""id":1"#),      // a reply field
            (r#""nq":"0.005""#, r#""x":01"#),      // invalid skipped number
            (r#""nq":"0.005""#, r#""x":"\x""#),    // invalid escape
            (r#""p":"37000.10""#, r#""p":"1e5""#), // not an exact decimal
            (r#""p":"37000.10","#, ""),            // missing field
        ] {
            assert!(RAW.contains(from));
            falls_back(&RAW.replacen(from, to, 1));
        }
        falls_back(&format!("{RAW} x"));
        falls_back(&RAW[..RAW.len() - 1]);
        falls_back(&format!(r#"{{"e":"x","data":{RAW}}}"#));
        falls_back(&format!(r#"{{"data":{RAW},"data":{RAW}}}"#));
        falls_back(&format!(r#"{{"stream":1,"data":{RAW},"stream":2}}"#));
        falls_back(&format!(r#"{{"data":{RAW}}}"#).replace("\"e\"", "\"data\""));
        falls_back(&format!(
            r#"{{"x":{}1{},{}"#,
            "[".repeat(40),
            "]".repeat(40),
            &RAW[1..]
        ));
        falls_back("");
        falls_back("{}");
        falls_back("nul");
    }

    #[test]
    fn other_events_are_recognised_with_serde_s_rules() {
        let depth = r#"{"stream":"x@depth","data":{"e":"depthUpdate","E":1,"T":2,"s":"X","U":1,"u":2,"pu":0,"b":[["1.0","2"]],"a":[]}}"#;
        let kline =
            r#"{"e":"kline","E":1,"s":"X","k":{"t":0,"T":59999,"s":"X","i":"1m","x":false}}"#;
        let book =
            r#"{"e":"bookTicker","u":1,"s":"X","b":"1","B":"2","a":"3","A":"4","T":1,"E":2}"#;
        for frame in [depth, kline, book] {
            assert_eq!(
                parse_agg_trade(frame.as_bytes()),
                FastParse::OtherEvent,
                "{frame}"
            );
        }
        // serde types `E` strictly and rejects duplicates, so these are errors there.
        falls_back(&kline.replace(r#""E":1"#, r#""E":"1""#));
        falls_back(&book.replace(r#""B":"2""#, r#""a":"2""#));
        // Lenient fields whose full reading fails in serde: an out-of-range float, a lone
        // surrogate, an object (serde decodes its keys).
        falls_back(&book.replace(r#""a":"3""#, r#""a":1e999"#));
        falls_back(&book.replace(r#""a":"3""#, r#""a":"\ud800""#));
        falls_back(&book.replace(r#""a":"3""#, r#""a":{"\ud800":1}"#));
        falls_back(&format!(r#"{{"stream":{{"\ud800":1}},"data":{RAW}}}"#));
        // No `e` at all (spot bookTicker): serde names it from the stream.
        falls_back(r#"{"stream":"x@bookTicker","data":{"u":1,"s":"X","b":"1"}}"#);
    }

    #[test]
    fn integers_cover_the_whole_i64_range() {
        let max = RAW.replace("12345", &i64::MAX.to_string());
        assert_eq!(trade(&max).agg_id, i64::MAX);
        let min = RAW.replace("12345", &i64::MIN.to_string());
        assert_eq!(trade(&min).agg_id, i64::MIN);
        falls_back(&RAW.replace("12345", "9223372036854775808"));
        falls_back(&RAW.replace("12345", "-9223372036854775809"));
    }
}
