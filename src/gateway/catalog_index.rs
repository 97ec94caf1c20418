//! Lookups from names to the engine's indices, built from a [`Catalog`] and, when the catalog
//! follows the engine's live symbol list, extended as that list grows.

use std::collections::HashMap;

use super::config::{Catalog, LiveSymbols};
use crate::egress::Decimals;
use crate::interval::Interval;

/// A [`Catalog`] with its reverse maps.
#[derive(Debug)]
pub struct CatalogIndex {
    symbols: Vec<(String, Decimals)>,
    intervals: Vec<Interval>,
    by_name: HashMap<String, u32>,
    by_interval: HashMap<Interval, u16>,
    live: Option<LiveSymbols>,
    /// Length of the live list when last read.
    live_len: usize,
}

impl CatalogIndex {
    /// Indexes `catalog` (and the live list's names as they are now).
    pub fn new(catalog: Catalog) -> CatalogIndex {
        let by_interval = catalog
            .intervals
            .iter()
            .enumerate()
            .map(|(i, interval)| (*interval, i as u16))
            .collect();
        let mut index = CatalogIndex {
            symbols: Vec::new(),
            intervals: catalog.intervals,
            by_name: HashMap::new(),
            by_interval,
            live: catalog.live,
            live_len: 0,
        };
        for (i, (name, decimals)) in catalog.symbols.into_iter().enumerate() {
            index.set(i, name, decimals);
        }
        index.refresh();
        index
    }

    /// Serves the names the live list gained since the last call: a `try_read` and a length
    /// check, so it never waits for the writer (a name it misses now is seen next time).
    /// Returns how many names were added or changed.
    pub fn refresh(&mut self) -> usize {
        let Some(live) = &self.live else {
            return 0;
        };
        let Ok(names) = live.names.try_read() else {
            return 0;
        };
        if names.len() == self.live_len {
            return 0;
        }
        let changed: Vec<(usize, String)> = names
            .iter()
            .enumerate()
            .filter(|(i, name)| self.symbols.get(*i).is_none_or(|(known, _)| known != *name))
            .map(|(i, name)| (i, name.clone()))
            .collect();
        self.live_len = names.len();
        drop(names);
        let decimals = std::sync::Arc::clone(&live.decimals);
        for (i, name) in &changed {
            self.set(*i, name.clone(), decimals(name));
        }
        changed.len()
    }

    /// Names global index `i` (replacing what it named before).
    fn set(&mut self, i: usize, name: String, decimals: Decimals) {
        if self.symbols.len() <= i {
            self.symbols.resize(i + 1, (String::new(), decimals));
        }
        let old = std::mem::replace(&mut self.symbols[i], (name, decimals));
        if !old.0.is_empty() {
            self.by_name.remove(&old.0.to_ascii_uppercase());
        }
        let name = &self.symbols[i].0;
        if !name.is_empty() {
            self.by_name.insert(name.to_ascii_uppercase(), i as u32);
        }
    }

    /// The index and precisions of a symbol named with its ASCII letters in any case
    /// (`币安人生usdt` finds `币安人生USDT`; other characters must match exactly).
    pub fn symbol(&self, name: &str) -> Option<(u32, Decimals)> {
        let index = *self.by_name.get(&name.to_ascii_uppercase())?;
        Some((index, self.symbols[index as usize].1))
    }

    /// The index of an interval the engine keeps.
    pub fn interval(&self, interval: Interval) -> Option<u16> {
        self.by_interval.get(&interval).copied()
    }

    /// The name and precisions of a symbol index, if known.
    pub fn symbol_at(&self, index: u32) -> Option<&(String, Decimals)> {
        self.symbols
            .get(index as usize)
            .filter(|(name, _)| !name.is_empty())
    }

    /// Every named symbol with its precisions, in index order.
    pub fn symbols(&self) -> impl Iterator<Item = &(String, Decimals)> {
        self.symbols.iter().filter(|(name, _)| !name.is_empty())
    }

    /// The interval at an index, if known.
    pub fn interval_at(&self, index: u16) -> Option<Interval> {
        self.intervals.get(usize::from(index)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, RwLock};

    const TWO: Decimals = Decimals::new(2, 2);
    const EIGHT: Decimals = Decimals::new(8, 8);

    #[test]
    fn non_ascii_names_are_found_with_ascii_letters_in_any_case() {
        let index = CatalogIndex::new(Catalog {
            symbols: vec![
                ("币安人生USDT".to_owned(), TWO),
                ("ÄUSDT".to_owned(), EIGHT),
            ],
            intervals: Interval::parse_list("1m").unwrap(),
            live: None,
        });
        assert_eq!(index.symbol("币安人生USDT"), Some((0, TWO)));
        assert_eq!(index.symbol("币安人生usdt"), Some((0, TWO)));
        assert_eq!(index.symbol("Äusdt"), Some((1, EIGHT)));
        assert_eq!(index.symbol("äUSDT"), None, "Binance does not fold Ä");
        assert_eq!(index.symbol("币安人生"), None);
    }

    #[test]
    fn follows_names_added_to_the_live_list() {
        let names = Arc::new(RwLock::new(vec!["BTCUSDT".to_owned()]));
        let mut index = CatalogIndex::new(Catalog {
            intervals: Interval::parse_list("1m").unwrap(),
            live: Some(LiveSymbols {
                names: Arc::clone(&names),
                decimals: Arc::new(|name| if name == "NEWUSDT" { TWO } else { EIGHT }),
            }),
            ..Catalog::default()
        });
        assert_eq!(index.symbol("btcusdt").map(|s| s.0), Some(0));
        assert_eq!(index.symbol("NEWUSDT"), None);
        assert_eq!(index.refresh(), 0, "nothing new");
        names.write().unwrap().push("NEWUSDT".to_owned());
        assert_eq!(index.symbol("NEWUSDT"), None, "seen only once refreshed");
        assert_eq!(index.refresh(), 1);
        assert_eq!(index.symbol("newusdt"), Some((1, TWO)));
        assert_eq!(index.symbol_at(1).map(|s| s.0.as_str()), Some("NEWUSDT"));
        // While the writer holds the list, a refresh does not wait and finds nothing.
        let mut writer = names.write().unwrap();
        writer.push("LATERUSDT".to_owned());
        assert_eq!(index.refresh(), 0);
        drop(writer);
        assert_eq!(index.refresh(), 1);
        assert_eq!(index.symbol("LATERUSDT").map(|s| s.0), Some(2));
    }
}
