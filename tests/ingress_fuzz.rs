//! Hostile and real frames through the ingress parsers.
//!
//! The fast scanner is only allowed to return a trade that serde_json (the reference,
//! `wire::parse_frame`) returns too, field for field; otherwise it must defer. These tests
//! generate well-formed frames in every shape JSON allows (any field order, unknown fields of
//! every type, whitespace, escapes), mutate them, and throw arbitrary bytes at every entry
//! point; nothing may panic. Real captures (read from `$KLAGG_DATA` or `../shared/data/binance`,
//! skipped when absent) must take the fast path with the same values as serde.

#[path = "support/real_data.rs"]
mod real_data;

use std::path::PathBuf;
use std::time::Instant;

use klagg::ingress::fast_parse::{FastParse, parse_agg_trade};
use klagg::ingress::mini_ticker::for_each_symbol;
use klagg::ingress::parser::{ParsedFrame, TradeParser};
use klagg::ingress::symbols::SymbolTable;
use klagg::ingress::wire::{WireEvent, parse_frame};
use proptest::prelude::*;

/// Names of every shape: short, of 15 and 16 bytes (the longest the positional reader and the
/// table's packed keys take), long (past the packed 16 bytes), and non-ASCII ones as Binance
/// lists them, one packed (16 bytes) and one long (19 bytes).
const SYMBOLS: [&str; 9] = [
    "BTCUSDT",
    "ETHUSDT",
    "1000SHIBUSDT",
    "A",
    "1000CHEEMSUSDTX",
    "1000XXXXXXXXUSDT",
    "ABCDEFGHIJKLMNOPQRS",
    "币安人生USDT",
    "我踏马来了USDT",
];

fn parser() -> TradeParser {
    let mut table = SymbolTable::with_capacity(16);
    for (i, s) in SYMBOLS.iter().enumerate() {
        table.insert(s, i as u32 * 10).unwrap();
    }
    TradeParser::new(table, 1 << 20)
}

/// The exactness rule, checked on one frame for the scanner and for the whole parser.
fn check_agreement(frame: &[u8], parser: &mut TradeParser) {
    let reference = parse_frame(frame);
    match parse_agg_trade(frame) {
        FastParse::Trade(fast) => {
            let Ok(WireEvent::AggTrade(raw)) = &reference else {
                panic!("fast path read a trade serde does not: {reference:?}");
            };
            assert_eq!(raw.symbol.as_bytes(), fast.symbol);
            assert_eq!(raw.to_payload(0).as_ref(), Ok(&fast.to_payload(0)));
        }
        FastParse::OtherEvent => assert!(
            matches!(reference, Ok(WireEvent::Other(_))),
            "fast path saw another event where serde says {reference:?}"
        ),
        FastParse::ArrayPayload | FastParse::Fallback => {}
    }
    if let Some(trade) = parser.parse(frame, Instant::now()).trade() {
        let Ok(WireEvent::AggTrade(raw)) = &reference else {
            panic!("parser read a trade serde does not: {reference:?}");
        };
        let index = SYMBOLS.iter().position(|s| *s == raw.symbol).unwrap() as u32 * 10;
        assert_eq!(raw.to_payload(index), Ok(trade));
    }
    let _ = for_each_symbol(frame, |s| assert!(!s.is_empty()));
}

