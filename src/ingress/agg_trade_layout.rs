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
//! So the keys and separators are compared as constants and only the values are read, 16 bytes
//! at a time: the length of a number and the end of a string from one compare, a number's value
//! from one conversion of up to 16 digits (SSE2 on x86_64, [`super::sse2`]; word arithmetic,
//! [`super::swar`], elsewhere). There is no loop over keys and no dispatch; the only loops are
//! over the stream name and `nq`, which usually end in their first step. The reads are in one
//! chain (each value starts where the last ended), so the times, which Binance writes with 13
//! digits, are read at that width: the fields after them need not wait for their digits to be
//! counted.
//!
//! Anything else (another order, whitespace, another field, an escape or non-ASCII byte, a
//! number written another way, a time not of 13 digits, a symbol over 16 bytes) answers `None`, and the general scanner
//! of [`super::fast_parse`] reads the frame instead. What this reads it reads exactly as
//! serde_json would: every byte of the frame is accounted for, strings are plain printable
//! ASCII (borrowed unchanged by serde), integers are plain `[1-9][0-9]{0,15}` (an `i64` for
//! serde) and decimals are `[0-9]{1,10}(\.[0-9]{1,8})?`, whose value
//! [`crate::decimal::parse_fixed`] gives too.

use super::fast_parse::FastTrade;
#[cfg(target_arch = "x86_64")]
use super::sse2::{digit_run_at, string_end_at};
#[cfg(not(target_arch = "x86_64"))]
use super::swar::{digit_run_at, string_end_at};
use super::swar::{eight_digits, word_at};
use crate::decimal::ONE;

