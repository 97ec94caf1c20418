//! Binance's aggTrade frame read by position: the scanner's first try, straight-line code for
//! the one layout the exchange actually sends.
//!
//! Binance writes every aggTrade the same way, without whitespace, its fields in one order:
//!
//! ```text
//! {"stream":"<name>","data":{                               (combined streams only)
//! "e":"aggTrade","E":<ms>,"a":<id>,"s":"<symbol>",          (spot: "s" before "a")
//! "p":"<decimal>","q":"<decimal>","nq":"<decimal>",         ("nq" USD-M only)
//! "f":<id>,"l":<id>,"T":<ms>,"m":<bool>,"M":<bool>}         ("M" spot only)
//! }                                                          (combined streams only)
//! ```
//!
//! So the keys and separators are compared as constants and only the values are read, each
//! with word-at-a-time arithmetic ([`super::swar`]): the length of a number from 16 bytes at
//! once and its value from at most two 8-digit conversions, the end of a string from 16 bytes
//! at once. There is no loop over keys and no dispatch; the only loops are over the stream name
//! and `nq`, which usually end in their first step.
//!
//! Anything else (another order, whitespace, another field, an escape or non-ASCII byte, a
//! number written another way, a symbol over 15 bytes) answers `None`, and the general scanner
//! of [`super::fast_parse`] reads the frame instead. What this reads it reads exactly as
//! serde_json would: every byte of the frame is accounted for, strings are plain printable
//! ASCII (borrowed unchanged by serde), integers are plain `[1-9][0-9]{0,15}` (an `i64` for
//! serde) and decimals are `[0-9]{1,10}(\.[0-9]{1,8})?`, whose value
//! [`crate::decimal::parse_fixed`] gives too.

use super::fast_parse::FastTrade;
use super::structural::classify;
use super::swar::{eight_digits, leading_digits, word_at};
use crate::decimal::{ONE, POW10};

