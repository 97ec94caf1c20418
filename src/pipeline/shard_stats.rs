//! A shard's counters as its thread last published them, for status lines and metrics.

use std::sync::Mutex;

use crate::aggregator::ShardStats;

/// Written by the shard thread with `try_lock` (it never waits for a reader), read by anyone.
#[derive(Debug, Default)]
pub struct SharedShardStats(Mutex<ShardStats>);

impl SharedShardStats {
    /// Publishes new counters unless a reader holds the lock right now (the next publish
    /// catches up).
    pub fn publish(&self, stats: &ShardStats) {
        if let Ok(mut guard) = self.0.try_lock() {
            *guard = *stats;
        }
    }

    /// The last published counters.
    pub fn get(&self) -> ShardStats {
        self.0
            .lock()
            .map_or_else(|poisoned| *poisoned.into_inner(), |guard| *guard)
    }
}
