//! Frame bytes -> what the io thread does next, for the one thread that owns the parser.
//!
//! Every frame first meets the schema-specific scanner ([`super::fast_parse`]), which reads
//! aggTrades and recognises other event types; whatever it does not take goes through
//! serde_json ([`super::wire`]), which parses in place as well and tells replies, unusual
//! events and broken frames apart. Nothing here locks, and neither path allocates for a
//! well-formed trade without JSON escapes (serde_json's only allocation, a scratch stack for
//! nested values, is reached by nested events the scanner defers, which Binance does not
//! send). Bad frames are counted and logged at most once a second per reason
//! ([`super::bad_input`]).

use std::time::Instant;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::bad_input::{BadInputCounters, BadInputReason};
use super::fast_parse::{self, FastParse};
use super::symbols::{Route, SymbolTable};
use super::wire::{self, WireError, WireEvent};
use crate::trade::AggTradePayload;

/// What one frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedFrame<'a> {
    /// An aggTrade of a known symbol (`symbol` is its global index) and where it goes.
    Trade(AggTradePayload, Route),
    /// An array payload (`!miniTicker@arr`, raw or combined): pass the same frame to
    /// [`super::mini_ticker::for_each_symbol`], and [`TradeParser::record_bad`] if that fails.
    MiniTickers,
    /// A reply to a request: `{"result":..,"id":N}`, or an error such as
    /// `{"code":2,"msg":"Invalid request","id":3}` (also accepted nested as
    /// `{"error":{"code":..,"msg":..},"id":N}`).
    Reply {
        /// The request id, when it is an unsigned integer.
        id: Option<u64>,
        /// `(code, msg)` for an error reply. The message is the JSON text as sent, escapes
        /// left in place, so it can borrow from the frame; a non-integer code reads as -1.
        error: Option<(i64, &'a str)>,
    },
    /// A well-formed event of another type (kline, depthUpdate, bookTicker, ...).
    Skipped,
    /// A frame that cannot be used; already counted and (rate-limited) logged.
    Bad(BadInputReason),
}

impl ParsedFrame<'_> {
    /// The trade, if the frame was one.
    pub fn trade(&self) -> Option<AggTradePayload> {
        match self {
            ParsedFrame::Trade(trade, _) => Some(*trade),
            _ => None,
        }
    }
}

/// Parses the frames of one connection's io thread into trades for the aggregators.
#[derive(Debug)]
pub struct TradeParser {
    symbols: SymbolTable,
    counters: BadInputCounters,
    max_frame_bytes: usize,
    /// Frames the scanner handed to serde_json: a growing share means the exchange changed
    /// its format (or sends escapes) and the fast path no longer applies.
    fallbacks: u64,
}

impl TradeParser {
    /// A parser resolving symbols through `symbols` and rejecting frames longer than
    /// `max_frame_bytes`.
    pub fn new(symbols: SymbolTable, max_frame_bytes: usize) -> Self {
        TradeParser {
            symbols,
            counters: BadInputCounters::new(),
            max_frame_bytes,
            fallbacks: 0,
        }
    }

