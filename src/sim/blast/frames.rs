//! One write's worth of pre-encoded aggTrade frames, patched in place.
//!
//! Every frame of a blast run has the same length, in Binance's own layout without whitespace:
//! symbol names, ids (12 digits), times (13), prices (`dddd.dd`) and quantities (`0.ddd`) are
//! fixed-width, and the one byte `"m":false` has over `"m":true` is made up by `nq` (USD-M's
//! quantity without RPI orders, which klagg and the oracle do not read) written with a trailing
//! zero on a buyer-maker trade (`0.005` or `0.0050`). So a batch is built once, slot `r` always
//! carries the symbol at position `r % n` of the connection's `n` symbols, and a trade costs a
//! few small copies into its slot: the id (`a`), price and quantity into the head, then the
//! tail from `nq` on copied from one of two templates (one per side, holding the current
//! time) with the id patched in twice (`f`, `l`) and the quantity once. The event time in the
//! head is patched into every slot when the millisecond changes.

use super::market::{BlastMarket, Draw, TABLE};
use crate::symbol_name::stream_case;

/// Width of an agg id in a frame.
const ID_DIGITS: usize = 12;
/// Width of a millisecond time.
const TIME_DIGITS: usize = 13;
/// Width of a price, `dddd.dd`.
const PRICE_WIDTH: usize = 7;
/// Width of a quantity, `0.ddd`.
const QUANTITY_WIDTH: usize = 5;
/// The WebSocket header of a text frame of 126 to 65,535 bytes.
const HEADER_LEN: usize = 4;

/// Where the patched fields lie inside a frame.
#[derive(Debug, Clone, Copy)]
struct Layout {
    event_time: usize,
    agg_id: usize,
    price: usize,
    quantity: usize,
    /// Where the tail (from `nq`'s value on) starts.
    notional: usize,
}

/// One side's tail: `0.ddd[0]","f":ID,"l":ID,"T":TIME,"m":SIDE}}`, and where its ids and time
/// lie.
#[derive(Debug, Clone)]
struct Tail {
    bytes: Vec<u8>,
    first_id: usize,
    last_id: usize,
    trade_time: usize,
}

impl Tail {
    fn new(buyer_maker: bool) -> Tail {
        let mut bytes = Vec::with_capacity(96);
        let mut mark = |text: &[u8], width: usize| {
            bytes.extend_from_slice(text);
            let at = bytes.len();
            bytes.resize(at + width, b'0');
            at
        };
        let quantity_width = QUANTITY_WIDTH + usize::from(buyer_maker);
        mark(b"", quantity_width);
        let first_id = mark(b"\",\"f\":", ID_DIGITS);
        let last_id = mark(b",\"l\":", ID_DIGITS);
        let trade_time = mark(b",\"T\":", TIME_DIGITS);
        bytes.extend_from_slice(if buyer_maker {
            b",\"m\":true}}"
        } else {
            b",\"m\":false}}"
        });
        Tail {
            bytes,
            first_id,
            last_id,
            trade_time,
        }
    }
}

/// A buffer of frames for one connection's symbols, `per_symbol` frames of each per batch.
#[derive(Debug)]
pub struct FrameBatch {
    buf: Vec<u8>,
    frame_len: usize,
    layout: Layout,
    /// Market symbol index of each connection position.
    symbols: Vec<u32>,
    /// Price in ticks of table entry 0 of each connection position (written on the fly: a
    /// text table per symbol would not stay in cache with hundreds of symbols).
    price_base: Vec<u32>,
    /// Quantity texts.
    quantities: [[u8; QUANTITY_WIDTH]; TABLE],
    /// The tails of a seller-maker and of a buyer-maker trade.
    tails: [Tail; 2],
}

/// Two-digit pairs `00` to `99`, for writing numbers two digits at a time.
const PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        pairs[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    pairs
};

/// Writes the last `out.len()` (even) decimal digits of `value` into `out`.
#[inline(always)]
fn write_digits(out: &mut [u8], mut value: u64) {
    let mut end = out.len();
    while end >= 2 {
        let pair = PAIRS[(value % 100) as usize];
        out[end - 2..end].copy_from_slice(&pair);
        value /= 100;
        end -= 2;
    }
    if end == 1 {
        out[0] = b'0' + (value % 10) as u8;
    }
}

