//! A frame's structure in one pass over 16-byte blocks: where its colons are (a bitmask), how
//! many `"` it holds, and whether every byte may stand in a plain JSON string.
//!
//! The aggTrade reader ([`super::agg_trade_layout`]) takes every value's bounds from the colon
//! mask instead of finding each value's end before it can look for the next one, so its field
//! reads no longer wait on each other. The blocks are classified independently of each other,
//! with SSE2 (part of every x86_64 CPU) on x86_64 and with word arithmetic elsewhere; both give
//! the same answer, which the tests check.

/// Longest frame classified: five 64-bit words of colon bits. A combined USD-M aggTrade is
/// about 200-260 bytes; longer frames are left to the general scanner.
pub(super) const MAX_FRAME: usize = 64 * WORDS;

/// Words of the colon mask.
const WORDS: usize = 5;

/// What the reader needs to know of a frame before reading any value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Structure {
    /// Bit `i % 64` of word `i / 64` is set when byte `i` is `:`.
    pub colons: [u64; WORDS],
    /// How many bytes are `"`.
    pub quotes: u32,
    /// No byte is a control byte, `\` or non-ASCII: every string of the frame is plain
    /// ASCII without escapes, whatever its bounds.
    pub plain: bool,
}

impl Structure {
    /// The offsets of the colons, in order, into `out`; how many there are in all. Only the
    /// first `out.len() - 8` are sure to be written; past them `out` holds garbage.
    #[inline(always)]
    pub fn colon_offsets(&self, out: &mut [u32; 32]) -> usize {
        let mut n = 0;
        for (w, &word) in self.colons.iter().enumerate() {
            let base = (w * 64) as u32;
            let count = word.count_ones() as usize;
            let mut bits = word;
            // Six slots unconditionally, without a branch per colon (an aggTrade has at most
            // five colons in 64 bytes); the slots past `count` are overwritten by the next
            // word's. The top bit keeps `trailing_zeros` off its zero case, which costs a
            // branch or a select; it only answers for an empty slot.
            for j in 0..6 {
                out[(n + j) % 32] = base + (bits | 1 << 63).trailing_zeros();
                bits &= bits.wrapping_sub(1);
            }
            // More colons in 64 bytes: not an aggTrade, but exact all the same.
            let mut j = 6;
            while bits != 0 {
                out[(n + j) % 32] = base + bits.trailing_zeros();
                bits &= bits - 1;
                j += 1;
            }
            n += count;
        }
        n
    }
}

/// The structure of `frame`, if it is 16 to [`MAX_FRAME`] bytes long.
#[inline(always)]
pub(super) fn classify(frame: &[u8]) -> Option<Structure> {
    if !(16..=MAX_FRAME).contains(&frame.len()) {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        Some(sse2::classify(frame))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Some(portable::classify(frame))
    }
}

/// The colon mask of `frame` from `f`, which classifies one block of 16 bytes and answers the
/// colon bits of its new bytes: every whole block, then, if the length is not a multiple of 16,
/// the last 16 bytes, of which the `skip` first were classified already. The bits of 64 bytes
/// are put together in a register and stored once.
#[inline(always)]
fn colon_words(frame: &[u8], mut f: impl FnMut(&[u8; 16], usize) -> u64) -> [u64; WORDS] {
    let mut colons = [0u64; WORDS];
    let mut chunks = frame.chunks_exact(64);
    let mut w = 0;
    for (chunk, slot) in (&mut chunks).zip(colons.iter_mut()) {
        let mut word = 0;
        for (k, block) in chunk.chunks_exact(16).enumerate() {
            if let Ok(block) = block.try_into() {
                word |= f(block, 0) << (16 * k);
            }
        }
        *slot = word;
        w += 1;
    }
    let mut blocks = chunks.remainder().chunks_exact(16);
    let mut word = 0;
    let mut k = 0;
    for block in &mut blocks {
        if let Ok(block) = block.try_into() {
            word |= f(block, 0) << (16 * k);
        }
        k += 1;
    }
    let rest = blocks.remainder().len();
    // The frame has at least 16 bytes, so its last 16 exist.
    if rest != 0
        && let Some(Ok(block)) = frame.get(frame.len() - 16..).map(<&[u8; 16]>::try_from)
    {
        word |= f(block, 16 - rest) << (16 * k);
    }
    if let Some(slot) = colons.get_mut(w) {
        *slot = word;
    }
    colons
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::{Structure, colon_words};
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_cvtsi128_si64, _mm_loadu_si128,
        _mm_movemask_epi8, _mm_or_si128, _mm_sad_epu8, _mm_set1_epi8, _mm_setzero_si128,
        _mm_srli_si128, _mm_sub_epi8,
    };

    /// Classifies 16 bytes at a time: one compare per byte class, one `movemask` for the
    /// colons, per-lane counters for the quotes, an OR for the bytes that are not plain.
    #[inline(always)]
    pub(super) fn classify(frame: &[u8]) -> Structure {
        // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are available on
        // every x86_64 CPU; `_mm_loadu_si128` reads 16 bytes from a `&[u8; 16]`, so it stays
        // inside the frame, and it accepts any alignment. Everything else works on registers.
        unsafe {
            let colon = _mm_set1_epi8(b':' as i8);
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            // Signed: below 0x20 are the control bytes and, as negatives, the non-ASCII ones.
            let space = _mm_set1_epi8(0x20);
            let mut quotes = _mm_setzero_si128();
            let mut bad = _mm_setzero_si128();
            let colons = colon_words(frame, |block, skip| {
                let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
                let c = _mm_cmpeq_epi8(v, colon);
                let q = _mm_cmpeq_epi8(v, quote);
                let x = _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, backslash));
                let (c, q, x) = if skip == 0 {
                    (c, q, x)
                } else {
                    // Only the tail block overlaps classified bytes: keep its new lanes.
                    let keep = new_lanes(skip);
                    (c, and(q, keep), and(x, keep))
                };
                // Each matching lane is -1: subtracting counts it (at most 20 per lane).
                quotes = _mm_sub_epi8(quotes, q);
                bad = _mm_or_si128(bad, x);
                (_mm_movemask_epi8(c) as u32 >> skip) as u64
            });
            let sums = _mm_sad_epu8(quotes, _mm_setzero_si128());
            let quotes =
                (_mm_cvtsi128_si64(sums) + _mm_cvtsi128_si64(_mm_srli_si128(sums, 8))) as u32;
            Structure {
                colons,
                quotes,
                plain: _mm_movemask_epi8(bad) == 0,
            }
        }
    }

    /// All-ones in lanes `skip..16`, zero below.
    #[inline(always)]
    unsafe fn new_lanes(skip: usize) -> __m128i {
        const IOTA: [i8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
        // SAFETY: SSE2 is baseline on x86_64; the load reads the 16-byte constant.
        unsafe {
            let iota = _mm_loadu_si128(IOTA.as_ptr().cast::<__m128i>());
            // `skip` is 1 to 15: lanes at or above it compare greater than `skip - 1`.
            core::arch::x86_64::_mm_cmpgt_epi8(iota, _mm_set1_epi8(skip as i8 - 1))
        }
    }

    #[inline(always)]
    unsafe fn and(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is baseline on x86_64.
        unsafe { core::arch::x86_64::_mm_and_si128(a, b) }
    }
}

