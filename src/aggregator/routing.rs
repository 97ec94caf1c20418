//! Which shard owns a symbol: global index `i` lives on shard `i % n` at local index `i / n`.
//!
//! Round-robin keeps shards balanced as symbols are added at run time without moving any
//! symbol already placed, and needs no table: io threads route with two integer operations.

/// The shard owning global symbol index `global_index`, and the symbol's index inside it.
/// `n_shards` must be at least 1.
#[must_use]
#[inline]
pub fn shard_of(global_index: u32, n_shards: usize) -> (usize, u32) {
    // u32 -> usize is lossless on every target klagg runs on (32 and 64 bit), and the local
    // index is at most the global one, so it fits u32 again.
    let index = global_index as usize;
    (index % n_shards, (index / n_shards) as u32)
}

/// The global index of shard `shard`'s local index `local`: the inverse of [`shard_of`].
#[must_use]
#[inline]
pub fn global_index(shard: usize, local: u32, n_shards: usize) -> u32 {
    (local as usize * n_shards + shard) as u32
}

/// Symbols each of `n_shards` shards must hold room for, so that every global index below
/// `max_symbols` has a slot.
#[must_use]
pub fn shard_capacity(max_symbols: u32, n_shards: usize) -> u32 {
    max_symbols.div_ceil(u32::try_from(n_shards.max(1)).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_of_is_round_robin() {
        assert_eq!(shard_of(0, 1), (0, 0));
        assert_eq!(shard_of(7, 1), (0, 7));
        assert_eq!(shard_of(6, 2), (0, 3));
        assert_eq!(shard_of(7, 2), (1, 3));
        assert_eq!(shard_of(u32::MAX, 3), (0, u32::MAX / 3));
    }

    #[test]
    fn global_index_inverts_shard_of_within_capacity() {
        for shards in 1..=5 {
            let capacity = shard_capacity(103, shards);
            for global in 0..103 {
                let (shard, local) = shard_of(global, shards);
                assert!(shard < shards && local < capacity);
                assert_eq!(global_index(shard, local, shards), global);
            }
        }
    }
}
