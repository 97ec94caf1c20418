//! One line of a WebSocket capture: a raw frame as received, optionally stamped with the
//! local receive time (`<unix_seconds>: <frame>`).
//!
//! Captures record a whole combined stream (aggTrades, klines, depth, book tickers, replies) of
//! several symbols; only the aggTrades of the replayed symbol are used and everything else is
//! skipped. The first line of a capture names the URL (`wss://... <-> <connect_time>`); it is
//! not a frame.

use crate::ingress::wire::{RawTradePayload, WireError, WireEvent, parse_frame};
use crate::trade::AggTradePayload;

use super::error::RowProblem;

/// What a capture line turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureLine<T = AggTradePayload> {
    /// An aggTrade of the replayed symbol: its payload, or from [`read_line`] its payload and
    /// its fields as sent.
    Trade(T),
    /// A frame that is not wanted: another event type, another symbol, or a reply.
    Skip,
    /// Not a frame at all (no `{` after the optional time stamp), such as the URL line.
    NotFrame,
}

/// Removes a leading `<unix_seconds>: ` receive stamp (digits, an optional fraction, a colon
/// and spaces); any other line is returned whole.
pub fn strip_stamp(line: &[u8]) -> &[u8] {
    let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return line;
    }
    let mut rest = &line[digits..];
    if let [b'.', tail @ ..] = rest {
        let fraction = tail.iter().take_while(|b| b.is_ascii_digit()).count();
        if fraction == 0 {
            return line;
        }
        rest = &tail[fraction..];
    }
    match rest {
        [b':', tail @ ..] => tail.trim_ascii_start(),
        _ => line,
    }
}

/// True when `line` is a capture's URL line: `wss://host/path <-> <connect_time>`.
pub fn is_url_line(line: &[u8]) -> bool {
    line.starts_with(b"wss://") || line.starts_with(b"ws://")
}

/// Classifies one line (without its line ending) for the symbol `symbol`, matched ASCII
/// case-insensitively since stream names are lower case and event symbols upper case.
/// Trades are given the symbol index `index`.
pub fn parse_line(line: &[u8], symbol: &str, index: u32) -> Result<CaptureLine, RowProblem> {
    Ok(match read_line(line, Some(symbol), index)? {
        CaptureLine::Trade((trade, _)) => CaptureLine::Trade(trade),
        CaptureLine::Skip => CaptureLine::Skip,
        CaptureLine::NotFrame => CaptureLine::NotFrame,
    })
}

