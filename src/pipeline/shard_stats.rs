//! What a shard thread hands to the rest of the engine: its counters as last published, the
//! agg-id gaps it found (for status lines, tests and backfill), its answers to the backfill's
//! tail probes, and whether it has applied every trade its io threads will ever push (for a
//! graceful stop).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::tail_answer::TailAnswer;
use crate::aggregator::{Gap, ShardStats};

/// Written by the shard thread with `try_lock` (it never waits for a reader), read by anyone.
#[derive(Debug, Default)]
pub struct SharedShardStats {
    stats: Mutex<ShardStats>,
    gaps: Mutex<Vec<Gap>>,
    /// Rare (a probe per tail check), so a lock is no cost.
    tail_answers: Mutex<Vec<TailAnswer>>,
    drained: AtomicBool,
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

    /// Hands over answers to tail probes, unless a reader holds the lock right now: then they
    /// stay in `pending` for the next call.
    pub fn publish_tail_answers(&self, pending: &mut Vec<TailAnswer>) {
        if !pending.is_empty()
            && let Ok(mut answers) = self.tail_answers.try_lock()
        {
            answers.append(pending);
        }
    }

    /// Moves the tail answers handed over so far into `out` (shard-local symbol indices).
    pub fn take_tail_answers(&self, out: &mut Vec<TailAnswer>) {
        match self.tail_answers.lock() {
            Ok(mut answers) => out.append(&mut answers),
            Err(poisoned) => out.append(&mut poisoned.into_inner()),
        }
    }

    /// Notes that ingress has stopped and every trade pushed to this shard is applied.
    pub fn set_drained(&self) {
        self.drained.store(true, Ordering::Release);
    }

    /// True once the shard has applied every trade its io threads pushed before they ended.
    pub fn drained(&self) -> bool {
        self.drained.load(Ordering::Acquire)
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