    /// Parses a text frame's payload. `now` is used only to rate-limit logging of bad input.
    #[inline]
    pub fn parse<'a>(&mut self, frame: &'a [u8], now: Instant) -> ParsedFrame<'a> {
        if frame.len() > self.max_frame_bytes {
            return self.record_bad(BadInputReason::Oversized, frame, now);
        }
        match fast_parse::parse_agg_trade(frame) {
            FastParse::Trade(trade) => match self.symbols.route(trade.symbol) {
                Some(route) => ParsedFrame::Trade(trade.to_payload(route.global), route),
                None => self.record_bad(BadInputReason::UnknownSymbol, frame, now),
            },
            FastParse::ArrayPayload => ParsedFrame::MiniTickers,
            FastParse::OtherEvent => ParsedFrame::Skipped,
            FastParse::Fallback => self.parse_slow(frame, now),
        }
    }

    /// Handles a binary frame: Binance market streams send none, so it is bad input.
    pub fn parse_binary<'a>(&mut self, frame: &[u8], now: Instant) -> ParsedFrame<'a> {
        self.record_bad(BadInputReason::BinaryFrame, frame, now)
    }

    /// Counts and rate-limit-logs a frame found bad by the caller (e.g. a miniTicker frame
    /// that [`super::mini_ticker::for_each_symbol`] rejected), and says so.
    #[cold]
    #[inline(never)]
    pub fn record_bad<'a>(
        &mut self,
        reason: BadInputReason,
        frame: &[u8],
        now: Instant,
    ) -> ParsedFrame<'a> {
        self.counters.record(reason, frame, now);
        ParsedFrame::Bad(reason)
    }

    /// The symbol table, e.g. to check whether a miniTicker symbol is new.
    pub fn symbols(&self) -> &SymbolTable {
        &self.symbols
    }

    /// The symbol table, for the io thread to add symbols (the cold path).
    pub fn symbols_mut(&mut self) -> &mut SymbolTable {
        &mut self.symbols
    }

    /// Bad-input counts per reason.
    pub fn counters(&self) -> &BadInputCounters {
        &self.counters
    }

    /// Bad-input counters, e.g. to label their log lines with the connection's name.
    pub fn counters_mut(&mut self) -> &mut BadInputCounters {
        &mut self.counters
    }

    /// How many frames went to serde_json because the scanner did not take them.
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks
    }

    /// The serde_json path: still in place, slower, and the one that classifies everything.
    #[inline(never)]
    fn parse_slow<'a>(&mut self, frame: &'a [u8], now: Instant) -> ParsedFrame<'a> {
        self.fallbacks += 1;
        match wire::parse_frame(frame) {
            Ok(WireEvent::AggTrade(raw)) => match self.symbols.route(raw.symbol.as_bytes()) {
                None => self.record_bad(BadInputReason::UnknownSymbol, frame, now),
                Some(route) => match raw.to_payload(route.global) {
                    Ok(trade) => ParsedFrame::Trade(trade, route),
                    Err(_) => self.record_bad(BadInputReason::BadNumber, frame, now),
                },
            },
            Ok(WireEvent::Other(_)) => ParsedFrame::Skipped,
            Ok(WireEvent::Reply) => match parse_reply(frame) {
                Some(reply) => reply,
                None => self.record_bad(BadInputReason::BrokenJson, frame, now),
            },
            // serde reads an array into the event struct field by field, so a tickers
            // envelope the scanner could not walk (say, an escaped key before `data`) shows up
            // as one error or another; it is still tickers.
            Err(_) if has_array_data(frame) => ParsedFrame::MiniTickers,
            Err(WireError::MissingField(_)) => {
                self.record_bad(BadInputReason::MissingField, frame, now)
            }
            Err(WireError::Price(_) | WireError::Quantity(_)) => {
                self.record_bad(BadInputReason::BadNumber, frame, now)
            }
            Err(WireError::Json(_)) => {
                if std::str::from_utf8(frame).is_err() {
                    self.record_bad(BadInputReason::NonUtf8, frame, now)
                } else {
                    self.record_bad(BadInputReason::BrokenJson, frame, now)
                }
            }
        }
    }
}

/// The fields of a reply, in either error layout; values kept as raw JSON text so nothing is
/// copied and odd types do not make the whole reply unreadable.
#[derive(Deserialize)]
struct ReplyFields<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    code: Option<&'a RawValue>,
    #[serde(borrow, default)]
    msg: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<ErrorFields<'a>>,
}

#[derive(Deserialize)]
struct ErrorFields<'a> {
    #[serde(borrow, default)]
    code: Option<&'a RawValue>,
    #[serde(borrow, default)]
    msg: Option<&'a RawValue>,
}

fn parse_reply(frame: &[u8]) -> Option<ParsedFrame<'_>> {
    let fields: ReplyFields<'_> = serde_json::from_slice(frame).ok()?;
    let (code, msg) = match fields.error {
        Some(nested) => (nested.code, nested.msg),
        None => (fields.code, fields.msg),
    };
    let error = code.map(|code| {
        let text = msg.map_or("", |m| {
            let m = m.get();
            m.strip_prefix('"')
                .and_then(|m| m.strip_suffix('"'))
                .unwrap_or(m)
        });
        (code.get().parse::<i64>().unwrap_or(-1), text)
    });
    Some(ParsedFrame::Reply {
        id: fields.id.and_then(|id| id.get().parse().ok()),
        error,
    })
}

