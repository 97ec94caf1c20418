//! What a shard thread hands to the rest of the engine: its counters as last published, and
//! the agg-id gaps it found (for status lines, tests and backfill).

use std::sync::Mutex;

use crate::aggregator::{Gap, ShardStats};

/// Written by the shard thread with `try_lock` (it never waits for a reader), read by anyone.
#[derive(Debug, Default)]
pub struct SharedShardStats {
    stats: Mutex<ShardStats>,
    gaps: Mutex<Vec<Gap>>,
}

impl SharedShardStats {
    /// Publishes new counters and hands over `pending` gaps, unless a reader holds a lock right
    /// now: then the next publish catches up (gaps stay in `pending` meanwhile).
    pub fn publish(&self, stats: &ShardStats, pending: &mut Vec<Gap>) {
        if let Ok(mut guard) = self.stats.try_lock() {
            *guard = *stats;
        }
        if !pending.is_empty()
            && let Ok(mut gaps) = self.gaps.try_lock()
        {
            gaps.append(pending);
        }
    }

    /// The last published counters.
    pub fn get(&self) -> ShardStats {
        self.stats
            .lock()
            .map_or_else(|poisoned| *poisoned.into_inner(), |guard| *guard)
    }

    /// Moves the gaps handed over so far into `out` (shard-local symbol indices).
    pub fn take_gaps(&self, out: &mut Vec<Gap>) {
        match self.gaps.lock() {
            Ok(mut gaps) => out.append(&mut gaps),
            Err(poisoned) => out.append(&mut poisoned.into_inner()),
        }
    }
}