/// Unknown JSON values of every type, as text, with escapes and non-ASCII in strings.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<u64>().prop_map(|i| i.to_string()),
        (any::<i32>(), 0u32..1000, -30i32..30).prop_map(|(a, b, e)| format!("{a}.{b}e{e}")),
        Just("-0.0E+1".to_owned()),
        json_string(),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(" , "))),
            prop::collection::vec((json_string(), inner), 0..4).prop_map(|v| {
                let members: Vec<String> = v.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// A JSON string literal mixing plain text, every escape form and non-ASCII characters.
fn json_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9 @!#]{1,4}",
        1 => prop::sample::select(vec!["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\u0041", "\\uD83D\\uDE00"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["é", "€", "日本"]).prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..5).prop_map(|p| format!("\"{}\"", p.concat()))
}

/// A decimal text, sometimes one `parse_fixed` rejects (more than 8 fractional digits).
fn decimal() -> impl Strategy<Value = String> {
    (0u64..10_000_000_000, "[0-9]{0,10}").prop_map(|(int, frac)| {
        if frac.is_empty() {
            int.to_string()
        } else {
            format!("{int}.{frac}")
        }
    })
}

/// A well-formed aggTrade frame (raw or combined) with random layout, or now and then an event
/// of another type that reuses the same keys with other JSON types. The flags say whether the
/// fast path must take it (false when it holds anything the scanner defers by design) and
/// whether it is another event type.
fn trade_frame() -> impl Strategy<Value = (String, bool, bool)> {
    let fields = (
        prop::sample::select(SYMBOLS.to_vec()),
        decimal(),
        decimal(),
        prop::array::uniform6(any::<i64>()),
        any::<bool>(),
    );
    let extras = prop::collection::vec(
        (
            prop::sample::select(vec!["nq", "M", "x", "Ee", "", "\\u0078", "ü"]),
            json_value(),
        ),
        0..4,
    );
    let layout = (
        any::<prop::sample::Index>(),
        prop::collection::vec(0u8..12, 64),
        any::<bool>(),
        any::<bool>(),
        (0u8..4, json_value(), json_value()),
    );
    (fields, extras, layout).prop_map(
        |((sym, p, q, ids, m), extras, (order, ws, combined, escape_sym, other))| {
            let mut members: Vec<(String, String)> = vec![
                ("e".into(), "\"aggTrade\"".into()),
                ("E".into(), ids[0].to_string()),
                ("a".into(), ids[1].to_string()),
                ("s".into(), format!("\"{sym}\"")),
                ("p".into(), format!("\"{p}\"")),
                ("q".into(), format!("\"{q}\"")),
                ("f".into(), ids[2].to_string()),
                ("l".into(), ids[3].to_string()),
                ("T".into(), ids[4].to_string()),
                ("m".into(), m.to_string()),
            ];
            let mut fast = klagg::decimal::parse_fixed(p.as_bytes()).is_ok()
                && klagg::decimal::parse_fixed(q.as_bytes()).is_ok();
            if escape_sym && ids[5] % 8 == 0 {
                // The first character as a `\uXXXX` escape (every name here is in the BMP).
                let first = sym.chars().next().unwrap();
                members[3].1 = format!(
                    "\"\\u{:04x}{}\"",
                    u32::from(first),
                    &sym[first.len_utf8()..]
                );
                fast = false;
            }
            let (kind, a, p) = other;
            let other = kind == 0;
            if other {
                members[0].1 = "\"depthUpdate\"".into();
                members[2].1 = a;
                members[4].1 = p;
            }
            for (key, value) in extras {
                fast &= value.is_ascii() && !matches!(key, "\\u0078" | "ü");
                members.push((key.to_owned(), value));
            }
            // A random rotation and swap: every field can land anywhere.
            let n = members.len();
            members.rotate_left(order.index(n));
            members.swap(0, (ids[5].unsigned_abs() % n as u64) as usize);
            let mut ws = ws.into_iter().cycle().map(|b| match b {
                8 => " ",
                9 => "\n",
                10 => "\t ",
                11 => "\r\n",
                _ => "",
            });
            let mut obj = format!("{}{{", ws.next().unwrap());
            for (i, (k, v)) in members.iter().enumerate() {
                let sep = if i == 0 { "" } else { "," };
                let w: Vec<&str> = (0..4).map(|_| ws.next().unwrap()).collect();
                obj += &format!("{sep}{}\"{k}\"{}:{}{v}{}", w[0], w[1], w[2], w[3]);
            }
            obj.push('}');
            if combined {
                let stream = format!("\"stream\":\"{}@aggTrade\"", sym.to_ascii_lowercase());
                obj = if ids[5] % 2 == 0 {
                    format!("{{{stream},\"data\":{obj}}}{}", ws.next().unwrap())
                } else {
                    format!("{{ \"data\" : {obj} ,{stream}, \"x\":[1]}}")
                };
            }
            (obj, fast && !other, other)
        },
    )
}

/// A frame exactly as Binance lays it out (USD-M or spot order, `nq` and `M` or not, raw or
/// combined), with values of every size: what the scanner's positional reader takes, and its
/// edges (ids of 16 digits and more, zero and negative ids, decimals with 9 fractional digits
/// or 11 integer digits, long and non-ASCII symbols), which the general scanner must take.
fn binance_layout_frame() -> impl Strategy<Value = (String, bool)> {
    let id = prop_oneof![
        3 => 1i64..10_000_000_000_000,
        1 => any::<i64>(),
        1 => Just(0i64),
        1 => prop::sample::select(vec![999_999_999_999_999, 1_000_000_000_000_000, i64::MAX]),
    ];
    let decimal = prop_oneof![
        (0u64..100_000_000_000, 0usize..11).prop_map(|(m, frac)| {
            let digits = format!("{m:0>width$}", width = frac + 1);
            let (int, fraction) = digits.split_at(digits.len() - frac);
            if frac == 0 {
                int.to_owned()
            } else {
                format!("{int}.{fraction}")
            }
        }),
        decimal(),
    ];
    (
        prop::sample::select(SYMBOLS.to_vec()),
        (decimal.clone(), decimal, prop::option::of(decimal_text())),
        prop::array::uniform5(id),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(|(sym, (p, q, nq), ids, (m, spot, big_m, combined))| {
            let [e, a, f, l, t] = ids;
            let head = if spot {
                format!(r#""E":{e},"s":"{sym}","a":{a}"#)
            } else {
                format!(r#""E":{e},"a":{a},"s":"{sym}""#)
            };
            let nq = nq.map_or(String::new(), |nq| format!(r#","nq":"{nq}""#));
            let big_m = if big_m { r#","M":true"# } else { "" };
            let mut frame = format!(
                r#"{{"e":"aggTrade",{head},"p":"{p}","q":"{q}"{nq},"f":{f},"l":{l},"T":{t},"m":{m}{big_m}}}"#
            );
            if combined {
                let stream = sym.to_lowercase();
                frame = format!(r#"{{"stream":"{stream}@aggTrade","data":{frame}}}"#);
            }
            let exact = klagg::decimal::parse_fixed(p.as_bytes()).is_ok()
                && klagg::decimal::parse_fixed(q.as_bytes()).is_ok();
            (frame, exact)
        })
}

/// Decimal text as `nq` may carry it.
fn decimal_text() -> impl Strategy<Value = String> {
    "[0-9]{1,6}(\\.[0-9]{1,9})?"
}

/// Fragments that sit on the edges of JSON and of serde_json's rules, for mutations.
const TOKENS: [&str; 16] = [
    "1e999",
    "-0",
    "\\ud800",
    "\\u0061",
    "{\"\\ud800\":1}",
    "\"data\":",
    "\"stream\":1,",
    "\"id\":1,",
    "\"e\":\"kline\",",
    "\"E\":1,",
    ",\"a\":1",
    "18446744073709551616",
    "[[[",
    "é",
    "\"\\\"\"",
    "null,",
];

/// One random edit of a frame: where, a byte, which kind (replace, remove, insert the byte, or
/// insert a token) and the token.
type Edit = (prop::sample::Index, u8, u8, &'static str);

/// `frame` with `edits` applied in turn.
fn edited(frame: String, edits: Vec<Edit>) -> Vec<u8> {
    let mut bytes = frame.into_bytes();
    for (at, byte, kind, token) in edits {
        let i = at.index(bytes.len() + 1);
        match kind {
            0 if i < bytes.len() => bytes[i] = byte,
            1 if i < bytes.len() => {
                bytes.remove(i);
            }
            2 => bytes.insert(i, byte),
            _ => {
                bytes.splice(i..i, token.bytes());
            }
        }
    }
    bytes
}

proptest! {
    // PROPTEST_CASES raises the count for a longer hunt (`cargo test --release`).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1500)
    ))]

    #[test]
    fn generated_frames_agree_with_serde((frame, must_be_fast, other) in trade_frame()) {
        let mut p = parser();
        check_agreement(frame.as_bytes(), &mut p);
        match parse_frame(frame.as_bytes()) {
            Ok(WireEvent::AggTrade(_)) if !other => {}
            Ok(WireEvent::Other(_)) if other => {}
            wrong => panic!("generator made a frame serde reads as {wrong:?}: {frame}"),
        }
        if must_be_fast {
            prop_assert!(matches!(parse_agg_trade(frame.as_bytes()), FastParse::Trade(_)), "{}", frame);
            prop_assert!(matches!(p.parse(frame.as_bytes(), Instant::now()), ParsedFrame::Trade(..)));
            prop_assert_eq!(p.fallbacks(), 0);
        }
    }

    #[test]
    fn binance_layout_frames_take_the_fast_path_as_serde_reads_them((frame, exact) in binance_layout_frame()) {
        let mut p = parser();
        check_agreement(frame.as_bytes(), &mut p);
        prop_assert!(matches!(parse_frame(frame.as_bytes()), Ok(WireEvent::AggTrade(_))), "{}", frame);
        if exact {
            prop_assert!(matches!(parse_agg_trade(frame.as_bytes()), FastParse::Trade(_)), "{}", frame);
            prop_assert_eq!(p.fallbacks(), 0);
        }
    }

    #[test]
    fn mutated_layout_frames_never_panic_and_still_agree(
        (frame, _) in binance_layout_frame(),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), any::<u8>(), 0u8..4, prop::sample::select(TOKENS.to_vec())),
            1..3,
        ),
    ) {
        let bytes = edited(frame, edits);
        check_agreement(&bytes, &mut parser());
    }

    #[test]
    fn mutated_frames_never_panic_and_still_agree(
        (frame, _, _) in trade_frame(),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), any::<u8>(), 0u8..4, prop::sample::select(TOKENS.to_vec())),
            1..4,
        ),
    ) {
        let bytes = edited(frame, edits);
        check_agreement(&bytes, &mut parser());
    }

    #[test]
    fn a_non_ascii_symbol_with_a_byte_changed_agrees_with_serde(
        combined in any::<bool>(),
        which in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let event = r#"{"e":"aggTrade","E":2,"a":7,"s":"币安人生USDT","p":"0.1","q":"3","f":1,"l":1,"T":1,"m":true}"#;
        let frame = if combined {
            format!(r#"{{"stream":"币安人生usdt@aggTrade","data":{event}}}"#)
        } else {
            event.to_owned()
        };
        let mut bytes = frame.into_bytes();
        // Only the bytes of the four CJK characters, wherever the name occurs.
        let targets: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] >= 0x80).collect();
        bytes[targets[which.index(targets.len())]] = byte;
        let valid = std::str::from_utf8(&bytes).is_ok();
        check_agreement(&bytes, &mut parser());
        if !valid {
            prop_assert_eq!(parse_agg_trade(&bytes), FastParse::Fallback);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_agreement(&bytes, &mut parser());
    }

    #[test]
    fn symbol_table_agrees_with_a_hash_map(
        names in prop::collection::vec("[A-Z0-9币安人生我ÄÉ]{1,12}", 0..300),
        probes in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 0..50),
    ) {
        let mut table = SymbolTable::with_capacity(names.len());
        let mut model = std::collections::HashMap::new();
        for (i, name) in names.iter().enumerate() {
            let inserted = table.insert(name, i as u32);
            prop_assert_eq!(inserted.is_ok(), !model.contains_key(name.as_bytes()));
            model.entry(name.as_bytes().to_vec()).or_insert(i as u32);
        }
        prop_assert_eq!(table.len(), model.len());
        for name in names.iter().map(|n| n.as_bytes()).chain(probes.iter().map(Vec::as_slice)) {
            prop_assert_eq!(table.get(name), model.get(name).copied());
        }
    }

    #[test]
    fn json_like_bytes_never_panic(text in r#"[{}\[\]":,.0-9eEaTsmpqflrtu\\ -]{0,200}"#) {
        check_agreement(text.as_bytes(), &mut parser());
    }
}