/// The trade of a frame in Binance's own layout, or `None` for any other frame.
#[inline(always)]
pub(super) fn scan(frame: &[u8]) -> Option<FastTrade<'_>> {
    let structure = classify(frame)?;
    let mut colons = [0u32; 32];
    let count = structure.colon_offsets(&mut colons);
    let combined = frame.starts_with(STREAM);
    // `colons[e]` is the colon after `"e"`: the data object's first.
    let (data, e) = if combined {
        // `{"stream":"<name>","data":{`, the colon after "data" being the second.
        let data = colons[1] as usize + 1;
        let name_end = data.checked_sub(DATA.len())?;
        if name_end < STREAM.len() || frame.get(name_end..data)? != DATA {
            return None;
        }
        (data, 2)
    } else {
        (0, 0)
    };
    if frame.get(data..data + EVENT.len())? != EVENT || count != e + 11 {
        return None;
    }
    // The colons after "E" (whose colon ends `EVENT`).
    let p: [usize; 10] = std::array::from_fn(|k| {
        if k == 0 {
            data + EVENT.len() - 1
        } else {
            colons[e + 1 + k] as usize
        }
    });
    let mut f = Fields { b: frame, ok: true };
    let spot = frame.get(p[1] - 2) == Some(&b's');
    let trade = if spot {
        let event_time_ms = f.id(p[0] + 1, p[1] - 4);
        f.key(p[1] - 4, br#","s":""#);
        let symbol = f.symbol(p[1] + 2, p[2] - 5);
        f.key(p[2] - 5, br#"","a":"#);
        let agg_id = f.id(p[2] + 1, p[3] - 4);
        f.key(p[3] - 4, br#","p":""#);
        let price = f.decimal(p[3] + 2, p[4] - 5);
        f.key(p[4] - 5, br#"","q":""#);
        let quantity = f.decimal(p[4] + 2, p[5] - 5);
        f.key(p[5] - 5, br#"","f":"#);
        let first_trade_id = f.id(p[5] + 1, p[6] - 4);
        f.key(p[6] - 4, br#","l":"#);
        let last_trade_id = f.id(p[6] + 1, p[7] - 4);
        f.key(p[7] - 4, br#","T":"#);
        let trade_time_ms = f.id(p[7] + 1, p[8] - 4);
        f.key(p[8] - 4, br#","m":"#);
        let is_buyer_maker = f.bool(p[8] + 1, p[9] - 4);
        f.key(p[9] - 4, br#","M":"#);
        f.last_bool(p[9] + 1, combined);
        f.ok &= structure.quotes == quotes(combined, SPOT_QUOTES);
        FastTrade {
            symbol: symbol?,
            price: price?,
            quantity: quantity?,
            agg_id: agg_id?,
            first_trade_id: first_trade_id?,
            last_trade_id: last_trade_id?,
            trade_time_ms: trade_time_ms?,
            event_time_ms: event_time_ms?,
            is_buyer_maker: is_buyer_maker?,
        }
    } else {
        let event_time_ms = f.id(p[0] + 1, p[1] - 4);
        f.key(p[1] - 4, br#","a":"#);
        let agg_id = f.id(p[1] + 1, p[2] - 4);
        f.key(p[2] - 4, br#","s":""#);
        let symbol = f.symbol(p[2] + 2, p[3] - 5);
        f.key(p[3] - 5, br#"","p":""#);
        let price = f.decimal(p[3] + 2, p[4] - 5);
        f.key(p[4] - 5, br#"","q":""#);
        let quantity = f.decimal(p[4] + 2, p[5] - 6);
        f.key(p[5] - 6, br#"","nq":""#);
        f.ok &= p[6] - 5 >= p[5] + 2; // "nq" may be empty, never negative
        f.key(p[6] - 5, br#"","f":"#);
        let first_trade_id = f.id(p[6] + 1, p[7] - 4);
        f.key(p[7] - 4, br#","l":"#);
        let last_trade_id = f.id(p[7] + 1, p[8] - 4);
        f.key(p[8] - 4, br#","T":"#);
        let trade_time_ms = f.id(p[8] + 1, p[9] - 4);
        f.key(p[9] - 4, br#","m":"#);
        let is_buyer_maker = f.last_bool(p[9] + 1, combined);
        f.ok &= structure.quotes == quotes(combined, USDM_QUOTES);
        FastTrade {
            symbol: symbol?,
            price: price?,
            quantity: quantity?,
            agg_id: agg_id?,
            first_trade_id: first_trade_id?,
            last_trade_id: last_trade_id?,
            trade_time_ms: trade_time_ms?,
            event_time_ms: event_time_ms?,
            is_buyer_maker: is_buyer_maker?,
        }
    };
    (f.ok && structure.plain).then_some(trade)
}

/// How a combined frame starts: `{"stream":"`, then the stream name.
const STREAM: &[u8; 11] = br#"{"stream":""#;
/// What follows a combined frame's stream name: the data object's key.
const DATA: &[u8; 9] = br#"","data":"#;
/// How the event object starts, through the colon after `"E"`.
const EVENT: &[u8; 20] = br#"{"e":"aggTrade","E":"#;
/// The `"` of USD-M's keys after `"E"` and of their string values (`s`, `p`, `q`, `nq`): two
/// per key, two per string.
const USDM_QUOTES: u32 = 2 * 9 + 2 * 4;
/// The same for spot (`s`, `p`, `q` are strings; `M` instead of `nq`).
const SPOT_QUOTES: u32 = 2 * 9 + 2 * 3;

/// Every `"` of a frame of the layout: those of [`EVENT`] and of the keys and strings after
/// it (`after`), and those of the envelope around a combined frame's event.
const fn quotes(combined: bool, after: u32) -> u32 {
    let envelope = if combined {
        count_quotes(STREAM) + count_quotes(DATA)
    } else {
        0
    };
    count_quotes(EVENT) + after + envelope
}

/// How many bytes of `text` are `"`.
const fn count_quotes(text: &[u8]) -> u32 {
    let mut n = 0;
    let mut i = 0;
    while i < text.len() {
        n += (text[i] == b'"') as u32;
        i += 1;
    }
    n
}

/// Reads values whose bounds are known; a value that does not match its grammar clears `ok`
/// or answers `None`, and either makes the frame "not the layout".
struct Fields<'a> {
    b: &'a [u8],
    ok: bool,
}

impl<'a> Fields<'a> {
    /// Checks that `lit` (2 to 8 bytes) is at `at`.
    #[inline(always)]
    fn key<const N: usize>(&mut self, at: usize, lit: &[u8; N]) {
        let mut want = [0u8; 8];
        want[..N].copy_from_slice(lit);
        let want = u64::from_le_bytes(want);
        let mask = u64::MAX >> (8 * (8 - N));
        self.ok &= word_at(self.b, at).is_some_and(|w| w & mask == want);
    }

    /// A non-negative integer as JSON writes it (no leading zero) of 1 to 15 digits, which
    /// serde_json reads as the same `i64`, filling `start..end`.
    #[inline(always)]
    fn id(&mut self, start: usize, end: usize) -> Option<i64> {
        let n = end.checked_sub(start)?;
        let (w1, w2) = (word_at(self.b, start)?, word_at(self.b, start + 8)?);
        if n == 0 || n > 15 || w1 as u8 == b'0' || digit_run(w1, w2) != n {
            return None;
        }
        // Below 10^15: the cast is exact.
        Some(digits_value(w1, w2, n) as i64)
    }

    /// An exact decimal `[0-9]{1,10}(\.[0-9]{1,8})?` filling `start..end`, in units of 1e-8.
    /// At most 10 integer digits keep the value below 10^18 units.
    #[inline(always)]
    fn decimal(&mut self, start: usize, end: usize) -> Option<i64> {
        let n = end.checked_sub(start)?;
        let (w1, w2) = (word_at(self.b, start)?, word_at(self.b, start + 8)?);
        let d = digit_run(w1, w2);
        if d == 0 || d > 10 {
            return None;
        }
        let units = digits_value(w1, w2, d) * ONE as u64;
        if d == n {
            return Some(units as i64);
        }
        // A fraction of 1 to 8 digits after the point fills the rest; longer fractions (whose
        // extra digits must be zeros) are left to the general path.
        let f = n - d - 1;
        let w = word_at(self.b, start + d + 1)?;
        if self.b.get(start + d) != Some(&b'.') || f == 0 || f > 8 || leading_digits(w) < f {
            return None;
        }
        // The digits in the low bytes, zero bytes above: read as trailing zeros, so `.12` is
        // 12,000,000 units.
        let fraction = eight_digits(w & (u64::MAX >> (8 * (8 - f))));
        Some((units + fraction) as i64)
    }

    /// A symbol of at least one byte filling `start..end` (that its bytes are plain ASCII is
    /// checked for the whole frame at once).
    #[inline(always)]
    fn symbol(&mut self, start: usize, end: usize) -> Option<&'a [u8]> {
        self.b.get(start..end).filter(|s| !s.is_empty())
    }

    /// `true` or `false` filling `start..end`.
    #[inline(always)]
    fn bool(&mut self, start: usize, end: usize) -> Option<bool> {
        match self.b.get(start..end)? {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => None,
        }
    }

    /// `true` or `false` at `start`, then the end of the event object (and of the envelope of
    /// a combined frame), then the end of the frame.
    #[inline(always)]
    fn last_bool(&mut self, start: usize, combined: bool) -> Option<bool> {
        let rest = self.b.get(start..)?;
        let rest = if combined {
            rest.strip_suffix(b"}")?
        } else {
            rest
        };
        match rest {
            b"true}" => Some(true),
            b"false}" => Some(false),
            _ => None,
        }
    }
}

/// How many of the 16 bytes of `w1` then `w2` are ASCII digits before the first that is not.
#[inline(always)]
fn digit_run(w1: u64, w2: u64) -> usize {
    let n = leading_digits(w1);
    if n < 8 { n } else { 8 + leading_digits(w2) }
}

/// The value of the first `n` (1 to 15) digits of `w1` then `w2`.
#[inline(always)]
fn digits_value(w1: u64, w2: u64, n: usize) -> u64 {
    if n <= 8 {
        // The digits shifted to the top bytes; the zero bytes below read as leading zeros.
        eight_digits(w1 << (8 * (8 - n)))
    } else {
        eight_digits(w1) * POW10[n - 8] + eight_digits(w2 << (8 * (16 - n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::parse_fixed;

    const USDM: &str = r#"{"e":"aggTrade","E":1672515782136,"a":12345,"s":"BTCUSDT","p":"37000.10","q":"0.005","nq":"185.0005","f":100,"l":105,"T":1672515782130,"m":true}"#;
    const SPOT: &str = r#"{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}"#;

    fn read(frame: &str) -> Option<FastTrade<'_>> {
        scan(frame.as_bytes())
    }

    #[test]
    fn reads_usdm_and_spot_raw_and_combined() {
        let t = read(USDM).expect("USD-M layout");
        assert_eq!(t.symbol, b"BTCUSDT");
        assert_eq!((t.price, t.quantity), (3_700_010_000_000, 500_000));
        assert_eq!(
            (t.agg_id, t.first_trade_id, t.last_trade_id),
            (12345, 100, 105)
        );
        assert_eq!(
            (t.event_time_ms, t.trade_time_ms, t.is_buyer_maker),
            (1672515782136, 1672515782130, true)
        );
        let combined = format!(r#"{{"stream":"1000shibusdt@aggTrade","data":{USDM}}}"#);
        assert_eq!(read(&combined), Some(t));
        let s = read(SPOT).expect("spot layout");
        assert_eq!((s.symbol, s.agg_id), (&b"NKNUSDT"[..], 15683430));
        assert_eq!((s.price, s.quantity), (35_280_000, 5_800_000_000));
        assert!(!s.is_buyer_maker);
        let combined = format!(r#"{{"stream":"nknusdt@aggTrade","data":{SPOT}}}"#);
        assert_eq!(read(&combined), Some(s));
    }

    #[test]
    fn decimals_match_parse_fixed() {
        for text in [
            "0",
            "7",
            "0.1",
            "1.5",
            "0.00000001",
            "12345678.12345678",
            "9999999999.99999999",
            "1000000000",
            "00.50",
            "37000.10",
            "5000",
        ] {
            let frame = USDM.replace("37000.10", text);
            assert_eq!(
                read(&frame).map(|t| t.price),
                parse_fixed(text.as_bytes()).ok(),
                "{text}"
            );
        }
        // Right for parse_fixed, but not this layout's: the general path reads them.
        for text in [
            "1.000000000",
            "12345678901",
            ".5",
            "5.",
            "",
            "1e5",
            "-1",
            "1.2.3",
        ] {
            assert_eq!(read(&USDM.replace("37000.10", text)), None, "{text}");
        }
    }

    #[test]
    fn ids_are_json_integers_of_up_to_15_digits() {
        for (text, want) in [
            ("1", Some(1)),
            ("999999999999999", Some(999_999_999_999_999)),
        ] {
            let frame = USDM.replace("12345", text);
            assert_eq!(read(&frame).map(|t| t.agg_id), want, "{text}");
        }
        for text in ["0", "012", "-5", "1.0", "1e3", "1234567890123456", "\"1\""] {
            assert_eq!(read(&USDM.replace("12345", text)), None, "{text}");
        }
    }

    #[test]
    fn anything_off_the_layout_is_left_to_the_general_scanner() {
        for (from, to) in [
            (r#""s":"BTCUSDT""#, r#""s":"BTCUSDTBTCUSDTBTC""#), // 17 bytes
            (r#""s":"BTCUSDT""#, r#""s":"""#),
            (r#""s":"BTCUSDT""#, r#""s":"BTC\u0055SDT""#),
            (r#""s":"BTCUSDT""#, r#""s":"币安人生USDT""#),
            (r#""nq":"185.0005""#, r#""nq":"é""#),
            (r#""m":true"#, r#""m":1"#),
            (r#""m":true"#, r#""m":true,"x":1"#),
            (r#""e":"aggTrade""#, r#""e":"trade""#),
            (r#","E""#, r#", "E""#),
        ] {
            assert!(USDM.contains(from), "{from}");
            assert_eq!(read(&USDM.replacen(from, to, 1)), None, "{to}");
        }
        assert_eq!(read(&format!("{USDM} ")), None);
        assert_eq!(read(&USDM[..USDM.len() - 1]), None);
        assert_eq!(read(&format!(r#"{{"stream":"x","data":{USDM}"#)), None);
        assert_eq!(read(&format!(r#"{{"stream":"a\"b","data":{USDM}}}"#)), None);
        assert_eq!(read(""), None);
    }
}
