//! Prices and quantities as the exchange writes them: exact, with the symbol's digits.

use crate::decimal::{SCALE, Scaled, write_scaled};

/// Appends `value` (in 1e-8 units) with at least `decimals` fractional digits, as Binance
/// writes a symbol's numbers (`61800.30` for price decimals 2). Digits beyond `decimals` are
/// kept rather than rounded away, so the text always parses back to `value`.
pub fn write_fixed(value: i64, decimals: u32, out: &mut Vec<u8>) {
    write_scaled(i128::from(value), SCALE, decimals, out);
}

/// [`write_fixed`] into a new `String`.
pub fn format_fixed(value: i64, decimals: u32) -> String {
    Scaled {
        value: i128::from(value),
        scale: SCALE,
        min_frac: decimals,
    }
    .to_string()
}

/// Digits after the `.` of a decimal text, at most the 8 a fixed-point value holds: what a
/// replayed file says about a symbol's digits.
pub fn fraction_digits(text: &[u8]) -> u32 {
    text.iter().position(|&b| b == b'.').map_or(0, |dot| {
        u32::try_from(text.len() - dot - 1)
            .unwrap_or(SCALE)
            .min(SCALE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::parse_fixed;

    #[test]
    fn symbol_digits_are_padded_and_never_lost() {
        assert_eq!(format_fixed(6_180_030_000_000, 2), "61800.30");
        assert_eq!(format_fixed(6_180_030_000_000, 0), "61800.3");
        assert_eq!(format_fixed(500_000_000, 0), "5");
        assert_eq!(format_fixed(1, 2), "0.00000001");
        let mut out = b"x=".to_vec();
        write_fixed(123_450_000, 3, &mut out);
        assert_eq!(out, b"x=1.2345");
        assert_eq!(fraction_digits(b"10"), 0);
        assert_eq!(fraction_digits(b"0.00000000000"), 8);
        assert_eq!(fraction_digits(b"61800.30"), 2);
        for (value, decimals) in [(1, 8), (100_000_000, 1), (987_654_321, 4)] {
            let text = format_fixed(value, decimals);
            assert_eq!(parse_fixed(text.as_bytes()), Ok(value), "{text}");
        }
    }
}
