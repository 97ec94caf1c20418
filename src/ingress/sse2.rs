//! The positional aggTrade reader's byte work in SSE2 (part of every x86_64 CPU), 16 bytes per
//! instruction: how many digits start here, where a plain string ends, and the value of up to
//! 16 digits with a handful of vector instructions and one scalar multiply (the word-at-a-time
//! conversion of [`super::swar::eight_digits`] needs three per eight digits). The reader is
//! throughput bound, so fewer instructions per field is what makes it faster.

use core::arch::x86_64::{
    __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_cvtsi128_si64, _mm_loadu_si128,
    _mm_madd_epi16, _mm_max_epu8, _mm_movemask_epi8, _mm_mullo_epi16, _mm_or_si128,
    _mm_packs_epi32, _mm_set_epi64x, _mm_set1_epi8, _mm_set1_epi16, _mm_set1_epi32, _mm_srli_epi16,
    _mm_sub_epi8,
};

/// The 16 bytes of `b` from `at`, if there are that many.
#[inline(always)]
fn block_at(b: &[u8], at: usize) -> Option<&[u8; 16]> {
    b.get(at..at.checked_add(16)?)?.try_into().ok()
}

/// The 16 bytes of `block` in a register.
#[inline(always)]
fn load(block: &[u8; 16]) -> __m128i {
    // SAFETY: SSE2 is part of the x86_64 baseline; the load reads exactly the 16 bytes `block`
    // borrows, and accepts any alignment.
    unsafe { _mm_loadu_si128(block.as_ptr().cast::<__m128i>()) }
}

/// How many of the 16 bytes of `b` from `at` are ASCII digits before the first that is not
/// (0 to 16), if there are 16 bytes.
#[inline(always)]
pub(super) fn digit_run_at(b: &[u8], at: usize) -> Option<usize> {
    let v = load(block_at(b, at)?);
    // SAFETY: SSE2 is part of the x86_64 baseline; all of this works on registers.
    let digits = unsafe {
        // A digit is at most 9 above `0` (unsigned, so bytes below `0` wrap high).
        let d = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
        let nine = _mm_set1_epi8(9);
        _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(d, nine), nine)) as u32
    };
    // Bit 16 stops the count when all 16 are digits.
    Some((!digits | 1 << 16).trailing_zeros() as usize)
}

/// The offset of the first of the 16 bytes of `b` from `at` that a plain string cannot hold
/// (`"`, `\`, a control byte or non-ASCII), 16 if none, if there are 16 bytes.
#[inline(always)]
pub(super) fn string_end_at(b: &[u8], at: usize) -> Option<usize> {
    let v = load(block_at(b, at)?);
    // SAFETY: SSE2 is part of the x86_64 baseline; all of this works on registers.
    let specials = unsafe {
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Signed: below 0x20 are the control bytes and, as negatives, the non-ASCII ones.
        let low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), low)) as u32
    };
    Some((specials | 1 << 16).trailing_zeros() as usize)
}

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
    let digits =
        unsafe { _mm_and_si128(_mm_set_epi64x(low as i64, high as i64), _mm_set1_epi8(0x0F)) };
    combine(digits)
}

/// `high * 10^8 + low` for 16 digit values (0 to 9) in bytes, the first 8 `high`'s.
#[inline(always)]
fn combine(d: __m128i) -> u64 {
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
    let (v, keep) = (load(block), load(keep));
    // SAFETY: SSE2 is part of the x86_64 baseline; all of this works on registers.
    let digits = unsafe {
        // One digit per byte, zero in the lanes before the number.
        _mm_and_si128(_mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8)), keep)
    };
    combine(digits)
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
    fn digit_runs_and_string_ends_match_bytewise_definitions() {
        let alphabet = b"0123456789/:\"\\\x00\x1f \x7f\x80\xffaZ.,";
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| {
                    let r = x.rotate_left(5 * i as u32);
                    // Long runs of digits or of plain letters, now and then anything.
                    match r % 8 {
                        0 => alphabet[(r >> 8) as usize % alphabet.len()],
                        1..4 => b'0' + (r >> 16) as u8 % 10,
                        _ => b'a' + (r >> 16) as u8 % 26,
                    }
                })
                .collect();
            for at in 0..len + 2 {
                let block = bytes.get(at..at + 16);
                let digits = block.map(|s| s.iter().take_while(|b| b.is_ascii_digit()).count());
                assert_eq!(digit_run_at(&bytes, at), digits, "{bytes:?} {at}");
                let end = block.map(|s| {
                    s.iter()
                        .position(|&b| b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b))
                        .unwrap_or(16)
                });
                assert_eq!(string_end_at(&bytes, at), end, "{bytes:?} {at}");
            }
        }
        assert_eq!(digit_run_at(&[b'1'; 16], usize::MAX), None);
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
