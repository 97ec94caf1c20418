//! The value of up to 16 ASCII digits with SSE2 (part of every x86_64 CPU): a handful of vector
//! instructions and one scalar multiply, where the word-at-a-time conversion of
//! [`super::swar::eight_digits`] needs three multiplies per eight digits. The aggTrade reader's
//! conversions are throughput bound, and the scalar multiplier is the port they queue for.

use core::arch::x86_64::{
    __m128i, _mm_and_si128, _mm_cvtsi128_si64, _mm_loadu_si128, _mm_madd_epi16, _mm_mullo_epi16,
    _mm_packs_epi32, _mm_set_epi64x, _mm_set1_epi8, _mm_set1_epi16, _mm_set1_epi32, _mm_srli_epi16,
    _mm_sub_epi8,
};

/// Sixteen zero bytes then sixteen 0xFF: the 16 bytes from offset `n` keep the last `n` lanes.
static LAST_LANES: [u8; 32] = {
    let mut m = [0u8; 32];
    let mut i = 16;
    while i < 32 {
        m[i] = 0xFF;
        i += 1;
    }
    m
};

/// `high * 10^8 + low`, where each word holds 8 bytes that are ASCII digits (first digit
/// lowest) or zero bytes (read as 0 digits): the integer and fraction of a decimal at once.
#[inline(always)]
pub(super) fn eight_digit_pair(high: u64, low: u64) -> u64 {
    // SAFETY: SSE2 is part of the x86_64 baseline; all of this works on registers.
    unsafe {
        combine(_mm_and_si128(
            _mm_set_epi64x(low as i64, high as i64),
            _mm_set1_epi8(0x0F),
        ))
    }
}

/// `high * 10^8 + low` for 16 digit values (0 to 9) in bytes, the first 8 `high`'s.
#[inline(always)]
unsafe fn combine(d: __m128i) -> u64 {
    // SAFETY: SSE2 is part of the x86_64 baseline; all of this works on registers.
    let (high, low) = unsafe {
        // Each 16-bit lane holds digits a (low byte) then b: (lane * 0x0A01) mod 2^16 has
        // 10a + b in its high byte.
        let pairs = _mm_srli_epi16(_mm_mullo_epi16(d, _mm_set1_epi16(0x0A01)), 8);
        // 100 * first pair + second, per 32-bit lane (the multipliers as 16-bit halves).
        let fours = _mm_madd_epi16(pairs, _mm_set1_epi32(0x0001_0064));
        // 10,000 * first four + second: the first 8 digits, then the last 8.
        let eights = _mm_madd_epi16(_mm_packs_epi32(fours, fours), _mm_set1_epi32(0x0001_2710));
        let both = _mm_cvtsi128_si64(eights) as u64;
        (both & 0xFFFF_FFFF, both >> 32)
    };
    high.wrapping_mul(100_000_000).wrapping_add(low)
}

/// The value of the last `n` (0 to 16) bytes of `block`, read as decimal digits. Only digits
/// give a meaningful answer (the caller checks them); other bytes give some number, never a
/// panic.
#[inline(always)]
pub(super) fn last_digits_value(block: &[u8; 16], n: usize) -> u64 {
    let keep: &[u8; 16] = match LAST_LANES.get(n..n + 16).map(<&[u8; 16]>::try_from) {
        Some(Ok(keep)) => keep,
        _ => return 0,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics exist on every CPU this
    // compiles for; both loads read 16 bytes from a `&[u8; 16]` and accept any alignment.
    // Everything else works on registers.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
        let keep = _mm_loadu_si128(keep.as_ptr().cast::<__m128i>());
        // One digit per byte, zero in the lanes before the number.
        combine(_mm_and_si128(
            _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8)),
            keep,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_of_digits_after_any_bytes() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 17) as usize;
            let mut block = [0u8; 16];
            for (i, b) in block.iter_mut().enumerate() {
                let r = (x >> (i * 4)) as u8;
                *b = if i >= 16 - n {
                    b'0' + r % 10
                } else {
                    r.wrapping_mul(31)
                };
            }
            let text = std::str::from_utf8(&block[16 - n..]).unwrap();
            let want = if n == 0 {
                0
            } else {
                text.parse::<u64>().unwrap()
            };
            assert_eq!(last_digits_value(&block, n), want, "{block:?} {n}");
        }
        assert_eq!(
            last_digits_value(b"9999999999999999", 16),
            9_999_999_999_999_999
        );
        assert_eq!(last_digits_value(b"xxxxxxxxxxxxxxxx", 17), 0);
    }

    #[test]
    fn pairs_of_eight_digits_with_zero_bytes_as_zeros() {
        let word = |s: &[u8]| {
            let mut w = [0u8; 8];
            w[..s.len()].copy_from_slice(s);
            u64::from_le_bytes(w)
        };
        assert_eq!(
            eight_digit_pair(word(b"12345678"), word(b"87654321")),
            1_234_567_887_654_321
        );
        assert_eq!(
            eight_digit_pair(word(b"99999999"), word(b"99999999")),
            9_999_999_999_999_999
        );
        // `37000.1`: the integer right-aligned (zero bytes first), the fraction left-aligned.
        assert_eq!(
            eight_digit_pair(word(b"37000") << 24, word(b"1")),
            3_700_010_000_000
        );
        assert_eq!(eight_digit_pair(0, 0), 0);
    }
}