impl FrameBatch {
    /// A batch for the market symbols `symbols` (a connection's streams, in order), each
    /// appearing `per_symbol` times; ids and times are zero until patched.
    ///
    /// # Panics
    ///
    /// Never for names of [`BlastMarket`] (one width): the frame length is checked to be one.
    pub fn new(market: &BlastMarket, symbols: &[u32], per_symbol: usize) -> FrameBatch {
        let template = |symbol: u32| -> (Vec<u8>, Layout) {
            let name = &market.names()[symbol as usize];
            let mut p = Vec::with_capacity(256);
            let mark = |p: &mut Vec<u8>, text: &str, width: usize| {
                p.extend_from_slice(text.as_bytes());
                let at = p.len();
                p.resize(at + width, b'0');
                at
            };
            p.extend_from_slice(b"{\"stream\":\"");
            p.extend_from_slice(stream_case(name).as_bytes());
            p.extend_from_slice(b"@aggTrade\",\"data\":{\"e\":\"aggTrade\"");
            let event_time = mark(&mut p, ",\"E\":", TIME_DIGITS);
            let agg_id = mark(&mut p, ",\"a\":", ID_DIGITS);
            p.extend_from_slice(format!(",\"s\":\"{name}\"").as_bytes());
            let price = mark(&mut p, ",\"p\":\"", PRICE_WIDTH);
            let quantity = mark(&mut p, "\",\"q\":\"", QUANTITY_WIDTH);
            let notional = mark(&mut p, "\",\"nq\":\"", 0);
            p.extend_from_slice(&Tail::new(false).bytes);
            let len = p.len();
            let mut frame = vec![0x81, 126, (len >> 8) as u8, len as u8];
            frame.extend_from_slice(&p);
            let layout = Layout {
                event_time: event_time + HEADER_LEN,
                agg_id: agg_id + HEADER_LEN,
                price: price + HEADER_LEN,
                quantity: quantity + HEADER_LEN,
                notional: notional + HEADER_LEN,
            };
            (frame, layout)
        };
        let templates: Vec<(Vec<u8>, Layout)> = symbols.iter().map(|s| template(*s)).collect();
        let frame_len = templates.first().map_or(0, |(f, _)| f.len());
        assert!(
            templates.iter().all(|(f, _)| f.len() == frame_len),
            "blast frames have one length"
        );
        let layout = templates.first().map(|(_, l)| *l).unwrap_or(Layout {
            event_time: 0,
            agg_id: 0,
            price: 0,
            quantity: 0,
            notional: 0,
        });
        let mut buf = Vec::with_capacity(frame_len * symbols.len() * per_symbol);
        for _ in 0..per_symbol {
            for (frame, _) in &templates {
                buf.extend_from_slice(frame);
            }
        }
        let text = |value: i64, width: usize, decimals: usize| -> Vec<u8> {
            let digits = format!("{value:0>w$}", w = width - 1);
            let (int, frac) = digits.split_at(digits.len() - decimals);
            format!("{int}.{frac}").into_bytes()
        };
        let price_base = symbols
            .iter()
            .map(|s| BlastMarket::price_ticks(*s, 0) as u32)
            .collect();
        let mut quantities = [[0u8; QUANTITY_WIDTH]; TABLE];
        for (i, entry) in quantities.iter_mut().enumerate() {
            entry.copy_from_slice(&text(
                BlastMarket::quantity_steps(i as u8),
                QUANTITY_WIDTH,
                3,
            ));
        }
        FrameBatch {
            buf,
            frame_len,
            layout,
            symbols: symbols.to_vec(),
            price_base,
            quantities,
            tails: [Tail::new(false), Tail::new(true)],
        }
    }

    /// Bytes of one frame, WebSocket header included.
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Frames in the batch.
    pub fn slots(&self) -> usize {
        self.buf.len().checked_div(self.frame_len).unwrap_or(0)
    }

    /// Symbols on the connection (slot `r` carries position `r % positions()`).
    pub fn positions(&self) -> usize {
        self.symbols.len()
    }

    /// Market symbol index of connection position `position`.
    pub fn symbol(&self, position: usize) -> u32 {
        self.symbols[position]
    }

    /// The first `frames` frames, as written to the socket.
    pub fn bytes(&self, frames: usize) -> &[u8] {
        &self.buf[..frames * self.frame_len]
    }

    /// Writes `time_ms` as the event time of every slot and the trade time of the tails.
    pub fn set_time(&mut self, time_ms: i64) {
        let mut digits = [0u8; TIME_DIGITS];
        write_digits(&mut digits, time_ms.max(0) as u64);
        let event_time = self.layout.event_time;
        for frame in self.buf.chunks_exact_mut(self.frame_len) {
            frame[event_time..event_time + TIME_DIGITS].copy_from_slice(&digits);
        }
        for tail in &mut self.tails {
            let at = tail.trade_time;
            tail.bytes[at..at + TIME_DIGITS].copy_from_slice(&digits);
        }
    }

