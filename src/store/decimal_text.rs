//! Exact decimal text for the database's price and volume columns.
//!
//! SQLite has no exact decimal type: a REAL column is an `f64`, which would round a month of quote
//! volume. The columns are therefore TEXT holding the same decimal Binance prints, written with
//! [`Scaled`] and read back here. `crate::decimal::parse_fixed` cannot read them: it stops at 8
//! fractional digits and an `i64`, while quote volumes carry 16 digits in an `i128`.

use std::fmt::Write as _;

use crate::decimal::Scaled;

/// Fractional digits of prices and base volumes (units of 1e-8).
pub(crate) const BASE_SCALE: u32 = 8;
/// Fractional digits of quote volumes (units of 1e-16: price·quantity).
pub(crate) const QUOTE_SCALE: u32 = 16;
/// Every stored decimal keeps at least this many fractional digits, so a row reads like Binance's
/// own output (`37000.10000000`) whatever its scale.
const MIN_FRAC: u32 = 8;

/// Replaces `out` with the exact text of `value / 10^scale`.
pub(crate) fn write_decimal(out: &mut String, value: i128, scale: u32) {
    out.clear();
    // Writing to a String cannot fail; the Result only exists for other writers.
    let _ = write!(
        out,
        "{}",
        Scaled {
            value,
            scale,
            min_frac: MIN_FRAC,
        }
    );
}

/// Reads `-?[0-9]+(\.[0-9]+)?` as an integer count of `10^-scale`, exactly.
///
/// Fractional digits past `scale` are accepted only when they are zeros, since anything else
/// cannot be held without rounding. Returns `None` for any other text or a value outside `i128`.
pub(crate) fn parse_decimal(text: &str, scale: u32) -> Option<i128> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = match unsigned.split_once('.') {
        Some((int_part, frac_part)) if !frac_part.is_empty() => (int_part, frac_part),
        Some(_) => return None,
        None => (unsigned, ""),
    };
    if int_part.is_empty() {
        return None;
    }
    // The magnitude is gathered as u128 so that i128::MIN, whose magnitude i128 cannot hold,
    // still reads back.
    let mut magnitude: u128 = 0;
    for b in int_part.bytes() {
        magnitude = push_digit(magnitude, b)?;
    }
    let mut kept: u32 = 0;
    for b in frac_part.bytes() {
        if kept < scale {
            magnitude = push_digit(magnitude, b)?;
            kept += 1;
        } else if b != b'0' {
            return None;
        }
    }
    for _ in kept..scale {
        magnitude = magnitude.checked_mul(10)?;
    }
    if negative {
        0i128.checked_sub_unsigned(magnitude)
    } else {
        i128::try_from(magnitude).ok()
    }
}

fn push_digit(acc: u128, byte: u8) -> Option<u128> {
    if !byte.is_ascii_digit() {
        return None;
    }
    acc.checked_mul(10)?.checked_add(u128::from(byte - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: i128, scale: u32) -> String {
        let mut out = String::new();
        write_decimal(&mut out, value, scale);
        out
    }

    #[test]
    fn writes_at_least_eight_fraction_digits() {
        assert_eq!(text(3_700_010_000_000, BASE_SCALE), "37000.10000000");
        assert_eq!(text(0, QUOTE_SCALE), "0.00000000");
        assert_eq!(text(1, QUOTE_SCALE), "0.0000000000000001");
        assert_eq!(text(-5, BASE_SCALE), "-0.00000005");
    }

    #[test]
    fn round_trips_extremes_exactly() {
        for scale in [BASE_SCALE, QUOTE_SCALE] {
            for value in [
                0,
                1,
                -1,
                i128::from(i64::MAX),
                i128::from(i64::MIN),
                i128::from(i64::MAX) * 1_000_003,
                i128::MAX,
                i128::MIN,
            ] {
                assert_eq!(
                    parse_decimal(&text(value, scale), scale),
                    Some(value),
                    "{value} at scale {scale}"
                );
            }
        }
    }

    #[test]
    fn accepts_short_fractions_and_trailing_zeros() {
        assert_eq!(parse_decimal("1", 8), Some(100_000_000));
        assert_eq!(parse_decimal("0.5", 16), Some(5_000_000_000_000_000));
        assert_eq!(parse_decimal("2.000000000000", 8), Some(200_000_000));
    }

    #[test]
    fn rejects_what_it_cannot_hold_exactly() {
        for bad in [
            "",
            "-",
            ".",
            "1.",
            ".5",
            "1.2.3",
            "1e5",
            "+1",
            " 1",
            "0x10",
            "1.000000001",
        ] {
            assert_eq!(parse_decimal(bad, 8), None, "{bad:?}");
        }
        // One past i128::MAX.
        assert_eq!(
            parse_decimal("170141183460469231731687303715884105728", 0),
            None
        );
        assert_eq!(
            parse_decimal("-170141183460469231731687303715884105728", 0),
            Some(i128::MIN)
        );
    }
}
