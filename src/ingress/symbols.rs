//! Symbol name -> dense global index, for the io thread that owns it.
//!
//! Every trade needs this lookup, so it must cost a few nanoseconds and never allocate, lock or
//! hash a string. Names are compared as bytes, so any UTF-8 name works alike: names of up to 16
//! bytes (nearly every Binance symbol, `币安人生USDT` included: four 3-byte characters and
//! `USDT`) are packed into a `u128` and found in a small open-addressing table by integer
//! mixing and linear probing; the table is sized once for `max_symbols` and never grows, so a
//! lookup touches one or two cache lines. Longer names (`我踏马来了USDT` has 19 bytes) go to a
//! sorted side list searched by binary search: correct, if slower.
//!
//! Each slot also holds the symbol's [`Route`], its shard and its index there, computed once
//! when the symbol is added (or the shard count set) instead of a division per trade.

use std::fmt;

use crate::aggregator::routing::shard_of;
use crate::symbol_name::{self, SymbolNameError};

/// Where a symbol's trades go: its global index, and the shard that owns it with the symbol's
/// index inside that shard (see [`crate::aggregator::routing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Route {
    /// Dense global symbol index.
    pub global: u32,
    /// The shard owning the symbol.
    pub shard: u32,
    /// The symbol's index inside that shard.
    pub local: u32,
}

impl Route {
    /// The route of global index `global` over `shards` shards.
    #[inline]
    pub fn new(global: u32, shards: usize) -> Route {
        let (shard, local) = shard_of(global, shards);
        Route {
            global,
            // A shard index is below the shard count, which is a handful of cores.
            shard: shard as u32,
            local,
        }
    }
}

/// Longest name that fits the packed `u128` key.
const PACKED_MAX: usize = 16;

/// Why a symbol could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolTableError {
    /// The table already holds `max_symbols` names.
    Full {
        /// The `max_symbols` the table was built for.
        capacity: usize,
    },
    /// The name is already in the table (with the index given).
    Duplicate {
        /// Index the name already maps to.
        index: u32,
    },
    /// The name breaks the rule of [`crate::symbol_name`].
    InvalidName(SymbolNameError),
}

