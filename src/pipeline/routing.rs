//! Which shard owns a symbol: global index `i` lives on shard `i % shards` as local index
//! `i / shards`, so symbols added at run time spread over the shards without a table.

/// The shard and the shard-local index of a global symbol index.
#[inline]
pub fn route(global: u32, shards: usize) -> (usize, u32) {
    let n = shards as u32;
    ((global % n) as usize, global / n)
}

/// The global index of a shard-local index: the inverse of [`route`].
#[inline]
pub fn global_index(shard: usize, local: u32, shards: usize) -> u32 {
    local * shards as u32 + shard as u32
}

/// Symbols each shard must hold room for, so that every global index below `max_symbols`
/// has a slot.
pub fn shard_capacity(max_symbols: u32, shards: usize) -> u32 {
    max_symbols.div_ceil(shards as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_and_global_index_are_inverse_and_fit_the_capacity() {
        for shards in 1..=5 {
            let capacity = shard_capacity(103, shards);
            for global in 0..103 {
                let (shard, local) = route(global, shards);
                assert!(shard < shards && local < capacity);
                assert_eq!(global_index(shard, local, shards), global);
            }
        }
        assert_eq!(route(7, 2), (1, 3));
    }
}