/// The same classification in portable word arithmetic, for other targets (and, in the tests,
/// as the reference the SSE2 version is checked against).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
mod portable {
    use super::{Structure, colon_words};

    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOWS: u64 = 0x7F7F_7F7F_7F7F_7F7F;

    /// The high bit of every byte of `w` that is zero, exactly (no borrow crosses bytes).
    #[inline(always)]
    fn zero_bytes(w: u64) -> u64 {
        !(((w & LOWS) + LOWS) | w | LOWS)
    }

    /// The high bit of every byte of `w` equal to `b`.
    #[inline(always)]
    fn eq_bytes(w: u64, b: u8) -> u64 {
        zero_bytes(w ^ (ONES * u64::from(b)))
    }

    /// One bit per byte from the high bits of `flags` (bit `i` for byte `i`).
    #[inline(always)]
    fn gather(flags: u64) -> u64 {
        ((flags >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
    }

    /// Classifies 8 bytes at a time.
    pub(super) fn classify(frame: &[u8]) -> Structure {
        let mut quotes = 0;
        let mut bad = 0;
        let colons = colon_words(frame, |block, skip| {
            let mut bits = 0u64;
            let mut q = 0u64;
            let mut x = 0u64;
            for (half, bytes) in block.chunks_exact(8).enumerate() {
                let mut word = [0u8; 8];
                word.copy_from_slice(bytes);
                let w = u64::from_le_bytes(word);
                bits |= gather(eq_bytes(w, b':')) << (8 * half);
                q |= gather(eq_bytes(w, b'"')) << (8 * half);
                // Below 0x20 (high nibble pair 0 or 1), `\`, or the high bit set.
                let control = zero_bytes(w & 0xE0E0_E0E0_E0E0_E0E0);
                x |= gather(control | eq_bytes(w, b'\\') | (w & !LOWS)) << (8 * half);
            }
            quotes += (q >> skip).count_ones();
            bad |= x >> skip;
            bits >> skip
        });
        Structure {
            colons,
            quotes,
            plain: bad == 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, byte by byte.
    fn reference(frame: &[u8]) -> Structure {
        let mut colons = [0u64; WORDS];
        for (i, _) in frame.iter().enumerate().filter(|(_, b)| **b == b':') {
            colons[i / 64] |= 1 << (i % 64);
        }
        Structure {
            colons,
            quotes: frame.iter().filter(|b| **b == b'"').count() as u32,
            plain: frame
                .iter()
                .all(|&b| (0x20..0x80).contains(&b) && b != b'\\'),
        }
    }

    #[test]
    fn every_length_and_byte_class_matches_the_definition() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let alphabet = b":\"\\\x1f\x20\x7f\x80\xff09aZ,{}";
        for round in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % (MAX_FRAME as u64 + 8)) as usize;
            let frame: Vec<u8> = (0..len)
                .map(|i| {
                    let r = x.rotate_left((i % 64) as u32) ^ (i as u64 * 0x9E37) ^ round;
                    // Mostly plain letters, so that `plain` is sometimes true.
                    if r % 7 == 0 {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    } else {
                        b'a' + (r >> 16) as u8 % 26
                    }
                })
                .collect();
            let want = (16..=MAX_FRAME).contains(&len).then(|| reference(&frame));
            assert_eq!(classify(&frame), want, "{frame:?}");
            if let Some(want) = want {
                assert_eq!(portable::classify(&frame), want, "{frame:?}");
                let mut out = [0u32; 32];
                let n = want.colon_offsets(&mut out);
                let positions: Vec<u32> = (0..len as u32)
                    .filter(|&i| frame[i as usize] == b':')
                    .collect();
                assert_eq!(n, positions.len());
                assert_eq!(&out[..n.min(24)], &positions[..n.min(24)]);
            }
        }
    }
}
