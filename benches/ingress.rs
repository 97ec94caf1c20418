//! Frame bytes -> trade, ns per message, for klagg's parser and the alternatives it was chosen
//! over, on the raw (`{"e":"aggTrade",...}`) and combined (`{"stream":..,"data":{..}}`) forms.
//!
//! `cargo bench --bench ingress`. Each case cycles through the same 1,000 distinct generated
//! USD-M aggTrade frames over 200 symbols (prices, quantities and ids of realistic shapes), so
//! branch predictors and caches see a live-like mix rather than one frame. One iteration is one
//! message, so criterion's `time` is ns per message. The cases, in the order they are printed:
//!
//! - `a_klagg_fast_path`: `TradeParser::parse`, the io thread's entry point (scanner, exact
//!   decimals, symbol table);
//! - `b_serde_json_borrowed`: `wire::parse_frame` (serde_json, text borrowed from the frame) +
//!   `to_payload` + the same symbol table: the fallback path, and the design's original plan;
//! - `c_sonic_rs_borrowed`: sonic-rs into a serde-derived struct borrowing `&str` fields, then
//!   the same exact decimals and symbol table;
//! - `d_old_value_rwlock_f64`: the path of the system klagg replaces, written as its users
//!   would: the frame copied into a `String`, `serde_json::Value`, the symbol looked up in an
//!   `Arc<RwLock<HashMap<String, u32>>>`, price and quantity parsed to `f64`.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use klagg::decimal::parse_fixed;
use klagg::ingress::parser::{ParsedFrame, TradeParser};
use klagg::ingress::symbols::SymbolTable;
use klagg::ingress::wire::{WireEvent, parse_frame};
use klagg::trade::AggTradePayload;
use serde::Deserialize;

const FRAMES: usize = 1_000;
const SYMBOLS: usize = 200;

