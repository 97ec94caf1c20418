//! A forward-only reader over the bytes of one JSON frame, for the aggTrade scanner in
//! [`super::fast_parse`].
//!
//! It reads the bytes itself instead of going through serde because the scanner needs very
//! little from JSON and needs it fast: a handful of typed reads (a string borrowed exactly as
//! sent, an `i64` with serde_json's integer rules, a bool), comparison against known byte
//! sequences, and skipping whatever else a frame holds, each answering `None` ("not what I
//! expected") rather than an error, so that the caller can hand the frame to serde_json for the
//! real verdict. serde_json's generic machinery (field identifiers, visitor dispatch) is what the
//! fast path exists to avoid. Where mirroring serde_json's outcome exactly would be hard (escapes
//! in a wanted string, non-ASCII bytes outside the strings that may be symbols, unusual numbers,
//! deep nesting) the readers are stricter than JSON and say `None`. The hot reads look at 8 or
//! 16 bytes at a time as `u64` words: the end of a string, the length and value of an integer.

use super::swar::{eight_digits, leading_digits, string_specials};
use crate::decimal::POW10;

/// Deepest nesting of unknown values the scanner skips itself (serde_json allows 128); deeper
/// values fall back instead of recursing further.
const MAX_SKIP_DEPTH: u32 = 32;