    /// Writes the trade `agg_id` (which drew `draw`) of the slot's symbol into slot `slot`,
    /// whose connection position is `position` (`slot % positions()`, kept by the caller).
    #[inline]
    pub fn set_trade(&mut self, slot: usize, position: usize, agg_id: i64, draw: Draw) {
        debug_assert_eq!(position, slot % self.symbols.len());
        let mut id = [0u8; ID_DIGITS];
        write_digits(&mut id, agg_id as u64);
        let l = self.layout;
        let start = slot * self.frame_len;
        let frame = &mut self.buf[start..start + self.frame_len];
        frame[l.agg_id..l.agg_id + ID_DIGITS].copy_from_slice(&id);
        let ticks = self.price_base[position] + u32::from(draw.price);
        let (units, cents) = (ticks / 100, ticks % 100);
        let price = &mut frame[l.price..l.price + PRICE_WIDTH];
        price[0..2].copy_from_slice(&PAIRS[(units / 100) as usize]);
        price[2..4].copy_from_slice(&PAIRS[(units % 100) as usize]);
        price[4] = b'.';
        price[5..7].copy_from_slice(&PAIRS[cents as usize]);
        let quantity = &self.quantities[usize::from(draw.quantity)];
        frame[l.quantity..l.quantity + QUANTITY_WIDTH].copy_from_slice(quantity);
        let tail_template = &self.tails[usize::from(draw.buyer_maker)];
        let tail = &mut frame[l.notional..];
        tail.copy_from_slice(&tail_template.bytes);
        tail[..QUANTITY_WIDTH].copy_from_slice(quantity);
        let (first, last) = (tail_template.first_id, tail_template.last_id);
        tail[first..first + ID_DIGITS].copy_from_slice(&id);
        tail[last..last + ID_DIGITS].copy_from_slice(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingress::fast_parse::{FastParse, parse_agg_trade};
    use crate::oracle::OracleTrade;

    #[test]
    fn digits_are_fixed_width() {
        let mut out = [0u8; 13];
        write_digits(&mut out, 1_764_700_000_123);
        assert_eq!(&out, b"1764700000123");
        let mut out = [0u8; 12];
        write_digits(&mut out, 100_000_000_007);
        assert_eq!(&out, b"100000000007");
    }

    #[test]
    fn a_patched_frame_is_the_trade_the_market_makes() {
        let market = BlastMarket::new(3, 7).unwrap();
        let mut batch = FrameBatch::new(&market, &[2, 0], 2);
        assert_eq!(batch.slots(), 4);
        let time = 1_764_700_000_123;
        batch.set_time(time);
        let id = |slot: usize| super::super::FIRST_AGG_ID + slot as i64;
        for slot in 0..4 {
            let symbol = batch.symbol(slot % 2);
            batch.set_trade(slot, slot % 2, id(slot), market.draw(symbol, id(slot)));
        }
        let len = batch.frame_len();
        for (slot, frame) in batch.bytes(4).chunks_exact(len).enumerate() {
            assert_eq!(frame[..2], [0x81, 126]);
            assert_eq!(usize::from(frame[2]) << 8 | usize::from(frame[3]), len - 4);
            let payload = &frame[4..];
            // Binance's own layout (no whitespace), which klagg's positional reader takes.
            assert!(
                !payload.contains(&b' '),
                "{}",
                String::from_utf8_lossy(payload)
            );
            let FastParse::Trade(trade) = parse_agg_trade(payload) else {
                panic!(
                    "not a fast-path trade: {}",
                    String::from_utf8_lossy(payload)
                );
            };
            let symbol = batch.symbol(slot % 2);
            let expected = market.trade(symbol, id(slot), time);
            assert_eq!(trade.symbol, market.names()[symbol as usize].as_bytes());
            assert_eq!(
                OracleTrade::from(&trade.to_payload(symbol)),
                OracleTrade::from(&expected)
            );
            assert_eq!(trade.event_time_ms, time);
            let value: serde_json::Value = serde_json::from_slice(payload).unwrap();
            assert_eq!(value["data"]["a"].as_i64(), Some(expected.agg_id));
            assert_eq!(value["data"]["m"].as_bool(), Some(expected.is_buyer_maker));
        }
    }

    #[test]
    fn both_sides_make_frames_of_one_length() {
        let market = BlastMarket::new(1, 1).unwrap();
        let mut batch = FrameBatch::new(&market, &[0], 2);
        batch.set_time(1_764_700_000_000);
        for (slot, buyer_maker) in [(0, true), (1, false)] {
            let draw = Draw {
                price: 3,
                quantity: 4,
                buyer_maker,
            };
            batch.set_trade(slot, 0, super::super::FIRST_AGG_ID, draw);
        }
        let len = batch.frame_len();
        for (frame, buyer_maker) in batch.bytes(2).chunks_exact(len).zip([true, false]) {
            let FastParse::Trade(trade) = parse_agg_trade(&frame[4..]) else {
                panic!("not a trade: {}", String::from_utf8_lossy(frame));
            };
            assert_eq!(trade.is_buyer_maker, buyer_maker);
            assert_eq!(trade.quantity, 500_000);
            assert_eq!(trade.first_trade_id, trade.agg_id);
            assert_eq!(trade.trade_time_ms, 1_764_700_000_000);
        }
    }
}