/// [`parse_line`] for the symbol `symbol`, or for every symbol when `None`; each trade comes
/// with its event's fields as sent (symbol, price and quantity text).
pub fn read_line<'a>(
    line: &'a [u8],
    symbol: Option<&str>,
    index: u32,
) -> Result<CaptureLine<(AggTradePayload, RawTradePayload<'a>)>, RowProblem> {
    let frame = strip_stamp(line);
    if !frame.starts_with(b"{") {
        return Ok(CaptureLine::NotFrame);
    }
    let event = parse_frame(frame).map_err(|e| RowProblem::row(frame, e))?;
    let WireEvent::AggTrade(raw) = event else {
        return Ok(CaptureLine::Skip);
    };
    if symbol.is_some_and(|symbol| !raw.symbol.eq_ignore_ascii_case(symbol)) {
        return Ok(CaptureLine::Skip);
    }
    match raw.to_payload(index) {
        Ok(trade) => Ok(CaptureLine::Trade((trade, raw))),
        Err(WireError::Price(e)) => Err(RowProblem::key("p", raw.price.as_bytes(), e)),
        Err(WireError::Quantity(e)) => Err(RowProblem::key("q", raw.quantity.as_bytes(), e)),
        Err(e) => Err(RowProblem::row(frame, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::error::FieldRef;

    const TRADE: &str = r#"{"stream":"ctkusdt@aggTrade","data":{"e":"aggTrade","E":1626992741575,"a":16599292,"s":"CTKUSDT","p":"1.01100","q":"10","f":23961322,"l":23961322,"T":1626992741421,"m":false}}"#;

    #[test]
    fn stamps_are_stripped_and_other_lines_kept() {
        assert_eq!(strip_stamp(b"1626992742.289739: {\"a\":1}"), b"{\"a\":1}");
        assert_eq!(strip_stamp(b"1626992742: {}"), b"{}");
        assert_eq!(strip_stamp(b"1626992742:{}"), b"{}");
        assert_eq!(strip_stamp(b"{}"), b"{}");
        assert_eq!(strip_stamp(b"12.: {}"), b"12.: {}");
        assert_eq!(strip_stamp(b"12 {}"), b"12 {}");
        assert_eq!(strip_stamp(b"wss://x <-> 1"), b"wss://x <-> 1");
    }

    #[test]
    fn trade_of_the_symbol_is_used_with_or_without_stamp() {
        let stamped = format!("1626992742.289739: {TRADE}");
        for line in [TRADE, stamped.as_str()] {
            let Ok(CaptureLine::Trade(t)) = parse_line(line.as_bytes(), "ctkusdt", 3) else {
                panic!("not a trade: {line}");
            };
            assert_eq!(t.symbol, 3);
            assert_eq!(t.agg_id, 16599292);
            assert_eq!(t.price, 101_100_000);
            assert_eq!(t.quantity, 1_000_000_000);
            assert_eq!(
                (t.trade_time_ms, t.event_time_ms),
                (1626992741421, 1626992741575)
            );
            assert!(!t.is_buyer_maker);
        }
    }

    #[test]
    fn other_symbols_events_and_replies_are_skipped() {
        assert_eq!(
            parse_line(TRADE.as_bytes(), "SUSHIUSDT", 0),
            Ok(CaptureLine::Skip)
        );
        let kline =
            r#"{"stream":"ctkusdt@kline_1m","data":{"e":"kline","E":1,"s":"CTKUSDT","k":{"t":1}}}"#;
        assert_eq!(
            parse_line(kline.as_bytes(), "CTKUSDT", 0),
            Ok(CaptureLine::Skip)
        );
        assert_eq!(
            parse_line(br#"{"result":null,"id":1}"#, "CTKUSDT", 0),
            Ok(CaptureLine::Skip)
        );
    }

    #[test]
    fn every_symbol_is_read_with_its_fields_as_sent() {
        let lower = TRADE.replace("\"CTKUSDT\"", "\"ctkusdt\"");
        let Ok(CaptureLine::Trade((t, raw))) = read_line(lower.as_bytes(), None, 2) else {
            panic!("not a trade");
        };
        assert_eq!((t.symbol, t.agg_id), (2, 16599292));
        assert_eq!(
            (
                raw.symbol.as_ref(),
                raw.price.as_ref(),
                raw.quantity.as_ref()
            ),
            ("ctkusdt", "1.01100", "10")
        );
        assert_eq!(
            read_line(TRADE.as_bytes(), Some("SUSHIUSDT"), 0),
            Ok(CaptureLine::Skip)
        );
    }

    #[test]
    fn url_line_is_not_a_frame() {
        let url =
            b"wss://fstream.binance.com/stream?streams=ctkusdt@aggTrade <-> 1626992740.179554";
        assert!(is_url_line(url));
        assert_eq!(parse_line(url, "CTKUSDT", 0), Ok(CaptureLine::NotFrame));
        assert_eq!(
            parse_line(b"garbage", "CTKUSDT", 0),
            Ok(CaptureLine::NotFrame)
        );
    }

    #[test]
    fn broken_frames_and_prices_are_problems() {
        let cut = &TRADE[..60];
        let p = parse_line(cut.as_bytes(), "CTKUSDT", 0).unwrap_err();
        assert_eq!(p.field, None);
        assert!(p.cause.starts_with("malformed frame"), "{}", p.cause);
        let bad_price = TRADE.replace("\"1.01100\"", "\"1.0x\"");
        let p = parse_line(bad_price.as_bytes(), "CTKUSDT", 0).unwrap_err();
        assert_eq!(
            (p.field, p.text.as_str()),
            (Some(FieldRef::Key("p")), "1.0x")
        );
        let no_time = TRADE.replace(",\"T\":1626992741421", "");
        let p = parse_line(no_time.as_bytes(), "CTKUSDT", 0).unwrap_err();
        assert!(p.cause.contains("\"T\""), "{}", p.cause);
    }
}
