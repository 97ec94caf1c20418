//! Exact decimal text for the database's price and volume columns.
//!
//! SQLite has no exact decimal type: a REAL column is an `f64`, which would round a month of quote
//! volume. The columns are therefore TEXT holding the same decimal Binance prints, written with
//! [`Scaled`] and read back with [`parse_scaled`]. `crate::decimal::parse_fixed` cannot read
//! them: it stops at 8 fractional digits and an `i64`, while quote volumes carry 16 digits in an
//! `i128`.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::parse_scaled;

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
                    parse_scaled(&text(value, scale), scale),
                    Some(value),
                    "{value} at scale {scale}"
                );
            }
        }
    }
}