/// A position in the frame. Every reader returns `None` for "not what I expected", which the
/// callers turn into [`FastParse::Fallback`] with `?`. `Copy` so that out-of-line readers can
/// take it by value (see [`Cursor::skipped`]).
///
/// [`FastParse::Fallback`]: super::fast_parse::FastParse::Fallback
#[derive(Clone, Copy)]
pub(super) struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `b`.
    #[inline(always)]
    pub(super) fn new(b: &'a [u8]) -> Self {
        Cursor { b, i: 0 }
    }

    /// Whether every byte has been read.
    #[inline(always)]
    pub(super) fn at_end(&self) -> bool {
        self.i == self.b.len()
    }

    #[inline(always)]
    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    pub(super) fn bump(&mut self) {
        self.i += 1;
    }

    #[inline(always)]
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    /// Consumes `lit` if the input continues with it. (`i <= b.len()`, so no overflow.)
    #[inline(always)]
    pub(super) fn eat(&mut self, lit: &[u8]) -> bool {
        let hit = self.b.get(self.i..self.i + lit.len()) == Some(lit);
        if hit {
            self.i += lit.len();
        }
        hit
    }

    /// Skips JSON whitespace (exactly the four bytes JSON allows). Each is `<= b' '` and no
    /// token starts with such a byte, so the usual case (none) costs one compare.
    #[inline(always)]
    pub(super) fn ws(&mut self) {
        while let Some(b) = self.peek()
            && b <= b' '
            && matches!(b, b' ' | b'\n' | b'\r' | b'\t')
        {
            self.i += 1;
        }
    }

    /// Whitespace, `:`, whitespace.
    #[inline(always)]
    pub(super) fn colon(&mut self) -> Option<()> {
        self.ws();
        (self.next()? == b':').then_some(())?;
        self.ws();
        Some(())
    }

    /// After a member's value: `,` (true, with the next key's whitespace skipped) or `}`.
    #[inline(always)]
    pub(super) fn next_member(&mut self) -> Option<bool> {
        self.ws();
        match self.next()? {
            b',' => {
                self.ws();
                Some(true)
            }
            b'}' => Some(false),
            _ => None,
        }
    }

    /// The next 8 bytes as a little-endian word (first byte lowest), if there are 8 left.
    #[inline(always)]
    fn word(&self) -> Option<u64> {
        self.word_at(0)
    }

    /// The 8 bytes `ahead` bytes on as a little-endian word, if they exist.
    #[inline(always)]
    fn word_at(&self, ahead: usize) -> Option<u64> {
        let start = self.i + ahead;
        let bytes = self.b.get(start..start + 8)?;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }

    /// Moves to the first byte that may end or complicate a string (`"`, `\\`, a control
    /// byte or a non-ASCII byte), 16 then 8 bytes at a time while they remain; the callers'
    /// byte loops finish the job. Looking at 16 bytes per step finds the end of most strings
    /// (symbols, prices) in one step, which keeps the position's dependency chain short.
    #[inline(always)]
    fn skip_plain_bytes(&mut self) {
        while let (Some(w1), Some(w2)) = (self.word(), self.word_at(8)) {
            let (s1, s2) = (string_specials(w1), string_specials(w2));
            if s1 != 0 {
                self.i += (s1.trailing_zeros() / 8) as usize;
                return;
            }
            if s2 != 0 {
                self.i += 8 + (s2.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 16;
        }
        while let Some(w) = self.word() {
            let special = string_specials(w);
            if special != 0 {
                self.i += (special.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 8;
        }
    }

    /// A string whose bytes are all printable ASCII and unescaped, returned without quotes.
    /// Such bytes are what serde_json would borrow unchanged, so the text is the same.
    #[inline(always)]
    pub(super) fn plain_str(&mut self) -> Option<&'a [u8]> {
        if self.next()? != b'"' {
            return None;
        }
        let start = self.i;
        loop {
            self.skip_plain_bytes();
            let b = self.next()?;
            if b == b'"' {
                return Some(&self.b[start..self.i - 1]);
            }
            // Escapes, control bytes (a serde error) and non-ASCII (UTF-8 rules) all go to serde.
            if b == b'\\' || !(0x20..0x80).contains(&b) {
                return None;
            }
        }
    }

    /// A string without escapes or control bytes whose bytes are valid UTF-8 (non-ASCII
    /// included), returned without quotes: what serde_json borrows unchanged, and exactly when
    /// its reading of the string as a `str` succeeds (it checks the UTF-8 of such strings). For
    /// the strings that may be symbols (`s`, `stream`): Binance sends `币安人生USDT` raw. An
    /// all-ASCII string costs what [`Cursor::plain_str`] costs.
    #[inline(always)]
    pub(super) fn text_str(&mut self) -> Option<&'a [u8]> {
        if self.next()? != b'"' {
            return None;
        }
        let start = self.i;
        let mut ascii = true;
        loop {
            self.skip_plain_bytes();
            let b = self.next()?;
            if b == b'"' {
                let text = &self.b[start..self.i - 1];
                return (ascii || std::str::from_utf8(text).is_ok()).then_some(text);
            }
            // A UTF-8 sequence never holds a byte below 0x80, so `"` and `\` found byte by
            // byte are never part of a character.
            if b == b'\\' || b < 0x20 {
                return None;
            }
            ascii &= b < 0x80;
        }
    }

    /// Skips a string (after checking it starts with `"`), escapes included, with serde_json's
    /// rules for escapes; non-ASCII bytes fall back because serde_json checks their UTF-8 in
    /// some positions (inside a combined frame's `data`) and not in others.
    fn skip_str(&mut self) -> Option<()> {
        if self.next()? != b'"' {
            return None;
        }
        loop {
            self.skip_plain_bytes();
            match self.next()? {
                b'"' => return Some(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            if !self.next()?.is_ascii_hexdigit() {
                                return None;
                            }
                        }
                    }
                    _ => return None,
                },
                b if !(0x20..0x80).contains(&b) => return None,
                _ => {}
            }
        }
    }

    /// A JSON integer that serde_json reads as an `i64`: `-?(0|[1-9][0-9]*)` not followed by a
    /// fraction or exponent, within range. `-0` is excluded because serde_json reads it as a
    /// float.
    #[inline(always)]
    pub(super) fn int(&mut self) -> Option<i64> {
        let negative = self.peek()? == b'-';
        if negative {
            self.bump();
        }
        let start = self.i;
        let value = self.digits_value()?;
        let n = self.i - start;
        if n == 0 || (n > 1 && self.b[start] == b'0') {
            return None; // no digit, or a leading zero
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return None;
        }
        if negative {
            if value == 0 {
                return None;
            }
            0i64.checked_sub_unsigned(value)
        } else {
            i64::try_from(value).ok()
        }
    }

    /// Reads a run of up to 19 ASCII digits as a number; more than 19 digits: `None`.
    ///
    /// Ids and millisecond times have 10 to 13 digits, so the common case looks at 16 bytes
    /// at once: the run's length comes from both words in parallel (the position is what the
    /// rest of the scan waits for) and its value from at most two 8-digit conversions.
    #[inline(always)]
    fn digits_value(&mut self) -> Option<u64> {
        if let (Some(w1), Some(w2)) = (self.word(), self.word_at(8)) {
            let n1 = leading_digits(w1);
            let n = if n1 < 8 { n1 } else { 8 + leading_digits(w2) };
            if n < 16 {
                self.i += n;
                return Some(if n <= 8 {
                    // Digits shifted to the top bytes; the zero bytes below read as leading
                    // zeros. No digit at all (a shift by 64) reads as 0.
                    eight_digits(w1.checked_shl(64 - 8 * n as u32).unwrap_or(0))
                } else {
                    eight_digits(w1) * POW10[n - 8] + eight_digits(w2 << (8 * (16 - n)))
                });
            }
        }
        // Near the end of the frame, or 16 digits or more: one byte at a time.
        let mut value: u64 = 0;
        let mut total = 0;
        while let Some(d) = self
            .peek()
            .map(|b| b.wrapping_sub(b'0'))
            .filter(|&d| d <= 9)
        {
            if total == 19 {
                return None;
            }
            // At most 19 digits: below 10^19 < 2^64.
            value = value * 10 + u64::from(d);
            total += 1;
            self.bump();
        }
        Some(value)
    }

    /// `true` or `false`.
    #[inline(always)]
    pub(super) fn bool(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| true),
            b'f' => self.literal(b"false").map(|()| false),
            _ => None,
        }
    }

    /// `word`, or `None`.
    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.eat(word).then_some(())
    }

    /// Skips any JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn skip_number(&mut self) -> Option<()> {
        if self.peek()? == b'-' {
            self.bump();
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.bump();
            self.peek()?.is_ascii_digit().then_some(())?;
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.bump();
            if let Some(b'+' | b'-') = self.peek() {
                self.bump();
            }
            self.peek()?.is_ascii_digit().then_some(())?;
            self.digits();
        }
        // A digit right after `0` (`01`) is invalid JSON; the caller's separator check
        // rejects it since a digit is neither `,` nor `}` nor `]`.
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.bump();
        }
    }

    /// Skips an unknown member's value: out of line and by value, so the hot scanner's own
    /// cursor never has its address taken and stays in registers.
    #[inline(never)]
    pub(super) fn skipped(mut self) -> Option<Self> {
        self.skip_value(0)?;
        Some(self)
    }

    /// Skips the value of a field serde reads leniently (`deserialize_any`, for `stream` and
    /// for another event type's reuse of aggTrade keys). That reading is stricter than a skip
    /// for some values: it decodes strings (a lone surrogate escape is an error, and so are bytes
    /// that are not UTF-8), converts numbers (`1e999` is out of range) and decodes the keys of
    /// an object. Only values for which it cannot fail pass; the rest fall back. Out of line and
    /// by value as above.
    #[inline(never)]
    pub(super) fn skipped_lenient(mut self) -> Option<Self> {
        match self.peek()? {
            b'"' => self.text_str().map(drop)?,
            b'-' | b'0'..=b'9' => self.int().map(drop)?,
            // Array elements are skipped by serde too, without decoding.
            b'[' | b't' | b'f' | b'n' => self.skip_value(0)?,
            _ => return None,
        }
        Some(self)
    }

    /// Skips any JSON value, nested up to [`MAX_SKIP_DEPTH`].
    fn skip_value(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_str(),
            b'-' | b'0'..=b'9' => self.skip_number(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'[' | b'{' if depth >= MAX_SKIP_DEPTH => None,
            b'[' => {
                self.bump();
                self.ws();
                if self.peek()? == b']' {
                    self.bump();
                    return Some(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => self.ws(),
                        b']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.bump();
                self.ws();
                if self.peek()? == b'}' {
                    self.bump();
                    return Some(());
                }
                loop {
                    self.skip_str()?;
                    self.colon()?;
                    self.skip_value(depth + 1)?;
                    if !self.next_member()? {
                        return Some(());
                    }
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_reader_matches_std_at_every_length_and_tail_position() {
        let digits = "98765432109876543210";
        for len in 1..=digits.len() {
            for text in [&digits[..len], &digits[digits.len() - len..]] {
                for tail in ["", ",", "}   ", "]          ", "x0123456789"] {
                    for sign in ["", "-"] {
                        let input = format!("{sign}{text}{tail}");
                        let mut c = Cursor {
                            b: input.as_bytes(),
                            i: 0,
                        };
                        // JSON forbids leading zeros; serde_json reads `-0` as a float.
                        let want = if text.starts_with('0') && (len > 1 || sign == "-") {
                            None
                        } else {
                            format!("{sign}{text}").parse::<i64>().ok()
                        };
                        assert_eq!(c.int(), want, "{input}");
                        if want.is_some() {
                            assert_eq!(c.i, sign.len() + len, "{input}");
                        }
                    }
                }
            }
        }
    }
}
