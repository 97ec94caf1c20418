//! Exact decimal text <-> fixed-point integers.
//!
//! Binance sends prices and quantities as decimal strings with up to 8 fractional digits, and its
//! official kline files print sums of them exactly. An `f64` holds only 15-17 significant digits,
//! while a month of quote volume (price·quantity summed, 1e-16 units) needs about 18 or more, so a
//! float would round where Binance does not. Every number is therefore an integer count of 1e-8
//! (or 1e-16 for products), parsed and printed here without ever touching a float. The parser is
//! hand-written rather than taken from the `fast-float` crate, which is unmaintained and unsound
//! (RUSTSEC-2024-0379), and it has to be: floats are what we are avoiding.

use std::fmt;

mod scaled_parse;
pub use scaled_parse::parse_scaled;

/// Fractional digits of the fixed-point unit used for prices and quantities (1e-8).
pub const SCALE: u32 = 8;
/// 10^SCALE: the fixed-point value of 1.
pub const ONE: i64 = 100_000_000;

/// `POW10[k] = 10^k` up to 10^SCALE: scales a value that had fewer than `SCALE` fractional
/// digits, and combines digit groups in the ingress scanner.
pub(crate) const POW10: [u64; SCALE as usize + 1] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// Why a decimal text was rejected by [`parse_fixed`].
///
/// When a text has several problems the first in this order is reported: `Empty`, `Sign`,
/// `NotFinite`, `Exponent`, `InvalidByte` (the first offending byte), `TooManyFractionDigits`,
/// `Overflow`. Shape errors come before value errors so the answer does not depend on where in
/// the text the value went out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// No bytes at all.
    Empty,
    /// A leading `+` or `-`: prices and quantities are never signed.
    Sign,
    /// An `e` or `E` anywhere: exponent notation is refused rather than half-supported.
    Exponent,
    /// `nan`, `inf` or `infinity` in any case.
    NotFinite,
    /// A non-zero digit after the 8th fractional digit, which 1e-8 units cannot hold exactly.
    TooManyFractionDigits,
    /// The value does not fit an `i64` count of 1e-8 (above about 92 billion).
    Overflow,
    /// Any other byte that breaks `digits[.digits]`: a stray character, a second `.`, or a `.`
    /// with no digit before or after it (then `position` is that of the `.`).
    InvalidByte {
        /// Byte index of the offending byte in the text.
        position: usize,
        /// The offending byte.
        byte: u8,
    },
}

impl fmt::Display for DecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecimalError::Empty => f.write_str("empty decimal text"),
            DecimalError::Sign => {
                f.write_str("decimal text has a sign; expected an unsigned value")
            }
            DecimalError::Exponent => f.write_str("decimal text uses exponent notation"),
            DecimalError::NotFinite => f.write_str("decimal text is NaN or infinity"),
            DecimalError::TooManyFractionDigits => write!(
                f,
                "decimal text has a non-zero digit beyond {SCALE} fractional digits"
            ),
            DecimalError::Overflow => {
                write!(f, "decimal value does not fit i64 in units of 1e-{SCALE}")
            }
            DecimalError::InvalidByte { position, byte } => {
                if byte.is_ascii_graphic() {
                    write!(
                        f,
                        "invalid byte '{}' at position {position} in decimal text",
                        char::from(byte)
                    )
                } else {
                    write!(
                        f,
                        "invalid byte 0x{byte:02x} at position {position} in decimal text"
                    )
                }
            }
        }
    }
}

impl std::error::Error for DecimalError {}

/// Parses unsigned decimal text like `37000.10`, `0.005`, `42` into units of 1e-8.
///
/// Accepts `[0-9]+(\.[0-9]+)?`: leading zeros and trailing zeros are fine, including zeros past
/// the 8th fractional digit (`1.000000000` is exactly [`ONE`]). Everything else is an error, see
/// [`DecimalError`] for which one.
///
/// # Errors
///
/// Any text outside that grammar, or whose value needs a non-zero digit past 1e-8 or more than
/// `i64::MAX` units; the [`DecimalError`] variant says which.
pub fn parse_fixed(text: &[u8]) -> Result<i64, DecimalError> {
    // Runs twice per trade, so: one pass, bytes only, and every rare check is deferred to
    // `reject`, which only runs once the text is known to be bad.
    let Some(&first) = text.first() else {
        return Err(DecimalError::Empty);
    };
    if first == b'+' || first == b'-' {
        return Err(DecimalError::Sign);
    }

    // All kept digits (integer and up to SCALE fractional) go into one accumulator; scaling by
    // the missing fractional digits happens once at the end. After an overflow we keep scanning
    // so that a malformed text still reports its shape error.
    let mut acc: u64 = 0;
    let mut overflow = false;
    let mut pos = 0;
    while let Some(&b) = text.get(pos) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        push_digit(&mut acc, &mut overflow, d);
        pos += 1;
    }
    if pos == 0 {
        return Err(reject(text, 0));
    }

    let mut frac_digits: u32 = 0;
    let mut too_many = false;
    if let Some(&b) = text.get(pos) {
        if b != b'.' {
            return Err(reject(text, pos));
        }
        let dot = pos;
        pos += 1;
        while let Some(&b) = text.get(pos) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return Err(reject(text, pos));
            }
            if frac_digits < SCALE {
                push_digit(&mut acc, &mut overflow, d);
                frac_digits += 1;
            } else if d != 0 {
                too_many = true;
            }
            pos += 1;
        }
        if frac_digits == 0 {
            return Err(reject(text, dot));
        }
    }

    if too_many {
        return Err(DecimalError::TooManyFractionDigits);
    }
    if overflow {
        return Err(DecimalError::Overflow);
    }
    let multiplier = POW10
        .get((SCALE - frac_digits) as usize)
        .copied()
        .unwrap_or(1);
    acc.checked_mul(multiplier)
        .and_then(|v| i64::try_from(v).ok())
        .ok_or(DecimalError::Overflow)
}

