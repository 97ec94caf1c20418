//! What the backfill thread did, for `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the backfill thread; they only grow.
#[derive(Debug, Default)]
pub struct BackfillStats {
    /// Gaps taken from the shards.
    pub gaps_taken: AtomicU64,
    /// Gaps whose every trade was fetched and handed over.
    pub gaps_fetched: AtomicU64,
    /// Gaps given up: the exchange did not have every trade, or kept failing.
    pub gaps_given_up: AtomicU64,
    /// REST calls made.
    pub calls: AtomicU64,
    /// Trades handed to the shards.
    pub trades_sent: AtomicU64,
    /// 429 and 418 answers.
    pub rate_limited: AtomicU64,
    /// Calls that failed otherwise.
    pub failures: AtomicU64,
    /// Symbols whose rebuilt state was handed to their shard.
    pub warm_fetched: AtomicU64,
    /// Symbols whose warm start could not be fetched.
    pub warm_failed: AtomicU64,
    /// Request weight spent on every call, tries included.
    pub rest_weight: AtomicU64,
    /// Tail checks that asked the exchange's REST klines.
    pub tail_checks: AtomicU64,
    /// Tail checks that needed no REST call (the symbol never traded, traded a moment ago
    /// every time it was looked at, or was quiet for longer than a page of klines covers).
    pub tail_skipped: AtomicU64,
    /// Tail checks whose REST klines held trades the shard did not have.
    pub tail_suspected: AtomicU64,
    /// Trades past a shard's last agg id handed over by tail checks.
    pub tail_trades_sent: AtomicU64,
    /// Request weight spent by tail checks.
    pub tail_rest_weight: AtomicU64,
}

impl BackfillStats {
    /// Adds to one counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads one counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
