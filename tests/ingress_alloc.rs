//! Proof that `TradeParser::parse` allocates nothing per message once warmed up.
//!
//! A counting global allocator wraps the system one; the test parses many real-looking frames
//! (raw and combined, ASCII and non-ASCII symbols, through the fast path, through a serde
//! fallback without escapes, and the other frame kinds a connection sees) and checks the count
//! did not move. The counter is
//! per thread, so the test harness's own threads cannot disturb it.

#[path = "support/real_data.rs"]
mod real_data;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use klagg::ingress::parser::{ParsedFrame, TradeParser};
use klagg::ingress::symbols::SymbolTable;

/// The system allocator, counting the allocations made on the current thread.
struct Counting;

thread_local! {
    // `const` initialisation and a type without `Drop`: reading it never allocates or
    // registers a destructor, so using it inside the allocator cannot recurse.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with` fails only while the thread is being torn down; not counting then is fine.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counting beside it touches only a thread-local `Cell` and neither
// allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's guarantees for `layout` are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout`; the caller
        // guarantees `new_size` is valid for it.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SYMBOLS: usize = 200;
const FRAMES: usize = 1_000;

/// Frames of every kind a live connection sees, each with whether it is a trade.
fn frames() -> Vec<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    for i in 0..FRAMES {
        let sym = symbol(i % SYMBOLS);
        let body = format!(
            r#"{{"e":"aggTrade","E":{},"a":{},"s":"{sym}","p":"{}.{:02}","q":"0.{:03}","nq":"1.5","f":{},"l":{},"T":{},"m":{}}}"#,
            1_760_000_000_000u64 + i as u64 * 7,
            5_000_000_000u64 + i as u64,
            1 + i * 13 % 90_000,
            i % 100,
            1 + i % 999,
            9_000_000_000u64 + i as u64 * 3,
            9_000_000_002u64 + i as u64 * 3,
            1_760_000_000_000u64 + i as u64 * 7 - 3,
            i % 2 == 0,
        );
        let combined = format!(
            r#"{{"stream":"{}@aggTrade","data":{body}}}"#,
            sym.to_ascii_lowercase()
        );
        out.push((combined.into_bytes(), true));
        if i % 10 == 0 {
            // An unexpected member and whitespace: the scanner's general loop.
            let reordered = body.replacen(r#""m":"#, r#" "x" : [1, {"y": null}], "m":"#, 1);
            out.push((reordered.into_bytes(), true));
        }
        if i % 10 == 1 {
            // Non-ASCII text in an unknown field: the scanner defers to serde, which still
            // borrows everything (no escapes).
            out.push((
                body.replacen(r#""nq":"1.5""#, r#""note":"prix €""#, 1)
                    .into_bytes(),
                true,
            ));
        }
        out.push((body.into_bytes(), true));
    }
    let other = [
        &br#"{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{"t":0,"T":59999,"s":"BTCUSDT","i":"1m","o":"1.0","x":false}}}"#[..],
        br#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1.0","2"]],"a":[]}}"#,
        br#"{"stream":"nknusdt@bookTicker","data":{"u":1,"s":"NKNUSDT","b":"0.3","B":"6","a":"0.4","A":"3"}}"#,
        br#"{"result":null,"id":7}"#,
        br#"{"code":2,"msg":"Invalid request","id":8}"#,
        br#"{"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker","s":"BTCUSDT"}]}"#,
    ];
    out.extend(other.iter().map(|f| (f.to_vec(), false)));
    out
}

/// Distinct names: mostly ASCII, some as Binance's non-ASCII listings are (`币安人生USDT` packs
/// into the table's 16 bytes, the numbered ones are longer and take its side list).
fn symbol(i: usize) -> String {
    match i % 20 {
        5 if i == 5 => return "币安人生USDT".to_owned(),
        5 => return format!("币安人生{i}USDT"),
        _ => {}
    }
    let base: String = (0..3 + i % 4)
        .map(|k| (b'A' + ((i * 7 + k * 11) % 26) as u8) as char)
        .collect();
    format!("{base}{i}USDT")
}

/// Capture lines (without their receive stamps), when the data folder is present.
fn captured_frames() -> Vec<Vec<u8>> {
    let Some(dir) = real_data::data_dir("captured frames") else {
        return Vec::new();
    };
    let Ok(text) = std::fs::read(dir.join("ws-captures/BINANCE_FUTURES.ws")) else {
        return Vec::new();
    };
    text.split(|&b| b == b'\n')
        .skip(1)
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            Some(line[colon + 1..].trim_ascii().to_vec())
        })
        .filter(|frame| !frame.is_empty())
        .collect()
}

#[test]
fn parse_allocates_nothing_per_message_after_warm_up() {
    let mut table = SymbolTable::with_capacity(SYMBOLS + 16);
    for i in 0..SYMBOLS {
        table.insert(&symbol(i), i as u32).unwrap();
    }
    for name in ["SUSHIUSDT", "AKROUSDT", "KEEPUSDT", "CTKUSDT"] {
        table.insert(name, table.len() as u32).unwrap();
    }
    let mut parser = TradeParser::new(table, 1 << 16);
    let frames = frames();
    let captured = captured_frames();
    let now = Instant::now();

    // Warm-up: anything lazily initialised (none is expected) happens here.
    for (frame, _) in &frames {
        parser.parse(frame, now);
    }

    let before = allocations();
    let mut trades = 0;
    for _ in 0..10 {
        for (frame, is_trade) in &frames {
            let parsed = parser.parse(frame, now);
            assert_eq!(matches!(parsed, ParsedFrame::Trade(..)), *is_trade);
            assert!(!matches!(parsed, ParsedFrame::Bad(_)), "{parsed:?}");
            trades += usize::from(*is_trade);
        }
        for frame in &captured {
            assert!(!matches!(parser.parse(frame, now), ParsedFrame::Bad(_)));
        }
    }
    let allocated = allocations() - before;

    assert_eq!(allocated, 0, "allocations over {trades} trades");
    assert!(trades > 10 * FRAMES * 2);
    assert!(
        parser.fallbacks() >= 10 * FRAMES as u64 / 10,
        "the serde path was exercised"
    );
    assert_eq!(parser.counters().total(), 0);
}