#[inline]
fn push_digit(acc: &mut u64, overflow: &mut bool, digit: u8) {
    match acc
        .checked_mul(10)
        .and_then(|v| v.checked_add(u64::from(digit)))
    {
        Some(v) => *acc = v,
        None => *overflow = true,
    }
}

/// Classifies a text already known to be malformed at `position`.
///
/// Exponent and non-finite texts are diagnosed by name rather than by their first bad byte,
/// since that says what the sender did wrong. Kept out of line so the hot path stays small.
#[cold]
#[inline(never)]
fn reject(text: &[u8], position: usize) -> DecimalError {
    if [&b"nan"[..], b"inf", b"infinity"]
        .iter()
        .any(|word| text.eq_ignore_ascii_case(word))
    {
        return DecimalError::NotFinite;
    }
    if text.iter().any(|&b| b == b'e' || b == b'E') {
        return DecimalError::Exponent;
    }
    DecimalError::InvalidByte {
        position,
        byte: text.get(position).copied().unwrap_or(0),
    }
}

/// Appends the exact decimal text of `value / 10^scale` to `out`.
///
/// The text is an optional `-`, the integer digits (at least one), then a `.` and between
/// `min_frac` and `scale` fractional digits: trailing zeros are trimmed down to `min_frac`, and
/// there is no `.` at all when that leaves no digit. Never an exponent. `scale` is normally at
/// most 38 (the most an `i128` can use); larger scales are still printed exactly, with leading
/// fractional zeros. `min_frac` above `scale` is treated as `scale`.
pub fn write_scaled(value: i128, scale: u32, min_frac: u32, out: &mut Vec<u8>) {
    let parts = Parts::new(value, scale, min_frac);
    // Capped so a huge requested `min_frac` grows the Vec gradually instead of failing up front.
    out.reserve(parts.len().min(128));
    let _: Result<(), std::convert::Infallible> = parts.emit(|chunk| {
        out.extend_from_slice(chunk);
        Ok(())
    });
}

/// Display adapter for the [`write_scaled`] rule, for `write!`/`format!` without a `Vec`.
///
/// Width, fill, alignment, `+` and `0` flags work as for integers; precision is ignored, since
/// cutting digits off an exact value would silently change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaled {
    /// The fixed-point value, in units of 10^-scale.
    pub value: i128,
    /// Number of fractional digits `value` carries.
    pub scale: u32,
    /// Fewest fractional digits to print (trailing zeros are kept down to this many).
    pub min_frac: u32,
}

impl fmt::Display for Scaled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Room for any i128 at scale <= 38 (39 digits, '.', a leading "0"); the sign is left to
        // `pad_integral`, which also applies width and flags.
        const CAP: usize = 64;
        let parts = Parts::new(self.value, self.scale, self.min_frac);
        let unsigned_len = parts.len().saturating_sub(usize::from(parts.negative));
        if unsigned_len <= CAP {
            let mut buf = [0u8; CAP];
            let mut len = 0;
            parts.emit_unsigned(|chunk| {
                let end = len + chunk.len();
                buf.get_mut(len..end)
                    .ok_or(fmt::Error)?
                    .copy_from_slice(chunk);
                len = end;
                Ok(())
            })?;
            let digits = buf.get(..len).ok_or(fmt::Error)?;
            let text = std::str::from_utf8(digits).map_err(|_| fmt::Error)?;
            f.pad_integral(!parts.negative, "", text)
        } else {
            // Only reachable with an out-of-range scale or min_frac: stream it unpadded rather
            // than allocate.
            parts.emit(|chunk| {
                let text = std::str::from_utf8(chunk).map_err(|_| fmt::Error)?;
                f.write_str(text)
            })
        }
    }
}

/// Most decimal digits of an `i128` magnitude (`2^127` has 39).
const MAX_DIGITS: usize = 39;

/// Long runs of zeros (huge scales) are written from this in chunks.
const ZEROS: [u8; 64] = [b'0'; 64];