/// Deterministic symbol names and frames: `(names, raw frames, combined frames)`.
fn generate() -> (Vec<String>, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut names: Vec<String> = Vec::new();
    while names.len() < SYMBOLS {
        let r = next();
        let len = 2 + (r % 7) as usize;
        let base: String = (0..len)
            .map(|i| (b'A' + ((r >> (8 + 5 * i)) % 26) as u8) as char)
            .collect();
        let prefix = if r >> 60 == 0 { "1000" } else { "" };
        let name = format!("{prefix}{base}USDT");
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut raw = Vec::with_capacity(FRAMES);
    let mut combined = Vec::with_capacity(FRAMES);
    let mut agg_id = 2_081_374_912u64;
    for i in 0..FRAMES as u64 {
        let r = next();
        let name = &names[(r % SYMBOLS as u64) as usize];
        // Seven significant digits, from 0.01000000 to 1000000.0 (1 to 8 decimals).
        let price = decimal_text((r >> 16) % 9_000_000 + 1_000_000, 1 + (r >> 8) % 8);
        let qty = match (r >> 40) % 3 {
            0 => format!("{}", (r >> 44) % 5_000 + 1),
            1 => format!("{}.{}", (r >> 44) % 50, (r >> 50) % 1_000),
            _ => format!("0.00{}", (r >> 44) % 100 + 1),
        };
        agg_id += 1 + (r >> 58);
        let first = agg_id * 3;
        let last = first + (r >> 61);
        let time = 1_760_000_000_000 + i * 37;
        let body = format!(
            r#"{{"e":"aggTrade","E":{},"a":{agg_id},"s":"{name}","p":"{price}","q":"{qty}","nq":"{qty}","f":{first},"l":{last},"T":{time},"m":{}}}"#,
            time + 5,
            (r >> 39) & 1 == 1,
        );
        let stream = format!("{}@aggTrade", name.to_lowercase());
        combined.push(format!(r#"{{"stream":"{stream}","data":{body}}}"#).into_bytes());
        raw.push(body.into_bytes());
    }
    (names, raw, combined)
}

/// `mantissa / 10^decimals` as decimal text with exactly `decimals` fractional digits.
fn decimal_text(mantissa: u64, decimals: u64) -> String {
    let digits = format!("{mantissa:0>width$}", width = decimals as usize + 1);
    let (int, frac) = digits.split_at(digits.len() - decimals as usize);
    format!("{int}.{frac}")
}

/// The sonic-rs case: the trade as a serde struct borrowing its text.
#[derive(Deserialize)]
#[allow(dead_code)] // `e` is read to check the event type, like the other paths do
struct SonicTrade<'a> {
    e: &'a str,
    #[serde(rename = "E")]
    event_time: i64,
    a: i64,
    s: &'a str,
    p: &'a str,
    q: &'a str,
    f: i64,
    l: i64,
    #[serde(rename = "T")]
    trade_time: i64,
    m: bool,
}

#[derive(Deserialize)]
struct SonicCombined<'a> {
    #[serde(borrow)]
    data: SonicTrade<'a>,
}

fn sonic_payload(t: &SonicTrade<'_>, table: &SymbolTable) -> Option<AggTradePayload> {
    if t.e != "aggTrade" {
        return None;
    }
    Some(AggTradePayload {
        symbol: table.get(t.s.as_bytes())?,
        is_buyer_maker: t.m,
        price: parse_fixed(t.p.as_bytes()).ok()?,
        quantity: parse_fixed(t.q.as_bytes()).ok()?,
        agg_id: t.a,
        first_trade_id: t.f,
        last_trade_id: t.l,
        trade_time_ms: t.trade_time,
        event_time_ms: t.event_time,
    })
}

/// What the old path produced: floats, not exact integers.
#[allow(dead_code)] // fields are only black-boxed
struct OldTrade {
    symbol: u32,
    price: f64,
    quantity: f64,
    agg_id: i64,
    first_trade_id: i64,
    last_trade_id: i64,
    trade_time_ms: i64,
    event_time_ms: i64,
    is_buyer_maker: bool,
}

fn old_path(frame: &[u8], map: &Arc<RwLock<HashMap<String, u32>>>) -> Option<OldTrade> {
    let text = String::from_utf8(frame.to_vec()).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let data = value.get("data").unwrap_or(&value);
    if data["e"].as_str()? != "aggTrade" {
        return None;
    }
    let symbol = *map.read().unwrap().get(data["s"].as_str()?)?;
    Some(OldTrade {
        symbol,
        price: data["p"].as_str()?.parse().ok()?,
        quantity: data["q"].as_str()?.parse().ok()?,
        agg_id: data["a"].as_i64()?,
        first_trade_id: data["f"].as_i64()?,
        last_trade_id: data["l"].as_i64()?,
        trade_time_ms: data["T"].as_i64()?,
        event_time_ms: data["E"].as_i64()?,
        is_buyer_maker: data["m"].as_bool()?,
    })
}

/// Runs `f` on the frames in turn, one frame per criterion iteration.
fn cycle<T>(frames: &[Vec<u8>], mut f: impl FnMut(&[u8]) -> T) -> impl FnMut() -> T {
    let mut i = 0;
    move || {
        let frame = &frames[i];
        i = if i + 1 == frames.len() { 0 } else { i + 1 };
        f(black_box(frame))
    }
}

fn bench_ingress(c: &mut Criterion) {
    let (names, raw, combined) = generate();
    let mut table = SymbolTable::with_capacity(1024);
    let mut map = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        table.insert(name, i as u32).unwrap();
        map.insert(name.clone(), i as u32);
    }
    let map = Arc::new(RwLock::new(map));

    for (form, frames) in [("raw", &raw), ("combined", &combined)] {
        // Every path must read every frame, or the comparison is void.
        let mut parser = TradeParser::new(table.clone(), 1 << 16);
        let now = Instant::now();
        for frame in frames.iter() {
            assert!(matches!(parser.parse(frame, now), ParsedFrame::Trade(..)));
        }
        assert_eq!(parser.fallbacks(), 0, "generated frames take the fast path");

        let mut group = c.benchmark_group(format!("aggTrade_{form}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("a_klagg_fast_path", |b| {
            b.iter(cycle(frames, |f| match parser.parse(f, now) {
                ParsedFrame::Trade(t, _) => t,
                _ => unreachable!(),
            }))
        });
        group.bench_function("b_serde_json_borrowed", |b| {
            b.iter(cycle(frames, |f| match parse_frame(f) {
                Ok(WireEvent::AggTrade(raw)) => {
                    raw.to_payload(table.get(raw.symbol.as_bytes()).unwrap())
                }
                _ => unreachable!(),
            }))
        });
        group.bench_function("c_sonic_rs_borrowed", |b| {
            b.iter(cycle(frames, |f| {
                let trade = if form == "raw" {
                    sonic_rs::from_slice::<SonicTrade<'_>>(f).ok()
                } else {
                    sonic_rs::from_slice::<SonicCombined<'_>>(f)
                        .ok()
                        .map(|c| c.data)
                };
                sonic_payload(&trade.unwrap(), &table).unwrap()
            }))
        });
        group.bench_function("d_old_value_rwlock_f64", |b| {
            b.iter(cycle(frames, |f| old_path(f, &map).unwrap()))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = bench_ingress
}
criterion_main!(benches);
