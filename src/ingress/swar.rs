//! Word-at-a-time byte tricks (SWAR: SIMD within a register) for the aggTrade scanners: eight
//! bytes of a frame read as one little-endian `u64` (first byte lowest) and classified or
//! converted together, in portable integer arithmetic on stable Rust.

/// The 8 bytes of `b` from `at` on as a little-endian word, if they exist.
#[inline(always)]
pub(super) fn word_at(b: &[u8], at: usize) -> Option<u64> {
    let bytes: &[u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(*bytes))
}

/// `0x01` in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The high bit of every byte.
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Flags (high bit set) the bytes of `w` equal to `b`. Borrows can also flag bytes above the
/// lowest true one, so only the lowest flag is exact: the callers only use that one.
#[inline(always)]
fn bytes_eq(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Flags the bytes of `w` below `n` (`n <= 128`); the lowest flag is exact, as above.
#[inline(always)]
fn bytes_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS
}

/// Flags the bytes of `w` a plain string cannot hold: `"`, `\\`, control bytes, non-ASCII.
/// The lowest flag is exact (see [`bytes_eq`]).
#[inline(always)]
pub(super) fn string_specials(w: u64) -> u64 {
    bytes_eq(w, b'"') | bytes_eq(w, b'\\') | bytes_below(w, 0x20) | (w & HIGHS)
}

/// How many of the first bytes of `w` (lowest first) are ASCII digits, 0 to 8.
#[inline(always)]
pub(super) fn leading_digits(w: u64) -> usize {
    // A byte is a digit iff its high nibble is 3 and adding 6 keeps it 3 (so the low nibble
    // is at most 9). The carry of `+ 6` out of a byte >= 0xFA can disturb only later bytes, and
    // that byte is itself a non-digit, so the first non-digit is still found exactly.
    let t = (w & 0xF0F0_F0F0_F0F0_F0F0)
        | ((w.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) >> 4);
    let non_digit = t ^ 0x3333_3333_3333_3333;
    (non_digit.trailing_zeros() / 8) as usize
}

/// How many of the 16 bytes of `b` from `at` are ASCII digits before the first that is not
/// (0 to 16), if there are 16 bytes: the portable twin of the SSE2 version.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(super) fn digit_run_at(b: &[u8], at: usize) -> Option<usize> {
    let (w1, w2) = (word_at(b, at)?, word_at(b, at.checked_add(8)?)?);
    let n = leading_digits(w1);
    Some(if n < 8 { n } else { 8 + leading_digits(w2) })
}

/// The offset of the first of the 16 bytes of `b` from `at` that a plain string cannot hold,
/// 16 if none, if there are 16 bytes: the portable twin of the SSE2 version.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(super) fn string_end_at(b: &[u8], at: usize) -> Option<usize> {
    let (w1, w2) = (word_at(b, at)?, word_at(b, at.checked_add(8)?)?);
    let specials = u128::from(string_specials(w1)) | u128::from(string_specials(w2)) << 64;
    Some((specials.trailing_zeros() / 8).min(16) as usize)
}

/// The value of 8 ASCII digits packed little-endian (first digit lowest); zero bytes in the
/// lowest positions read as leading zeros. Three multiply-shift steps combine pairs, then
/// fours, then the two halves.
#[inline(always)]
pub(super) fn eight_digits(w: u64) -> u64 {
    let w = w & 0x0F0F_0F0F_0F0F_0F0F;
    let w = (w.wrapping_mul(10 << 8 | 1) >> 8) & 0x00FF_00FF_00FF_00FF;
    let w = (w.wrapping_mul(100 << 16 | 1) >> 16) & 0x0000_FFFF_0000_FFFF;
    w.wrapping_mul(10_000 << 32 | 1) >> 32
}

/// The value of the first `n` (1 to 16) digits of `w1` then `w2`.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(super) fn digits_value(w1: u64, w2: u64, n: usize) -> u64 {
    if n <= 8 {
        // The digits shifted to the top bytes; the zero bytes below read as leading zeros.
        eight_digits(w1 << (8 * (8 - n)))
    } else {
        eight_digits(w1) * crate::decimal::POW10[n - 8] + eight_digits(w2 << (8 * (16 - n)))
    }
}

/// `high * 10^8 + low`, each word 8 digits or zero bytes (read as zeros): the portable twin
/// of the SSE2 version.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(super) fn eight_digit_pair(high: u64, low: u64) -> u64 {
    eight_digits(high) * crate::decimal::ONE as u64 + eight_digits(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_helpers_match_bytewise_definitions() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Bias bytes towards digits and the specials so every branch is hit.
            let mut w = x;
            for k in 0..8 {
                if (x >> (k + 56)) & 1 == 1 {
                    let b = b"0123456789\"\\\x1f "[((x >> (8 * k)) % 14) as usize];
                    w = (w & !(0xFF << (8 * k))) | (u64::from(b) << (8 * k));
                }
            }
            let bytes = w.to_le_bytes();
            let n = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            assert_eq!(leading_digits(w), n, "{bytes:?}");
            if n > 0 {
                let text = std::str::from_utf8(&bytes[..n]).unwrap();
                assert_eq!(
                    eight_digits(w << (8 * (8 - n))),
                    text.parse::<u64>().unwrap()
                );
                // As a fraction: the digits first, zero bytes after.
                let fraction = w & (u64::MAX >> (8 * (8 - n)));
                let scaled = text.parse::<u64>().unwrap() * 10u64.pow(8 - n as u32);
                assert_eq!(eight_digit_pair(w << (8 * (8 - n)), fraction), {
                    text.parse::<u64>().unwrap() * 100_000_000 + scaled
                });
            }
            let special = string_specials(w);
            let first = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b));
            assert_eq!(
                (special != 0).then(|| special.trailing_zeros() as usize / 8),
                first
            );
            let mut two = bytes.to_vec();
            two.extend_from_slice(&x.rotate_left(29).to_le_bytes());
            let digits = two.iter().take_while(|b| b.is_ascii_digit()).count();
            assert_eq!(digit_run_at(&two, 0), Some(digits));
            let end = two
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b));
            assert_eq!(string_end_at(&two, 0), Some(end.unwrap_or(16)));
            assert_eq!(string_end_at(&two, 1), None);
            if (1..=16).contains(&digits) {
                let text = std::str::from_utf8(&two[..digits]).unwrap();
                let (w1, w2) = (word_at(&two, 0).unwrap(), word_at(&two, 8).unwrap());
                assert_eq!(digits_value(w1, w2, digits), text.parse::<u64>().unwrap());
            }
        }
    }
}
