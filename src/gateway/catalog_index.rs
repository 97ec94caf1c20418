//! Lookups from names to the engine's indices, built once from a [`Catalog`].

use std::collections::HashMap;

use super::config::Catalog;
use crate::egress::Decimals;
use crate::interval::Interval;

/// A [`Catalog`] with its reverse maps.
#[derive(Debug)]
pub struct CatalogIndex {
    catalog: Catalog,
    symbols: HashMap<String, u32>,
    intervals: HashMap<Interval, u16>,
}

impl CatalogIndex {
    /// Indexes `catalog`.
    pub fn new(catalog: Catalog) -> CatalogIndex {
        let symbols = catalog
            .symbols
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.to_ascii_uppercase(), i as u32))
            .collect();
        let intervals = catalog
            .intervals
            .iter()
            .enumerate()
            .map(|(i, interval)| (*interval, i as u16))
            .collect();
        CatalogIndex {
            catalog,
            symbols,
            intervals,
        }
    }

    /// The index and precisions of a symbol named in any case.
    pub fn symbol(&self, name: &str) -> Option<(u32, Decimals)> {
        let index = *self.symbols.get(&name.to_ascii_uppercase())?;
        Some((index, self.catalog.symbols[index as usize].1))
    }

    /// The index of an interval the engine keeps.
    pub fn interval(&self, interval: Interval) -> Option<u16> {
        self.intervals.get(&interval).copied()
    }

    /// The name and precisions of a symbol index, if known.
    pub fn symbol_at(&self, index: u32) -> Option<&(String, Decimals)> {
        self.catalog.symbols.get(index as usize)
    }

    /// The interval at an index, if known.
    pub fn interval_at(&self, index: u16) -> Option<Interval> {
        self.catalog.intervals.get(usize::from(index)).copied()
    }
}