/// The trade of a frame in Binance's own layout, or `None` for any other frame.
#[inline(always)]
pub(super) fn scan(frame: &[u8]) -> Option<FastTrade<'_>> {
    let mut r = Reader { b: frame, i: 0 };
    let combined = r.eat(br#"{"stream":""#);
    if combined {
        r.plain_tail()?;
        r.expect(br#","data":{"#)?;
    } else {
        r.expect(b"{")?;
    }
    r.expect(br#""e":"aggTrade","E":"#)?;
    let event_time_ms = r.time_ms()?;
    let (agg_id, symbol);
    if r.eat(br#","a":"#) {
        agg_id = r.id()?;
        r.expect(br#","s":""#)?;
        symbol = r.symbol()?;
    } else {
        r.expect(br#","s":""#)?;
        symbol = r.symbol()?;
        r.expect(br#","a":"#)?;
        agg_id = r.id()?;
    }
    r.expect(br#","p":""#)?;
    let price = r.decimal()?;
    r.expect(br#","q":""#)?;
    let quantity = r.decimal()?;
    if r.eat(br#","nq":""#) {
        r.plain_tail()?;
    }
    r.expect(br#","f":"#)?;
    let first_trade_id = r.id()?;
    r.expect(br#","l":"#)?;
    let last_trade_id = r.id()?;
    r.expect(br#","T":"#)?;
    let trade_time_ms = r.time_ms()?;
    r.expect(br#","m":"#)?;
    let is_buyer_maker = r.bool()?;
    if r.eat(br#","M":"#) {
        r.bool()?;
    }
    r.expect(b"}")?;
    if combined {
        r.expect(b"}")?;
    }
    (r.i == frame.len()).then_some(FastTrade {
        symbol,
        price,
        quantity,
        agg_id,
        first_trade_id,
        last_trade_id,
        trade_time_ms,
        event_time_ms,
        is_buyer_maker,
    })
}

/// A position in the frame; every read answers `None` for "not the layout".
struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    /// Consumes `lit` if the frame continues with it (a compare of constant length, which the
    /// compiler turns into a few word compares).
    #[inline(always)]
    fn eat<const N: usize>(&mut self, lit: &[u8; N]) -> bool {
        // `i <= b.len()`, so the sum cannot overflow.
        let hit = self.b.get(self.i..self.i + N).is_some_and(|s| s == lit);
        if hit {
            self.i += N;
        }
        hit
    }

    #[inline(always)]
    fn expect<const N: usize>(&mut self, lit: &[u8; N]) -> Option<()> {
        self.eat(lit).then_some(())
    }

    /// A plain ASCII string of 1 to 16 bytes (the longest the symbol table packs), after its
    /// opening `"`, through its closing one. Every string of the layout is followed by more
    /// than 16 bytes before the frame ends, so near the end means "not the layout".
    #[inline(always)]
    fn symbol(&mut self) -> Option<&'a [u8]> {
        let n = string_end_at(self.b, self.i)?;
        let symbol = self.b.get(self.i..self.i + n).filter(|s| !s.is_empty())?;
        (self.b.get(self.i + n) == Some(&b'"')).then_some(())?;
        self.i += n + 1;
        Some(symbol)
    }

    /// Skips the rest of a plain ASCII string of any length, through its closing `"`.
    #[inline(always)]
    fn plain_tail(&mut self) -> Option<()> {
        loop {
            let n = string_end_at(self.b, self.i)?;
            self.i += n;
            if n < 16 {
                return (self.b.get(self.i) == Some(&b'"')).then(|| self.i += 1);
            }
        }
    }

    /// A non-negative integer as JSON writes it (no leading zero) of 1 to 15 digits, which
    /// serde_json reads as the same `i64`.
    #[inline(always)]
    fn id(&mut self) -> Option<i64> {
        let n = digit_run_at(self.b, self.i)?;
        if n == 0 || n == 16 || self.b.get(self.i) == Some(&b'0') {
            return None;
        }
        let end = self.i + n;
        self.i = end;
        // Below 10^15: the cast is exact.
        Some(digits_before(self.b, end, n)? as i64)
    }

    /// A time in milliseconds, which Binance writes with 13 digits (from 2001 to 2286): read
    /// at that width, so that the next field's reads do not wait for this one's digits to be
    /// counted (the check is a branch the CPU predicts, not a data dependency). Other widths
    /// are left to the general scanner.
    #[inline(always)]
    fn time_ms(&mut self) -> Option<i64> {
        const WIDTH: usize = 13;
        if digit_run_at(self.b, self.i)? != WIDTH || self.b.get(self.i) == Some(&b'0') {
            return None;
        }
        self.i += WIDTH;
        Some(digits_before(self.b, self.i, WIDTH)? as i64)
    }

    /// An exact decimal `[0-9]{1,10}(\.[0-9]{1,8})?` after its opening `"`, through its closing
    /// one, in units of 1e-8. At most 10 integer digits keep the value below 10^18 units.
    #[inline(always)]
    fn decimal(&mut self) -> Option<i64> {
        let start = self.i;
        let d = digit_run_at(self.b, start)?;
        if d == 0 || d > 10 {
            return None;
        }
        let after = start + d;
        // The fraction's digits in the low bytes, zero bytes above: read as trailing zeros, so
        // `.12` is 12,000,000 units. No fraction reads as zero.
        let fraction = match self.b.get(after)? {
            b'"' => {
                self.i = after + 1;
                0
            }
            b'.' => {
                let f = digit_run_at(self.b, after + 1)?;
                // Up to 8 fractional digits, then the quote; longer fractions (whose extra
                // digits must be zeros) are left to the general path.
                if f == 0 || f > 8 || self.b.get(after + 1 + f) != Some(&b'"') {
                    return None;
                }
                self.i = after + 2 + f;
                word_at(self.b, after + 1)? & (u64::MAX >> (8 * (8 - f)))
            }
            _ => return None,
        };
        // Up to 8 integer digits (any price below 10^8) and the fraction convert together.
        let units = if d <= 8 {
            eight_digit_pair(word_at(self.b, start)? << (8 * (8 - d)), fraction)
        } else {
            digits_before(self.b, after, d)? * ONE as u64 + eight_digits(fraction)
        };
        Some(units as i64)
    }

    /// `true` or `false`.
    #[inline(always)]
    fn bool(&mut self) -> Option<bool> {
        if self.eat(b"true") {
            Some(true)
        } else if self.eat(b"false") {
            Some(false)
        } else {
            None
        }
    }
}

/// The value of the `n` (1 to 16) digits that end at `end`: with SSE2 on x86_64 from the 16
/// bytes that end there (every value of the layout starts past its 16th byte), with words
/// elsewhere.
#[inline(always)]
fn digits_before(b: &[u8], end: usize, n: usize) -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        let block: &[u8; 16] = b.get(end.checked_sub(16)?..end)?.try_into().ok()?;
        Some(super::sse2::last_digits_value(block, n))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let start = end.checked_sub(n)?;
        let (w1, w2) = (word_at(b, start)?, word_at(b, start + 8)?);
        Some(super::swar::digits_value(w1, w2, n))
    }
}

/// `high * 10^8 + low` for two words of 8 digits or zero bytes (read as zeros): SSE2 on
/// x86_64, word arithmetic elsewhere.
#[inline(always)]
fn eight_digit_pair(high: u64, low: u64) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        super::sse2::eight_digit_pair(high, low)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        super::swar::eight_digit_pair(high, low)
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
        for name in ["B", "1000SHIBUSDTUSD", "1000SHIBUSDTUSDT"] {
            let frame = USDM.replace("BTCUSDT", name);
            assert_eq!(
                read(&frame).map(|t| t.symbol),
                Some(name.as_bytes()),
                "{name}"
            );
        }
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
    fn times_are_read_at_13_digits_and_other_widths_left_to_the_general_scanner() {
        for (event, trade, ok) in [
            ("1000000000000", "9999999999999", true),
            ("167251578213", "1672515782130", false),
            ("1672515782136", "16725157821300", false),
            ("0672515782136", "1672515782130", false),
            ("1672515782136", "1", false),
        ] {
            let frame = USDM
                .replace("1672515782136", event)
                .replace("1672515782130", trade);
            let times = read(&frame).map(|t| (t.event_time_ms, t.trade_time_ms));
            let want = (event.parse().unwrap(), trade.parse().unwrap());
            assert_eq!(times, ok.then_some(want), "{frame}");
        }
    }

    #[test]
    fn anything_off_the_layout_is_left_to_the_general_scanner() {
        for (from, to) in [
            (r#""s":"BTCUSDT""#, r#""s":"BTCUSDTBTCUSDTBTC""#), // 17 bytes
            (r#""s":"BTCUSDT""#, r#""s":"1000BTCUSDTBTCUS\"""#), // an escape after 16
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