impl fmt::Display for SymbolTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SymbolTableError::Full { capacity } => {
                write!(
                    f,
                    "symbol table is full ({capacity} symbols, see max_symbols)"
                )
            }
            SymbolTableError::Duplicate { index } => {
                write!(f, "symbol is already in the table (index {index})")
            }
            SymbolTableError::InvalidName(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SymbolTableError {}

/// One slot of the open-addressing table; `len == 0` marks it empty (names are never empty).
///
/// The length is kept next to the key because zero padding alone cannot tell `"BTC"` from
/// `"BTC\0"`: a looked-up byte string may contain NUL even though stored names cannot.
#[derive(Clone, Copy, Default)]
struct Slot {
    lo: u64,
    hi: u64,
    route: Route,
    len: u32,
}

/// Symbol name -> dense global index, with a fixed capacity chosen at construction.
///
/// Owned by one thread: no lock, no interior mutability. Inserting is the cold path and may
/// allocate (long names only); [`SymbolTable::get`] never allocates.
#[derive(Clone)]
pub struct SymbolTable {
    slots: Box<[Slot]>,
    /// `slots.len() - 1`; the slot count is a power of two.
    mask: usize,
    /// `64 - log2(slots.len())`: the hash's top bits pick the home slot.
    shift: u32,
    /// Names longer than [`PACKED_MAX`], sorted by name.
    long: Vec<(Box<[u8]>, u32)>,
    len: usize,
    capacity: usize,
    /// Shards the routes are computed for.
    shards: usize,
}

impl SymbolTable {
    /// An empty table for at most `max_symbols` names.
    ///
    /// The slot array is at least twice `max_symbols` (a power of two) so probes stay short even
    /// when the table is full.
    pub fn with_capacity(max_symbols: usize) -> Self {
        let n_slots = max_symbols.saturating_mul(2).max(2).next_power_of_two();
        SymbolTable {
            slots: vec![Slot::default(); n_slots].into_boxed_slice(),
            mask: n_slots - 1,
            shift: 64 - n_slots.trailing_zeros(),
            long: Vec::new(),
            len: 0,
            capacity: max_symbols,
            shards: 1,
        }
    }

    /// Routes every symbol, present and future, over `shards` shards (at least 1; a new
    /// table routes everything to shard 0).
    pub fn set_shards(&mut self, shards: usize) {
        self.shards = shards.max(1);
        for slot in self.slots.iter_mut().filter(|s| s.len != 0) {
            slot.route = Route::new(slot.route.global, self.shards);
        }
    }

    /// Adds `name` with global index `index`.
    ///
    /// # Errors
    ///
    /// [`SymbolTableError::InvalidName`] unless `name` passes [`symbol_name::check`],
    /// [`SymbolTableError::Duplicate`] if it is already present and
    /// [`SymbolTableError::Full`] once `max_symbols` names are in.
    pub fn insert(&mut self, name: &str, index: u32) -> Result<(), SymbolTableError> {
        symbol_name::check(name).map_err(SymbolTableError::InvalidName)?;
        let bytes = name.as_bytes();
        if let Some(existing) = self.get(bytes) {
            return Err(SymbolTableError::Duplicate { index: existing });
        }
        if self.len >= self.capacity {
            return Err(SymbolTableError::Full {
                capacity: self.capacity,
            });
        }
        if bytes.len() <= PACKED_MAX {
            let (lo, hi) = pack(bytes);
            // The table is at least half empty, so this finds a free slot.
            let mut at = self.home(lo, hi);
            while self.slots[at].len != 0 {
                at = (at + 1) & self.mask;
            }
            self.slots[at] = Slot {
                lo,
                hi,
                route: Route::new(index, self.shards),
                len: bytes.len() as u32,
            };
        } else {
            let at = self.long.partition_point(|(n, _)| &n[..] < bytes);
            self.long.insert(at, (bytes.into(), index));
        }
        self.len += 1;
        Ok(())
    }

    /// The index of `name` (exact bytes: Binance sends ASCII letters in upper case and other
    /// characters as UTF-8), if present.
    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<u32> {
        self.route(name).map(|r| r.global)
    }

    /// Where the trades of `name` go, if it is present: what the io thread needs per trade.
    #[inline]
    pub fn route(&self, name: &[u8]) -> Option<Route> {
        if name.len() > PACKED_MAX {
            return self.route_long(name);
        }
        let (lo, hi) = pack(name);
        let len = name.len() as u32;
        let mut at = self.home(lo, hi);
        loop {
            let slot = &self.slots[at];
            if slot.len == 0 {
                return None;
            }
            if slot.lo == lo && slot.hi == hi && slot.len == len {
                return Some(slot.route);
            }
            at = (at + 1) & self.mask;
        }
    }

    /// True when `name` is in the table.
    #[inline]
    pub fn contains(&self, name: &[u8]) -> bool {
        self.get(name).is_some()
    }

    /// Number of names in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no name has been added.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `max_symbols` the table was built for.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    #[cold]
    #[inline(never)]
    fn route_long(&self, name: &[u8]) -> Option<Route> {
        self.long
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .map(|at| Route::new(self.long[at].1, self.shards))
    }

    /// Home slot of a packed key: a folded 64x64->128 multiply mixes every input bit into the
    /// product, and the top bits of a Fibonacci multiply of that pick the slot.
    #[inline]
    fn home(&self, lo: u64, hi: u64) -> usize {
        let product =
            u128::from(lo ^ 0x243f_6a88_85a3_08d3) * u128::from(hi ^ 0x1319_8a2e_0370_7344);
        let folded = (product as u64) ^ ((product >> 64) as u64);
        (folded.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize & self.mask
    }
}

impl fmt::Debug for SymbolTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SymbolTable")
            .field("len", &self.len)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// Packs up to 16 bytes little-endian into two words, zero padded.
///
/// Without a copy of variable length (a `memcpy` call): two loads that overlap when the name
/// is shorter than twice their width, each shifted to its bytes' place and OR-ed together
/// (bytes read twice land on themselves).
#[inline]
fn pack(name: &[u8]) -> (u64, u64) {
    let n = name.len();
    let key: u128 = if n >= 8 {
        u128::from(load::<8>(name, 0)) | u128::from(load::<8>(name, n - 8)) << (8 * (n - 8))
    } else if n >= 4 {
        u128::from(load::<4>(name, 0)) | u128::from(load::<4>(name, n - 4)) << (8 * (n - 4))
    } else if n > 0 {
        u128::from(name[0])
            | u128::from(name[n / 2]) << (8 * (n / 2))
            | u128::from(name[n - 1]) << (8 * (n - 1))
    } else {
        0
    };
    (key as u64, (key >> 64) as u64)
}

/// `N` (4 or 8) bytes of `name` from `at` as a little-endian number; the caller keeps
/// `at + N <= name.len()`.
#[inline(always)]
fn load<const N: usize>(name: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word[..N].copy_from_slice(&name[at..at + N]);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_inserted_and_nothing_else() {
        let mut t = SymbolTable::with_capacity(4);
        t.insert("BTCUSDT", 0).unwrap();
        t.insert("ETHUSDT", 7).unwrap();
        t.insert("1000SHIBUSDT", 2).unwrap();
        assert_eq!(t.get(b"BTCUSDT"), Some(0));
        assert_eq!(t.get(b"ETHUSDT"), Some(7));
        assert_eq!(t.get(b"1000SHIBUSDT"), Some(2));
        assert_eq!(t.get(b"btcusdt"), None);
        assert_eq!(t.get(b"BTCUSD"), None);
        assert_eq!(t.get(b"BTCUSDT\0"), None, "NUL padding must not alias");
        assert_eq!(t.get(b""), None);
        assert!(t.contains(b"ETHUSDT"));
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn long_names_use_the_sorted_side_list() {
        let mut t = SymbolTable::with_capacity(8);
        t.insert("ABCDEFGHIJKLMNOPQ", 1).unwrap();
        t.insert("ABCDEFGHIJKLMNOP", 2).unwrap();
        t.insert("AAAAAAAAAAAAAAAAAAAAAAAA", 3).unwrap();
        assert_eq!(t.get(b"ABCDEFGHIJKLMNOPQ"), Some(1));
        assert_eq!(t.get(b"ABCDEFGHIJKLMNOP"), Some(2));
        assert_eq!(t.get(b"AAAAAAAAAAAAAAAAAAAAAAAA"), Some(3));
        assert_eq!(t.get(b"ABCDEFGHIJKLMNOPR"), None);
    }

    #[test]
    fn non_ascii_names_are_found_by_their_utf8_bytes() {
        let mut t = SymbolTable::with_capacity(8);
        t.insert("BTCUSDT", 0).unwrap();
        t.insert("币安人生USDT", 1).unwrap();
        t.insert("我踏马来了USDT", 2).unwrap();
        t.insert("ÄUSDT", 3).unwrap();
        assert_eq!(t.get("币安人生USDT".as_bytes()), Some(1));
        assert_eq!(
            t.get("我踏马来了USDT".as_bytes()),
            Some(2),
            "19 bytes: side list"
        );
        assert_eq!(t.get("ÄUSDT".as_bytes()), Some(3));
        assert_eq!(t.get("币安人生usdt".as_bytes()), None, "exact bytes");
        assert_eq!(t.get("币安人生USD".as_bytes()), None);
        assert_eq!(t.get(&"币安人生USDT".as_bytes()[1..]), None);
        assert_eq!(t.get(b"BTCUSDT"), Some(0));
        assert_eq!(
            t.insert("币安人生USDT", 9),
            Err(SymbolTableError::Duplicate { index: 1 })
        );
    }

    #[test]
    fn rejects_full_duplicate_and_invalid() {
        let mut t = SymbolTable::with_capacity(2);
        let invalid = |e| Err(SymbolTableError::InvalidName(e));
        assert_eq!(t.insert("", 0), invalid(SymbolNameError::Empty));
        assert_eq!(
            t.insert("BTC USDT", 0),
            invalid(SymbolNameError::BadChar(' '))
        );
        assert_eq!(
            t.insert("BTC\u{1}", 0),
            invalid(SymbolNameError::BadChar('\u{1}'))
        );
        let error = t.insert("BTC/USDT", 0).unwrap_err().to_string();
        assert!(
            error.contains("'/'") && error.contains("币安人生USDT"),
            "{error}"
        );
        assert_eq!(t.len(), 0);
        t.insert("A", 0).unwrap();
        assert_eq!(
            t.insert("A", 5),
            Err(SymbolTableError::Duplicate { index: 0 })
        );
        t.insert("B", 1).unwrap();
        assert_eq!(
            t.insert("C", 2),
            Err(SymbolTableError::Full { capacity: 2 })
        );
        assert_eq!(SymbolTable::with_capacity(0).get(b"A"), None);
    }

    #[test]
    fn packing_matches_a_zero_padded_copy_at_every_length() {
        let bytes: Vec<u8> = (1..=16).collect();
        for n in 0..=16 {
            let mut padded = [0u8; 16];
            padded[..n].copy_from_slice(&bytes[..n]);
            let want = u128::from_le_bytes(padded);
            assert_eq!(pack(&bytes[..n]), (want as u64, (want >> 64) as u64), "{n}");
        }
    }

    #[test]
    fn routes_follow_the_shard_count() {
        let mut t = SymbolTable::with_capacity(8);
        t.insert("BTCUSDT", 5).unwrap();
        t.insert("ABCDEFGHIJKLMNOPQRS", 7).unwrap();
        let route = |g, shard, local| {
            Some(Route {
                global: g,
                shard,
                local,
            })
        };
        assert_eq!(t.route(b"BTCUSDT"), route(5, 0, 5));
        t.set_shards(2);
        assert_eq!(t.route(b"BTCUSDT"), route(5, 1, 2));
        assert_eq!(t.route(b"ABCDEFGHIJKLMNOPQRS"), route(7, 1, 3));
        t.insert("ETHUSDT", 6).unwrap();
        assert_eq!(t.route(b"ETHUSDT"), route(6, 0, 3));
        assert_eq!(t.get(b"ETHUSDT"), Some(6));
    }

    #[test]
    fn a_full_table_of_similar_names_stays_exact() {
        let n = 2000;
        let mut t = SymbolTable::with_capacity(n);
        let name = |i: usize| format!("S{i}USDT");
        for i in 0..n {
            t.insert(&name(i), i as u32).unwrap();
        }
        for i in 0..n {
            assert_eq!(t.get(name(i).as_bytes()), Some(i as u32));
        }
        assert_eq!(t.get(b"S2000USDT"), None);
    }
}
