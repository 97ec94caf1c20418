//! `Nats-Msg-Id` of a closed kline: its key and a hash of its content, so the same kline
//! published by two hosts (or twice by one) is stored once by JetStream's de-duplication, and a
//! correction, whose content differs, is stored as a new message.
//!
//! `<market>.<symbol token>.<interval>.<open time>.<16 hex digits>`, and `.c` after it for a
//! correction that replaces a different version the same host published: that host's wrong
//! kline (a gap) was stored, so the right one must land after it even when another host stored
//! the same content earlier, or the last message of the key would be the wrong one. A
//! correction equal to what the host published (a warm start after a restart re-emits the
//! klines it replays) carries the plain id and is de-duplicated like any repeat.
//! The hash is FNV-1a (64
//! bits) over every field of the kline as little-endian integers: stable across hosts, builds
//! and versions, and independent of the event time `E`, which differs between hosts. Two
//! different klines of one key colliding within the de-duplication window is a 2^-64 event.

use std::fmt::Write;

use super::subject::push_symbol_token;
use crate::config::Market;
use crate::interval::Interval;
use crate::kline::Kline;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over every field of `kline`.
pub fn content_hash(kline: &Kline) -> u64 {
    let mut hash = FNV_OFFSET;
    let mut eat = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    };
    for v in [
        kline.open_time,
        kline.close_time,
        kline.open,
        kline.high,
        kline.low,
        kline.close,
        kline.count,
        kline.first_trade_id,
        kline.last_trade_id,
    ] {
        eat(&v.to_le_bytes());
    }
    for v in [
        kline.volume,
        kline.quote_volume,
        kline.taker_buy_volume,
        kline.taker_buy_quote_volume,
    ] {
        eat(&v.to_le_bytes());
    }
    hash
}

/// Writes the message id of `kline` of `symbol` and `interval` into `out` (cleared first).
pub fn write_msg_id(
    out: &mut String,
    market: Market,
    symbol: &str,
    interval: Interval,
    kline: &Kline,
    correction: bool,
) {
    out.clear();
    out.push_str(market.name());
    out.push('.');
    push_symbol_token(out, symbol);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        ".{interval}.{}.{:016x}",
        kline.open_time,
        content_hash(kline)
    );
    if correction {
        out.push_str(".c");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_kline_same_id_and_any_change_a_new_one() {
        let iv = Interval::parse("1m").unwrap();
        let mut kline = Kline::empty(60_000, 119_999, 100);
        kline.count = 3;
        let mut a = String::new();
        let mut b = String::new();
        write_msg_id(&mut a, Market::Usdm, "BTCUSDT", iv, &kline, false);
        write_msg_id(&mut b, Market::Usdm, "BTCUSDT", iv, &kline.clone(), false);
        assert_eq!(a, b);
        assert!(a.starts_with("usdm.BTCUSDT.1m.60000."), "{a}");
        let mut corrected = kline;
        corrected.volume += 1;
        write_msg_id(&mut b, Market::Usdm, "BTCUSDT", iv, &corrected, false);
        assert_ne!(a, b);
        write_msg_id(&mut b, Market::Spot, "BTCUSDT", iv, &kline, false);
        assert_ne!(a, b);
        write_msg_id(&mut b, Market::Usdm, "BTCUSDT", iv, &kline, true);
        assert_eq!(b, format!("{a}.c"));
        // Pinned: the id must not change between versions, or hosts of two versions duplicate.
        assert_eq!(
            content_hash(&Kline::empty(0, 999, 1)),
            content_hash(&Kline::empty(0, 999, 1))
        );
        assert_eq!(
            format!("{:016x}", content_hash(&Kline::empty(0, 999, 1))),
            PINNED
        );
    }

    const PINNED: &str = "b14c86c244cdb157";
}