/// The pieces of one formatted value, computed once and written by `emit`.
struct Parts {
    negative: bool,
    /// `digits[start..]` is the magnitude without leading zeros (`"0"` for zero).
    digits: [u8; MAX_DIGITS],
    start: usize,
    /// How many of those digits are the integer part; 0 means the integer part is `"0"`.
    int_len: usize,
    /// Zeros between the `.` and the first remaining digit.
    pad: usize,
    /// Fractional digits to print in all, counting `pad`.
    frac_len: usize,
}

impl Parts {
    fn new(value: i128, scale: u32, min_frac: u32) -> Parts {
        let negative = value < 0;
        let mut digits = [b'0'; MAX_DIGITS];
        let start = write_digits(value.unsigned_abs(), &mut digits);
        let n = MAX_DIGITS - start;
        let scale = usize::try_from(scale).unwrap_or(usize::MAX);
        let min_frac = usize::try_from(min_frac).unwrap_or(usize::MAX).min(scale);
        let (int_len, pad) = if n > scale {
            (n - scale, 0)
        } else {
            (0, scale - n)
        };
        let frac_digits = digits.get(start + int_len..).unwrap_or(&[]);
        let significant = frac_digits
            .iter()
            .rposition(|&d| d != b'0')
            .map_or(0, |i| pad + i + 1);
        Parts {
            negative,
            digits,
            start,
            int_len,
            pad,
            frac_len: significant.max(min_frac),
        }
    }

    /// Bytes `emit` will write.
    fn len(&self) -> usize {
        let frac = if self.frac_len == 0 {
            0
        } else {
            self.frac_len.saturating_add(1)
        };
        // Saturating: an absurd scale must not overflow on 32-bit targets.
        usize::from(self.negative)
            .saturating_add(self.int_len.max(1))
            .saturating_add(frac)
    }

    fn emit<E>(&self, mut sink: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        if self.negative {
            sink(b"-")?;
        }
        self.emit_unsigned(sink)
    }

    fn emit_unsigned<E>(&self, mut sink: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        let int_end = self.start + self.int_len;
        if self.int_len == 0 {
            sink(b"0")?;
        } else {
            sink(self.digits.get(self.start..int_end).unwrap_or(b"0"))?;
        }
        if self.frac_len == 0 {
            return Ok(());
        }
        sink(b".")?;
        let mut zeros = self.pad.min(self.frac_len);
        while zeros > 0 {
            let chunk = zeros.min(ZEROS.len());
            sink(&ZEROS[..chunk])?;
            zeros -= chunk;
        }
        // frac_len <= scale = pad + remaining digits, so this never runs past the end.
        let rest = self.frac_len.saturating_sub(self.pad);
        if rest > 0 {
            sink(self.digits.get(int_end..int_end + rest).unwrap_or(&[]))?;
        }
        Ok(())
    }
}

/// Writes the decimal digits of `v` right-aligned into `buf`; returns the index of the first.
fn write_digits(mut v: u128, buf: &mut [u8; MAX_DIGITS]) -> usize {
    let mut start = MAX_DIGITS;
    // u128 division is a library call; drop to u64 as soon as the value fits.
    while v > u128::from(u64::MAX) {
        start -= 1;
        buf[start] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let mut w = u64::try_from(v).unwrap_or(0);
    loop {
        start -= 1;
        buf[start] = b'0' + (w % 10) as u8;
        w /= 10;
        if w == 0 {
            break;
        }
    }
    start
}

/// Exact numeric comparison of two plain decimal texts, ignoring leading and trailing zeros.
///
/// For checking our klines against Binance's official files, which print e.g. `7180.97000000`
/// where we print `7180.97`, and may carry more than 8 fractional digits. Texts are
/// `[+-]?[0-9]+(\.[0-9]+)?` of any length (compared digit by digit, so nothing is rounded);
/// `-0` equals `0`. Returns `None` if either text is not of that form.
#[must_use]
pub fn decimal_text_eq(a: &str, b: &str) -> Option<bool> {
    let a = normalize(a.as_bytes())?;
    let b = normalize(b.as_bytes())?;
    Some(a == b)
}

/// Splits a signed decimal into (negative, integer digits, fraction digits) with leading zeros
/// of the integer and trailing zeros of the fraction removed, so equal values give equal parts.
fn normalize(text: &[u8]) -> Option<(bool, &[u8], &[u8])> {
    let (negative, rest) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    let int_end = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    let (int, tail) = rest.split_at(int_end);
    if int.is_empty() {
        return None;
    }
    let frac = match tail {
        [] => tail,
        [b'.', frac @ ..] if !frac.is_empty() && frac.iter().all(u8::is_ascii_digit) => frac,
        _ => return None,
    };
    let int_start = int.iter().position(|&d| d != b'0').unwrap_or(int.len());
    let int = int.get(int_start..).unwrap_or(&[]);
    let frac_end = frac.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
    let frac = frac.get(..frac_end).unwrap_or(&[]);
    let is_zero = int.is_empty() && frac.is_empty();
    Some((negative && !is_zero, int, frac))
}

#[cfg(test)]
mod tests;
