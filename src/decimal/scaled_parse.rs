//! Exact decimal text of any scale read back as an `i128`: the inverse of
//! [`super::write_scaled`], for sums such as quote volumes that carry more than 8 fractional
//! digits (REST klines, the database's columns).

/// Reads `-?[0-9]+(\.[0-9]+)?` as an integer count of `10^-scale`, exactly.
///
/// Fractional digits past `scale` are accepted only when they are zeros, since anything else
/// cannot be held without rounding. Returns `None` for any other text or a value outside `i128`.
pub fn parse_scaled(text: &str, scale: u32) -> Option<i128> {
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

    #[test]
    fn accepts_short_fractions_and_trailing_zeros() {
        assert_eq!(parse_scaled("1", 8), Some(100_000_000));
        assert_eq!(parse_scaled("0.5", 16), Some(5_000_000_000_000_000));
        assert_eq!(parse_scaled("2.000000000000", 8), Some(200_000_000));
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
            assert_eq!(parse_scaled(bad, 8), None, "{bad:?}");
        }
        // One past i128::MAX.
        assert_eq!(
            parse_scaled("170141183460469231731687303715884105728", 0),
            None
        );
        assert_eq!(
            parse_scaled("-170141183460469231731687303715884105728", 0),
            Some(i128::MIN)
        );
    }
}
