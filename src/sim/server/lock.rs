//! Locking that survives a panicked holder.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex` even if a thread panicked while holding it: the server's shared state stays
/// consistent between statements, and one failed connection must not take the market down.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
