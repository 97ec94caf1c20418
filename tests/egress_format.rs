//! Binance's output formats as klagg writes them: kline stream events, the combined envelope,
//! REST kline rows, and the control requests with their replies. (Stream names and URLs are
//! tested next to their parsers in `src/egress/`.)
//!
//! Expected bytes are written out by hand, and real Binance frames and official kline files
//! (read from `$KLAGG_DATA` or `../shared/data/binance`, skipped with a message when absent) are
//! re-encoded from exact integers and compared byte for byte.

#[path = "support/real_data.rs"]
mod real_data;

use std::fs;

use klagg::decimal::parse_fixed;
use klagg::egress::requests::{
    Command, ErrorCode, Request, RequestError, RequestId, parse_request,
};
use klagg::egress::stream_name::{StreamKind, write_stream_name};
use klagg::egress::{
    Decimals, KlineStream, replies, write_combined, write_kline_event, write_rest_kline,
    write_rest_klines,
};
use klagg::interval::Interval;
use klagg::kline::Kline;
use serde_json::Value;

const BTCUSDT: Decimals = Decimals::new(2, 3);

/// Exact units of 1e-8 from decimal text.
fn e8(text: &str) -> i64 {
    parse_fixed(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Exact units of 10^-scale from unsigned decimal text with at most `scale` fractional digits.
fn scaled(text: &str, scale: u32) -> i128 {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let frac_len = u32::try_from(frac.len()).unwrap();
    assert!(
        frac_len <= scale,
        "{text} has more than {scale} fractional digits"
    );
    let digits: i128 = format!("{int}{frac}").parse().unwrap();
    digits * 10_i128.pow(scale - frac_len)
}

fn interval(name: &str) -> Interval {
    Interval::parse(name).unwrap()
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

/// Fractional digits of a decimal text.
fn frac_digits(text: &str) -> u32 {
    text.split_once('.')
        .map_or(0, |(_, frac)| u32::try_from(frac.len()).unwrap())
}

/// A real USD-M BTCUSDT minute, 2024-07-18 23:58 UTC (from the official file of 2024-07-19),
/// with made-up trade ids.
fn btc_minute() -> Kline {
    Kline {
        open_time: 1_721_347_080_000,
        close_time: 1_721_347_139_999,
        open: e8("63952.70"),
        high: e8("63952.70"),
        low: e8("63945.20"),
        close: e8("63947.90"),
        volume: i128::from(e8("33.530")),
        quote_volume: scaled("2144203.87590", 16),
        taker_buy_volume: i128::from(e8("6.155")),
        taker_buy_quote_volume: scaled("393601.07330", 16),
        count: 367,
        first_trade_id: 4_000_000_001,
        last_trade_id: 4_000_000_367,
    }
}

fn event(symbol: &str, name: &str, kline: &Kline, closed: bool, decimals: Decimals) -> String {
    let mut out = Vec::new();
    write_kline_event(
        &mut out,
        1_721_347_100_123,
        symbol,
        interval(name),
        kline,
        closed,
        decimals,
    );
    text(out)
}

#[test]
fn kline_event_of_a_full_kline() {
    assert_eq!(
        event("BTCUSDT", "1m", &btc_minute(), false, BTCUSDT),
        r#"{"e":"kline","E":1721347100123,"s":"BTCUSDT","k":{"t":1721347080000,"T":1721347139999,"s":"BTCUSDT","i":"1m","f":4000000001,"L":4000000367,"o":"63952.70","c":"63947.90","h":"63952.70","l":"63945.20","v":"33.530","n":367,"x":false,"q":"2144203.87590","V":"6.155","Q":"393601.07330","B":"0"}}"#
    );
}

#[test]
fn kline_event_of_an_empty_month() {
    // 2024-02 is 29 days; an empty period has every price at the previous close.
    let kline = Kline::empty(1_706_745_600_000, 1_709_251_199_999, e8("3100.5"));
    assert_eq!(
        event("ETHUSDT", "1M", &kline, true, BTCUSDT),
        r#"{"e":"kline","E":1721347100123,"s":"ETHUSDT","k":{"t":1706745600000,"T":1709251199999,"s":"ETHUSDT","i":"1M","f":-1,"L":-1,"o":"3100.50","c":"3100.50","h":"3100.50","l":"3100.50","v":"0.000","n":0,"x":true,"q":"0.00000","V":"0.000","Q":"0.00000","B":"0"}}"#
    );
}

#[test]
fn kline_event_pads_every_decimal_to_its_precision() {
    let kline = Kline {
        open: e8("1"),
        high: e8("1.5"),
        low: e8("0.01"),
        close: e8("1.1"),
        volume: i128::from(e8("10")),
        quote_volume: scaled("11", 16),
        taker_buy_volume: i128::from(e8("0.5")),
        taker_buy_quote_volume: scaled("0.25", 16),
        ..btc_minute()
    };
    let decimals = Decimals::new(4, 1);
    let json: Value = serde_json::from_str(&event("X", "5m", &kline, false, decimals)).unwrap();
    let k = &json["k"];
    let fields = ["o", "c", "h", "l", "v", "q", "V", "Q"];
    let got: Vec<&str> = fields.iter().map(|f| k[f].as_str().unwrap()).collect();
    assert_eq!(
        got,
        [
            "1.0000", "1.1000", "1.5000", "0.0100", "10.0", "11.00000", "0.5", "0.25000"
        ]
    );
}

#[test]
fn kline_event_never_rounds_a_value_finer_than_its_precision() {
    let kline = Kline {
        open: e8("63952.12345678"),
        volume: 1,
        quote_volume: 1,
        taker_buy_quote_volume: scaled("7.1234567890123456", 16),
        ..btc_minute()
    };
    let json: Value =
        serde_json::from_str(&event("BTCUSDT", "1m", &kline, false, BTCUSDT)).unwrap();
    let k = &json["k"];
    assert_eq!(k["o"], "63952.12345678");
    assert_eq!(k["c"], "63947.90", "other fields keep the precision");
    assert_eq!(k["v"], "0.00000001");
    assert_eq!(k["q"], "0.0000000000000001");
    assert_eq!(k["Q"], "7.1234567890123456");
}

#[test]
fn kline_event_round_trips_through_json() {
    let kline = btc_minute();
    let json: Value = serde_json::from_str(&event("BTCUSDT", "1m", &kline, true, BTCUSDT)).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 4);
    assert_eq!(json["e"], "kline");
    assert_eq!(json["E"], 1_721_347_100_123_i64);
    assert_eq!(json["s"], "BTCUSDT");
    let k = json["k"].as_object().unwrap();
    assert_eq!(k.len(), 17);
    let int = |f: &str| k[f].as_i64().unwrap();
    let dec = |f: &str| k[f].as_str().unwrap();
    assert_eq!(int("t"), kline.open_time);
    assert_eq!(int("T"), kline.close_time);
    assert_eq!(k["s"], "BTCUSDT");
    assert_eq!(k["i"], "1m");
    assert_eq!(int("f"), kline.first_trade_id);
    assert_eq!(int("L"), kline.last_trade_id);
    assert_eq!(e8(dec("o")), kline.open);
    assert_eq!(e8(dec("c")), kline.close);
    assert_eq!(e8(dec("h")), kline.high);
    assert_eq!(e8(dec("l")), kline.low);
    assert_eq!(i128::from(e8(dec("v"))), kline.volume);
    assert_eq!(int("n"), kline.count);
    assert_eq!(k["x"], true);
    assert_eq!(scaled(dec("q"), 16), kline.quote_volume);
    assert_eq!(i128::from(e8(dec("V"))), kline.taker_buy_volume);
    assert_eq!(scaled(dec("Q"), 16), kline.taker_buy_quote_volume);
    assert_eq!(k["B"], "0");
}

#[test]
fn kline_event_escapes_what_json_requires() {
    let json: Value =
        serde_json::from_str(&event("A\"B\\C", "1m", &btc_minute(), false, BTCUSDT)).unwrap();
    assert_eq!(json["s"], "A\"B\\C");
    assert_eq!(json["k"]["s"], "A\"B\\C");
}

#[test]
fn events_append_to_a_reused_buffer() {
    let mut out = Vec::new();
    let kline = btc_minute();
    write_kline_event(
        &mut out,
        1,
        "BTCUSDT",
        interval("1m"),
        &kline,
        false,
        BTCUSDT,
    );
    let first = out.clone();
    out.clear();
    write_kline_event(
        &mut out,
        1,
        "BTCUSDT",
        interval("1m"),
        &kline,
        false,
        BTCUSDT,
    );
    assert_eq!(out, first, "clearing and rewriting gives the same bytes");
    write_kline_event(
        &mut out,
        1,
        "BTCUSDT",
        interval("1m"),
        &kline,
        false,
        BTCUSDT,
    );
    assert_eq!(out, [first.as_slice(), &first].concat());
}

#[test]
fn combined_envelope() {
    let payload = event("BTCUSDT", "1M", &btc_minute(), false, BTCUSDT);
    let mut out = Vec::new();
    write_combined(&mut out, "btcusdt@kline_1M", payload.as_bytes());
    assert_eq!(
        text(out),
        format!(r#"{{"stream":"btcusdt@kline_1M","data":{payload}}}"#)
    );
}

#[test]
fn rest_row_of_a_real_kline() {
    let mut out = Vec::new();
    write_rest_kline(&mut out, &btc_minute(), BTCUSDT);
    assert_eq!(
        text(out),
        r#"[1721347080000,"63952.70","63952.70","63945.20","63947.90","33.530",1721347139999,"2144203.87590",367,"6.155","393601.07330","0"]"#
    );
}

#[test]
fn rest_page_is_an_array_of_rows() {
    let second = Kline::empty(1_721_347_140_000, 1_721_347_199_999, e8("63947.9"));
    let mut out = b"body:".to_vec();
    write_rest_klines(&mut out, &[btc_minute(), second], BTCUSDT);
    assert_eq!(
        text(out),
        r#"body:[[1721347080000,"63952.70","63952.70","63945.20","63947.90","33.530",1721347139999,"2144203.87590",367,"6.155","393601.07330","0"],[1721347140000,"63947.90","63947.90","63947.90","63947.90","0.000",1721347199999,"0.00000",0,"0.000","0.00000","0"]]"#
    );
}

/// Every official USD-M kline file row, turned into exact integers and written back as a REST
/// row, gives the same text (Binance's REST rows and Data Vision files print the same digits).
#[test]
fn rest_rows_equal_official_usdm_klines() {
    let Some(dir) = real_data::data_dir("rest_rows_equal_official_usdm_klines") else {
        return;
    };
    let mut rows = 0;
    for day in [
        "um-BTCUSDT-2023-04-05",
        "um-BTCUSDT-2024-07-19",
        "um-BTCUSDT-2024-08-08",
    ] {
        let path = dir.join(day).join("official/BTCUSDT-1m.csv");
        let Ok(csv) = fs::read_to_string(&path) else {
            eprintln!("skipped {}: not readable", path.display());
            continue;
        };
        for line in csv.lines().filter(|line| !line.starts_with("open_time")) {
            let c: Vec<&str> = line.split(',').collect();
            assert_eq!(c.len(), 12, "{line}");
            let kline = Kline {
                open_time: c[0].parse().unwrap(),
                open: e8(c[1]),
                high: e8(c[2]),
                low: e8(c[3]),
                close: e8(c[4]),
                volume: i128::from(e8(c[5])),
                close_time: c[6].parse().unwrap(),
                quote_volume: scaled(c[7], 16),
                count: c[8].parse().unwrap(),
                taker_buy_volume: i128::from(e8(c[9])),
                taker_buy_quote_volume: scaled(c[10], 16),
                first_trade_id: -1,
                last_trade_id: -1,
            };
            let decimals = Decimals::new(frac_digits(c[1]), frac_digits(c[5]));
            assert_eq!(decimals.quote(), frac_digits(c[7]), "{line}");
            let expected = format!(
                r#"[{},"{}","{}","{}","{}","{}",{},"{}",{},"{}","{}","{}"]"#,
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11]
            );
            let mut out = Vec::new();
            write_rest_kline(&mut out, &kline, decimals);
            assert_eq!(text(out), expected);
            rows += 1;
        }
    }
    assert!(rows > 0, "no official rows were compared");
}

/// Real `@kline_1m` frames from a USD-M combined-stream capture, parsed into exact integers and
/// re-encoded with the decimals the frame shows, equal the captured frame byte for byte.
#[test]
fn real_usdm_kline_frames_are_reproduced_byte_for_byte() {
    let Some((frames, closed)) = reproduce_kline_frames(
        "real_usdm_kline_frames_are_reproduced_byte_for_byte",
        "ws-captures/BINANCE_FUTURES.ws",
        |open, volume| Decimals::new(frac_digits(open), frac_digits(volume)),
    ) else {
        return;
    };
    assert!(frames >= 10, "only {frames} kline frames in the capture");
    assert!(closed > 0, "no closed kline among the frames");
}

/// Real `@kline_1m` frames from a spot combined-stream capture, parsed into exact integers and
/// re-encoded with spot's decimals (8 for every number), equal the captured frame byte for byte.
#[test]
fn real_spot_kline_frames_are_reproduced_byte_for_byte() {
    let Some((frames, _)) = reproduce_kline_frames(
        "real_spot_kline_frames_are_reproduced_byte_for_byte",
        "ws-captures/BINANCE.ws",
        |_, _| Decimals::SPOT,
    ) else {
        return;
    };
    // The spot capture holds two kline frames, both open.
    assert!(frames >= 2, "only {frames} kline frames in the capture");
}

/// Re-encodes every `@kline_1m` frame of the capture at `capture` (below the real data
/// directory) with the decimals `decimals_of(open, volume)` gives from the frame's own
/// numbers and asserts each equals the captured frame; returns how many frames were compared
/// and how many of them closed their kline, or `None` (skipped) without the data.
fn reproduce_kline_frames(
    test: &str,
    capture: &str,
    decimals_of: impl Fn(&str, &str) -> Decimals,
) -> Option<(usize, usize)> {
    let dir = real_data::data_dir(test)?;
    let path = dir.join(capture);
    let Ok(capture) = fs::read_to_string(&path) else {
        eprintln!("skipped: {} is not readable", path.display());
        return None;
    };
    let (mut frames, mut closed) = (0, 0);
    // Each line is `<unix seconds>: <frame>`; the first is the URL.
    for frame in capture
        .lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(_, f)| f)
    {
        let json: Value = serde_json::from_str(frame).unwrap();
        let stream = json["stream"].as_str().unwrap();
        if !stream.ends_with("@kline_1m") {
            continue;
        }
        let data = &json["data"];
        let k = &data["k"];
        let int = |f: &str| k[f].as_i64().unwrap();
        let dec = |f: &str| k[f].as_str().unwrap();
        let kline = Kline {
            open_time: int("t"),
            close_time: int("T"),
            open: e8(dec("o")),
            high: e8(dec("h")),
            low: e8(dec("l")),
            close: e8(dec("c")),
            volume: i128::from(e8(dec("v"))),
            quote_volume: scaled(dec("q"), 16),
            taker_buy_volume: i128::from(e8(dec("V"))),
            taker_buy_quote_volume: scaled(dec("Q"), 16),
            count: int("n"),
            first_trade_id: int("f"),
            last_trade_id: int("L"),
        };
        let decimals = decimals_of(dec("o"), dec("v"));
        let symbol = data["s"].as_str().unwrap();
        let is_closed = k["x"].as_bool().unwrap();
        let mut payload = Vec::new();
        let event_time = data["E"].as_i64().unwrap();
        let i = interval(dec("i"));
        write_kline_event(
            &mut payload,
            event_time,
            symbol,
            i,
            &kline,
            is_closed,
            decimals,
        );
        let mut name = Vec::new();
        write_stream_name(&mut name, symbol, i, StreamKind::Kline);
        assert_eq!(name, stream.as_bytes());
        let mut out = Vec::new();
        write_combined(&mut out, stream, &payload);
        assert_eq!(text(out), frame);
        frames += 1;
        closed += usize::from(is_closed);
    }
    Some((frames, closed))
}

fn streams(names: &[&str]) -> Vec<KlineStream> {
    names
        .iter()
        .map(|n| KlineStream::parse(n).unwrap())
        .collect()
}

fn request(frame: &str) -> Request {
    parse_request(frame.as_bytes()).unwrap_or_else(|e| panic!("{frame}: {e}"))
}

fn refusal(frame: &str) -> RequestError {
    match parse_request(frame.as_bytes()) {
        Ok(request) => panic!("{frame} was accepted as {request:?}"),
        Err(e) => e,
    }
}

fn error_reply(error: &RequestError) -> String {
    let mut out = Vec::new();
    replies::write_error(&mut out, error);
    text(out)
}

#[test]
fn requests_are_parsed() {
    assert_eq!(
        request(
            r#"{"method":"SUBSCRIBE","params":["btcusdt@kline_1m","btcusdt@kline_1M"],"id":1}"#
        ),
        Request {
            id: RequestId::Number(1),
            command: Command::Subscribe(streams(&["btcusdt@kline_1m", "btcusdt@kline_1M"])),
        }
    );
    assert_eq!(
        request(r#" {"id":312, "params":["btcusdt@kline_1m"], "method":"UNSUBSCRIBE"} "#),
        Request {
            id: RequestId::Number(312),
            command: Command::Unsubscribe(streams(&["btcusdt@kline_1m"])),
        }
    );
    for frame in [
        r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#,
        r#"{"method":"LIST_SUBSCRIPTIONS","params":[],"id":3}"#,
        r#"{"method":"LIST_SUBSCRIPTIONS","params":null,"id":3,"extra":{"ignored":true}}"#,
    ] {
        assert_eq!(
            request(frame),
            Request {
                id: RequestId::Number(3),
                command: Command::ListSubscriptions,
            },
            "{frame}"
        );
    }
    assert_eq!(
        request(r#"{"method":"SUBSCRIBE","params":[],"id":18446744073709551615}"#),
        Request {
            id: u64::MAX.into(),
            command: Command::Subscribe(Vec::new()),
        }
    );
    assert_eq!(
        request(r#"{"method":"SUBSCRIBE","params":["\u0062tcusdt@kline_1m"],"id":0}"#).command,
        Command::Subscribe(streams(&["btcusdt@kline_1m"])),
        "escaped names are decoded"
    );
}

#[test]
fn malformed_json_is_code_3_without_id() {
    for frame in [
        "",
        "{",
        r#"{"method":"SUBSCRIBE","id":1"#,
        "nope",
        "{\"id\":1,}",
        "\u{ff}",
    ] {
        let e = refusal(frame);
        assert_eq!((e.code, &e.id), (ErrorCode::InvalidJson, &None), "{frame}");
        assert!(e.msg.starts_with("Invalid JSON: "), "{}", e.msg);
        let reply: Value = serde_json::from_str(&error_reply(&e)).unwrap();
        assert_eq!(reply["error"]["code"], 3);
        assert_eq!(reply["error"]["msg"], e.msg.as_str());
        assert!(reply["id"].is_null());
    }
    let e = refusal("{");
    assert_eq!(
        error_reply(&e),
        format!(r#"{{"error":{{"code":3,"msg":"{}"}},"id":null}}"#, e.msg)
    );
}

#[test]
fn bad_ids_are_code_2_without_id() {
    for frame in [
        r#"{"method":"SUBSCRIBE","params":["btcusdt@kline_1m"]}"#,
        r#"{"method":"SUBSCRIBE","params":[],"id":1.5}"#,
        r#"{"method":"SUBSCRIBE","params":[],"id":"a b"}"#,
        r#"{"method":"SUBSCRIBE","params":[],"id":{"n":1}}"#,
        r#"{"method":"FOO","id":18446744073709551616}"#,
    ] {
        let e = refusal(frame);
        assert_eq!(
            error_reply(&e),
            r#"{"error":{"code":2,"msg":"Invalid request: request ID must be a 64-bit integer, a string of at most 36 letters, digits, '-' or '_', or null"},"id":null}"#,
            "{frame}"
        );
    }
    for frame in ["[1]", "1", "\"SUBSCRIBE\"", "null"] {
        let e = refusal(frame);
        assert_eq!((e.code, e.id), (ErrorCode::InvalidRequest, None), "{frame}");
    }
}

#[test]
fn bad_requests_are_code_2_with_their_id() {
    let cases = [
        (
            r#"{"method":"FOO","id":7}"#,
            "Invalid request: unknown variant `FOO`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`",
        ),
        (
            r#"{"method":"subscribe","params":[],"id":7}"#,
            "Invalid request: unknown variant `subscribe`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`",
        ),
        (
            r#"{"params":[],"id":7}"#,
            "Invalid request: missing field `method`",
        ),
        (
            r#"{"method":1,"id":7}"#,
            "Invalid request: method must be a string",
        ),
        (
            r#"{"method":"SUBSCRIBE","id":7}"#,
            "Invalid request: missing field `params`",
        ),
        (
            r#"{"method":"UNSUBSCRIBE","params":"btcusdt@kline_1m","id":7}"#,
            "Invalid request: params must be an array of stream names",
        ),
        (
            r#"{"method":"SUBSCRIBE","params":["btcusdt@kline_1m",5],"id":7}"#,
            "Invalid request: params[1] is 5, expected a stream name string",
        ),
        (
            r#"{"method":"LIST_SUBSCRIPTIONS","params":["btcusdt@kline_1m"],"id":7}"#,
            "Invalid request: too many parameters",
        ),
    ];
    for (frame, msg) in cases {
        let e = refusal(frame);
        assert_eq!(
            (e.code, e.id.clone(), e.msg.as_str()),
            (ErrorCode::InvalidRequest, Some(RequestId::Number(7)), msg)
        );
        let reply: Value = serde_json::from_str(&error_reply(&e)).unwrap();
        assert_eq!(reply["error"]["code"], 2);
        assert_eq!(reply["error"]["msg"], msg);
        assert_eq!(reply["id"], 7);
    }
    let e = refusal(r#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":9}"#);
    assert!(
        e.msg
            .starts_with("Invalid request: invalid stream name \"btcusdt@aggTrade\"")
    );
    assert!(e.msg.contains("<symbol>@kline_<interval>"), "{}", e.msg);
    let reply: Value = serde_json::from_str(&error_reply(&e)).unwrap();
    assert_eq!(
        reply["error"]["msg"],
        e.msg.as_str(),
        "quotes survive escaping"
    );
}

#[test]
fn gateway_refusals_use_the_same_format() {
    let e = RequestError::invalid_request(Some(12u64.into()), "unknown symbol \"XYZUSDT\"");
    assert_eq!(
        error_reply(&e),
        r#"{"error":{"code":2,"msg":"Invalid request: unknown symbol \"XYZUSDT\""},"id":12}"#
    );
}

#[test]
fn success_replies() {
    let mut out = Vec::new();
    replies::write_done(&mut out, &1u64.into());
    assert_eq!(text(out), r#"{"result":null,"id":1}"#);
    let mut out = Vec::new();
    let subscribed = streams(&["btcusdt@kline_1m", "btcusdt@kline_1M"]);
    replies::write_subscriptions(&mut out, &subscribed, &3u64.into());
    assert_eq!(
        text(out),
        r#"{"result":["btcusdt@kline_1m","btcusdt@kline_1M"],"id":3}"#
    );
    let mut out = Vec::new();
    replies::write_subscriptions(&mut out, &[], &4u64.into());
    assert_eq!(text(out), r#"{"result":[],"id":4}"#);
}
