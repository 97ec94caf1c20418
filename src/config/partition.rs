//! `exchange.partition = "I/N"`: one host's share of the market when N klagg hosts split it.
//!
//! A symbol belongs to partition `(h * N) >> 64`, where `h` is the 64-bit FNV-1a hash of the
//! symbol name's UTF-8 bytes (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`) and
//! the product is taken in 128 bits. The high bits of `h` decide, because FNV-1a's low bits
//! mix poorly (its lowest bit is the parity of the bytes' lowest bits). The rule depends on
//! nothing but the name, so every host agrees on it without talking to the others, a symbol
//! listed tomorrow lands in exactly one partition, and any language can compute it.

use std::fmt;

use super::error::{ConfigError, invalid, quoted};

/// The key this file checks, as errors name it.
const KEY: &str = "exchange.partition";

/// Most partitions a market may be split into.
pub const MAX_PARTITIONS: u32 = 1_024;

/// Partition `index` of `count`: the symbols this klagg follows out of all it selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    index: u32,
    count: u32,
}

impl Partition {
    /// The whole market: `0/1`.
    pub const WHOLE: Partition = Partition { index: 0, count: 1 };

    /// Partition `index` of `count`; `None` unless `index < count <= MAX_PARTITIONS`.
    #[must_use]
    pub const fn new(index: u32, count: u32) -> Option<Partition> {
        if count == 0 || count > MAX_PARTITIONS || index >= count {
            None
        } else {
            Some(Partition { index, count })
        }
    }

    /// This partition's number, from 0.
    #[must_use]
    pub const fn index(self) -> u32 {
        self.index
    }

    /// How many partitions the market is split into.
    #[must_use]
    pub const fn count(self) -> u32 {
        self.count
    }

    /// Whether this is the whole market (`0/1`), i.e. no partitioning.
    #[must_use]
    pub const fn is_whole(self) -> bool {
        self.count == 1
    }

    /// Whether `symbol` falls in this partition.
    #[must_use]
    pub fn contains(self, symbol: &str) -> bool {
        partition_of(symbol, self.count) == self.index
    }

    /// The symbols of `list` that fall in this partition, in list order.
    #[must_use]
    pub fn select(self, list: &[String]) -> Vec<String> {
        list.iter().filter(|s| self.contains(s)).cloned().collect()
    }
}

impl Default for Partition {
    fn default() -> Self {
        Partition::WHOLE
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The 64-bit FNV-1a hash of `bytes`: fixed, unseeded, the same on every host and release.
#[must_use]
pub const fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The partition, of `count`, that `symbol` belongs to: `(fnv1a_64(symbol) * count) >> 64`.
#[must_use]
pub fn partition_of(symbol: &str, count: u32) -> u32 {
    let wide = u128::from(fnv1a_64(symbol.as_bytes())) * u128::from(count);
    // (h * count) >> 64 < count <= u32::MAX, so the cast keeps every bit.
    (wide >> 64) as u32
}

/// `exchange.partition`: `"I/N"` with `0 <= I < N <= 1024`; absent means the whole market.
pub(crate) fn partition(given: Option<&str>) -> Result<Partition, ConfigError> {
    let Some(text) = given else {
        return Ok(Partition::WHOLE);
    };
    let wrong = |why: &str| {
        invalid(
            KEY,
            quoted(text),
            format!(
                "{why}; write \"I/N\": this host follows partition I of N, 0 <= I < N <= \
                 {MAX_PARTITIONS}, e.g. \"0/3\", \"1/3\" and \"2/3\" on three hosts"
            ),
        )
    };
    let Some((index, count)) = text.split_once('/') else {
        return Err(wrong("no '/'"));
    };
    let number = |part: &str| -> Option<u32> {
        // u32's parser takes a leading '+'; a partition number is digits only.
        let part = part.trim();
        (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(index), Some(count)) = (number(index), number(count)) else {
        return Err(wrong("I and N must be whole numbers"));
    };
    if count == 0 || count > MAX_PARTITIONS {
        return Err(wrong(&format!("N must be 1 to {MAX_PARTITIONS}")));
    }
    Partition::new(index, count).ok_or_else(|| {
        wrong(&format!(
            "I must be below N (partitions of {count} are numbered 0 to {})",
            count - 1
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        // From the FNV reference test suite (Fowler, Noll, Vo).
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_symbol_lands_in_exactly_one_partition() {
        let names: Vec<String> = (0..3_000)
            .map(|i| format!("S{i}USDT"))
            .chain(["BTCUSDT".to_owned(), "币安人生USDT".to_owned()])
            .collect();
        for count in [1, 2, 3, 7, 1_024] {
            let mut sizes = vec![0usize; count as usize];
            for name in &names {
                let owners: Vec<u32> = (0..count)
                    .filter(|&i| Partition::new(i, count).unwrap().contains(name))
                    .collect();
                assert_eq!(owners.len(), 1, "{name} in {count}: {owners:?}");
                sizes[owners[0] as usize] += 1;
            }
            if count <= 7 {
                // Similar names still spread evenly: each share within 15% of the mean.
                let mean = names.len() / count as usize;
                for size in sizes {
                    assert!(size.abs_diff(mean) * 100 <= mean * 15, "{count}: {size}");
                }
            }
        }
    }

    #[test]
    fn known_symbols_have_fixed_partitions() {
        // Pinned so a change of the rule (which would move symbols between hosts) is noticed.
        // The same numbers come from a few lines of Python over the UTF-8 bytes (the
        // operations guide shows them).
        let of = |s: &str| partition_of(s, 3);
        assert_eq!(
            [
                of("BTCUSDT"),
                of("ETHUSDT"),
                of("SOLUSDT"),
                of("币安人生USDT")
            ],
            [0, 1, 2, 2]
        );
    }

    #[test]
    fn valid_texts() {
        assert_eq!(partition(None).unwrap(), Partition::WHOLE);
        assert_eq!(
            partition(Some("1/3")).unwrap(),
            Partition::new(1, 3).unwrap()
        );
        assert_eq!(partition(Some(" 0 / 1 ")).unwrap(), Partition::WHOLE);
        assert_eq!(Partition::new(2, 3).unwrap().to_string(), "2/3");
        assert!(Partition::WHOLE.contains("ANYTHING"));
    }

    #[test]
    fn invalid_texts_say_what_is_valid() {
        let error = |text: &str| partition(Some(text)).unwrap_err().to_string();
        let tail = "; write \"I/N\": this host follows partition I of N, 0 <= I < N <= 1024, \
                    e.g. \"0/3\", \"1/3\" and \"2/3\" on three hosts";
        assert_eq!(
            error("3/3"),
            format!(
                "exchange.partition = \"3/3\": I must be below N (partitions of 3 are numbered \
                 0 to 2){tail}"
            )
        );
        assert_eq!(
            error("0/0"),
            format!("exchange.partition = \"0/0\": N must be 1 to 1024{tail}")
        );
        assert_eq!(
            error("a/b"),
            format!("exchange.partition = \"a/b\": I and N must be whole numbers{tail}")
        );
        assert_eq!(
            error("2"),
            format!("exchange.partition = \"2\": no '/'{tail}")
        );
        for bad in ["-1/3", "+1/3", "1/", "/3", "1/3/5", "0/1025", "1.0/3"] {
            assert_eq!(partition(Some(bad)).unwrap_err().key(), Some(KEY), "{bad}");
        }
    }
}