fn capture_dir() -> Option<PathBuf> {
    Some(real_data::data_dir("capture test")?.join("ws-captures"))
}

/// Removes the `<unix_seconds>: ` receive stamp of a capture line.
fn strip_stamp(line: &[u8]) -> &[u8] {
    match line.iter().position(|&b| b == b':') {
        Some(colon) if line[0].is_ascii_digit() => line[colon + 1..].trim_ascii(),
        _ => line,
    }
}

#[test]
fn every_captured_frame_takes_the_fast_path_or_is_skipped() {
    let Some(dir) = capture_dir() else { return };
    let (mut trades, mut skipped) = (0, 0);
    for name in ["BINANCE.ws", "BINANCE_FUTURES.ws", "BINANCE_US.ws"] {
        let text = std::fs::read(dir.join(name)).expect("readable capture");
        let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').skip(1).collect();
        // Every capture symbol, so no trade is rejected as unknown.
        let mut table = SymbolTable::with_capacity(64);
        for line in &lines {
            if let Ok(WireEvent::AggTrade(t)) = parse_frame(strip_stamp(line)) {
                let _ = table.insert(&t.symbol, table.len() as u32);
            }
        }
        let mut parser = TradeParser::new(table.clone(), 1 << 20);
        for line in lines
            .iter()
            .map(|l| strip_stamp(l))
            .filter(|l| !l.is_empty())
        {
            let got = parser.parse(line, Instant::now());
            match parse_frame(line).expect("captured frames are valid") {
                WireEvent::AggTrade(raw) => {
                    let FastParse::Trade(fast) = parse_agg_trade(line) else {
                        panic!("{name}: fast path deferred a real frame")
                    };
                    let index = table.get(fast.symbol).unwrap();
                    let want = raw.to_payload(index).unwrap();
                    assert_eq!(fast.to_payload(index), want);
                    assert_eq!(got.trade(), Some(want));
                    trades += 1;
                }
                WireEvent::Other(e) => {
                    assert!(matches!(&*e, "kline" | "depthUpdate" | "bookTicker"), "{e}");
                    // Only spot's bookTicker, which has no `e`, needs serde to tell.
                    let has_e = line.windows(5).any(|w| w == br#""e":""#);
                    assert_eq!(parse_agg_trade(line) == FastParse::OtherEvent, has_e);
                    assert_eq!(got, ParsedFrame::Skipped);
                    skipped += 1;
                }
                WireEvent::Reply => assert!(matches!(got, ParsedFrame::Reply { .. })),
            }
        }
        assert_eq!(parser.counters().total(), 0, "{name}: no bad input");
    }
    assert_eq!(trades, 104, "aggTrades in the three captures");
    assert!(skipped > 1500, "{skipped}");
}
