//! Symbol names for the global symbol indices the engine hands out.

use std::sync::{Arc, PoisonError, RwLock};

/// A local copy of the engine's shared index -> name table.
///
/// Indices are dense and only ever appended, and a name never changes once given, so the copy
/// only needs to grow: the shared lock is taken only when an index beyond the copy shows up,
/// and never while the database is being written (a slow disk must not hold up whoever adds
/// symbols).
#[derive(Debug)]
pub(crate) struct SymbolNames {
    shared: Arc<RwLock<Vec<String>>>,
    local: Vec<String>,
}

impl SymbolNames {
    pub(crate) fn new(shared: Arc<RwLock<Vec<String>>>) -> SymbolNames {
        SymbolNames {
            shared,
            local: Vec::new(),
        }
    }

    /// Makes sure `index` is known locally if the shared table has it.
    pub(crate) fn refresh_for(&mut self, index: u32) {
        let wanted = usize::try_from(index).unwrap_or(usize::MAX);
        if wanted < self.local.len() {
            return;
        }
        // A writer that panicked mid-push cannot leave a half-written name behind, so a
        // poisoned table is still good to read.
        let shared = self.shared.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(new) = shared.get(self.local.len()..) {
            self.local.extend(new.iter().cloned());
        }
    }

    /// The name of `index`, if known at the last refresh.
    pub(crate) fn get(&self, index: u32) -> Option<&str> {
        self.local
            .get(usize::try_from(index).ok()?)
            .map(String::as_str)
    }
}