/// True for an object whose `data` member is an array.
fn has_array_data(frame: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
    }
    serde_json::from_slice::<Envelope<'_>>(frame).is_ok_and(|e| e.data.get().starts_with('['))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = r#"{"e":"aggTrade","E":1672515782136,"a":12345,"s":"BTCUSDT","p":"37000.10","q":"0.005","nq":"0.005","f":100,"l":105,"T":1672515782130,"m":true}"#;

    fn parser() -> TradeParser {
        let mut symbols = SymbolTable::with_capacity(8);
        symbols.insert("BTCUSDT", 3).unwrap();
        TradeParser::new(symbols, 4096)
    }

    fn parse(p: &mut TradeParser, frame: &str) -> ParsedFrame<'static> {
        // Leaked so the borrowed result can outlive the local string in these tests.
        p.parse(
            Box::leak(frame.to_owned().into_boxed_str()).as_bytes(),
            Instant::now(),
        )
    }

    #[test]
    fn trades_fast_and_through_serde_agree() {
        let mut p = parser();
        let Some(fast) = parse(&mut p, RAW).trade() else {
            panic!("no trade")
        };
        assert_eq!(
            (fast.symbol, fast.price, fast.agg_id),
            (3, 3_700_010_000_000, 12345)
        );
        let combined = format!(r#"{{"stream":"btcusdt@aggTrade","data":{RAW}}}"#);
        assert_eq!(parse(&mut p, &combined).trade(), Some(fast));
        assert_eq!(p.fallbacks(), 0);
        let escaped = RAW.replace(r#""s":"BTCUSDT""#, r#""s":"BTC\u0055SDT""#);
        assert_eq!(parse(&mut p, &escaped).trade(), Some(fast));
        assert_eq!(p.fallbacks(), 1);
    }

    #[test]
    fn non_ascii_symbols_raw_take_the_fast_path_and_escaped_the_fallback() {
        let mut p = parser();
        p.symbols_mut().insert("币安人生USDT", 16).unwrap();
        let raw = RAW.replace("BTCUSDT", "币安人生USDT");
        let Some(fast) = parse(&mut p, &raw).trade() else {
            panic!("no trade")
        };
        assert_eq!((fast.symbol, fast.agg_id), (16, 12345));
        let combined = format!(r#"{{"stream":"币安人生usdt@aggTrade","data":{raw}}}"#);
        assert_eq!(parse(&mut p, &combined).trade(), Some(fast));
        assert_eq!(p.fallbacks(), 0, "raw UTF-8 is read by the scanner");
        // `\uXXXX` escapes, all of the name or part of it, in raw and combined frames.
        let all = raw.replace("币安人生", r"\u5e01\u5b89\u4eba\u751f");
        let part = raw.replace("人生USDT", r"\u4eba生\u0055SDT");
        let wrapped = format!(r#"{{"stream":"\u5e01安人生usdt@aggTrade","data":{all}}}"#);
        for escaped in [&all, &part, &wrapped] {
            assert_eq!(parse(&mut p, escaped).trade(), Some(fast), "{escaped}");
        }
        assert_eq!(p.fallbacks(), 3);
        assert_eq!(p.counters().total(), 0);
    }

    #[test]
    fn replies_others_and_arrays_are_recognised() {
        let mut p = parser();
        assert_eq!(
            parse(&mut p, r#"{"result":null,"id":3}"#),
            ParsedFrame::Reply {
                id: Some(3),
                error: None
            }
        );
        assert_eq!(
            parse(
                &mut p,
                r#"{"code":2,"msg":"Invalid request: \"x\"","id":4}"#
            ),
            ParsedFrame::Reply {
                id: Some(4),
                error: Some((2, r#"Invalid request: \"x\""#))
            }
        );
        assert_eq!(
            parse(
                &mut p,
                r#"{"id":"a","error":{"code":-1121,"msg":"Invalid symbol."}}"#
            ),
            ParsedFrame::Reply {
                id: None,
                error: Some((-1121, "Invalid symbol."))
            }
        );
        let kline = r#"{"stream":"x@kline_1m","data":{"e":"kline","E":1,"s":"X","k":{"t":0}}}"#;
        assert_eq!(parse(&mut p, kline), ParsedFrame::Skipped);
        assert_eq!(
            parse(&mut p, r#"[{"e":"24hrMiniTicker"}]"#),
            ParsedFrame::MiniTickers
        );
        let odd = r#"{"str\u0065am":"!miniTicker@arr","data":[]}"#;
        assert_eq!(parse(&mut p, odd), ParsedFrame::MiniTickers);
        assert_eq!(p.counters().total(), 0);
    }

    #[test]
    fn bad_frames_are_classified_and_counted() {
        use BadInputReason::*;
        let mut p = parser();
        let cases = [
            (RAW.replace("BTCUSDT", "ETHUSDT"), UnknownSymbol),
            (RAW.replace("37000.10", "1e5"), BadNumber),
            (RAW.replace(r#""a":12345,"#, ""), MissingField),
            ("{}".to_owned(), MissingField),
            (RAW[..40].to_owned(), BrokenJson),
            ("x".repeat(5000), Oversized),
        ];
        for (frame, reason) in &cases {
            assert_eq!(parse(&mut p, frame), ParsedFrame::Bad(*reason), "{frame}");
        }
        let now = Instant::now();
        assert_eq!(p.parse(b"\xff\xfe{", now), ParsedFrame::Bad(NonUtf8));
        assert_eq!(p.parse_binary(b"\x00", now), ParsedFrame::Bad(BinaryFrame));
        assert_eq!(p.counters().total(), cases.len() as u64 + 2);
        assert_eq!(p.counters().count(MissingField), 2);
    }

    #[test]
    fn symbols_added_later_are_found() {
        let mut p = parser();
        let eth = RAW.replace("BTCUSDT", "ETHUSDT");
        assert_eq!(
            parse(&mut p, &eth),
            ParsedFrame::Bad(BadInputReason::UnknownSymbol)
        );
        p.symbols_mut().insert("ETHUSDT", 9).unwrap();
        assert!(
            matches!(parse(&mut p, &eth), ParsedFrame::Trade(t, r) if t.symbol == 9 && r.local == 9)
        );
        assert!(p.symbols().contains(b"ETHUSDT"));
    }
}
