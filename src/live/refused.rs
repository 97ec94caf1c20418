//! Listed symbols klagg cannot follow: their names break [`crate::symbol_name`]'s rule (a
//! control character, whitespace, a name too long to be a file name...). They are left out,
//! never silently: each is logged once with its reason and counted on the status line.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::symbol_name::{self, SymbolNameError};

/// The names refused so far, with why.
#[derive(Debug, Default)]
pub struct RefusedSymbols {
    refused: HashMap<String, SymbolNameError>,
}

impl RefusedSymbols {
    /// Nothing refused yet.
    pub fn new() -> RefusedSymbols {
        RefusedSymbols::default()
    }

    /// The names of `candidates` klagg can follow, in order; the others are logged (in one
    /// warning per call, each name only the first time it is refused) and counted.
    pub fn keep_followable(&mut self, candidates: Vec<String>, source: &str) -> Vec<String> {
        let mut newly = Vec::new();
        let mut kept = Vec::with_capacity(candidates.len());
        for name in candidates {
            match symbol_name::check(&name) {
                Ok(()) => kept.push(name),
                Err(e) => {
                    if let Entry::Vacant(slot) = self.refused.entry(name) {
                        newly.push(format!("{:?} ({e})", slot.key()));
                        slot.insert(e);
                    }
                }
            }
        }
        if !newly.is_empty() {
            log::warn!(
                "{source} lists {} symbol(s) klagg cannot follow, left out: {}",
                newly.len(),
                newly.join(", ")
            );
        }
        kept
    }

    /// How many names were refused.
    pub fn count(&self) -> usize {
        self.refused.len()
    }

    /// Why `name` was refused, if it was.
    pub fn reason(&self, name: &str) -> Option<SymbolNameError> {
        self.refused.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_names_are_left_out_and_counted_once() {
        let mut refused = RefusedSymbols::new();
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let kept = refused.keep_followable(
            names(&["BTCUSDT", "BAD\u{1}USDT", "币安人生USDT", "TWO WORDS"]),
            "exchangeInfo",
        );
        assert_eq!(kept, ["BTCUSDT", "币安人生USDT"]);
        assert_eq!(refused.count(), 2);
        assert_eq!(
            refused.reason("TWO WORDS"),
            Some(SymbolNameError::BadChar(' '))
        );
        let again = refused.keep_followable(names(&["TWO WORDS", "ETHUSDT"]), "exchangeInfo");
        assert_eq!(again, ["ETHUSDT"]);
        assert_eq!(refused.count(), 2, "a name refused again counts once");
    }
}
