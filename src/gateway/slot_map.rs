//! Maps keyed by a slot (symbol index, interval index), hashed by a multiply-xorshift mix:
//! every kline a pull brings is looked up among the subscribers, so the default SipHash (built
//! to resist chosen keys, which engine indices are not) would cost more than the lookup. The table takes the hash's low bits for the
//! bucket and its top bits for the tag, so the mix spreads every key bit over both.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by slots (or by slots and small enums), with [`SlotHasher`].
pub type SlotMap<K, V> = HashMap<K, V, BuildHasherDefault<SlotHasher>>;

/// Hashes the integers of a slot key (the finalizer of MurmurHash3's 64-bit hash).
#[derive(Debug, Default, Clone, Copy)]
pub struct SlotHasher(u64);

impl Hasher for SlotHasher {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u16(&mut self, n: u16) {
        self.0 = (self.0 << 16) ^ u64::from(n);
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 << 32) ^ u64::from(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::history::SlotKey;

    #[test]
    fn distinct_slots_get_distinct_hashes_and_the_map_works() {
        let mut map: SlotMap<SlotKey, u32> = SlotMap::default();
        for symbol in 0..500u32 {
            for interval in 0..16u16 {
                map.insert((symbol, interval), symbol * 16 + u32::from(interval));
            }
        }
        assert_eq!(map.len(), 8_000);
        assert_eq!(map.get(&(123, 7)), Some(&(123 * 16 + 7)));
        let hash = |key: SlotKey| {
            use std::hash::BuildHasher;
            BuildHasherDefault::<SlotHasher>::default().hash_one(key)
        };
        assert_ne!(hash((1, 0)), hash((0, 1)));
        // The low bits pick the bucket: keys differing only in the symbol must spread there.
        let buckets: std::collections::HashSet<u64> =
            (0..256u32).map(|symbol| hash((symbol, 3)) & 0xff).collect();
        assert!(buckets.len() > 128, "{} buckets", buckets.len());
    }
}
