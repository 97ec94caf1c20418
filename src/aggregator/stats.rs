//! Counters a shard keeps so that nothing it drops or repairs is silent.

/// A run of missing agg ids of one symbol, inclusive on both ends, kept for backfill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// Dense symbol index.
    pub symbol: u32,
    /// First missing agg id.
    pub from_agg_id: i64,
    /// Last missing agg id.
    pub to_agg_id: i64,
}

/// What happened to every trade and kline a shard saw. Counters only grow, except the two
/// gauges of what is still waiting (`gaps_pending`, `warm_pending`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardStats {
    /// Trades applied to the klines.
    pub trades: u64,
    /// Trades dropped because their symbol index was out of range or their numbers were
    /// impossible (price ≤ 0, quantity < 0, first trade id > last).
    pub invalid: u64,
    /// Trades dropped because their agg id was not above the last one seen for the symbol.
    pub duplicates: u64,
    /// Jumps in a symbol's agg ids, and losses at a symbol's tail (see `tail_gaps`).
    pub gaps: u64,
    /// Agg ids missing across all gaps.
    pub missing_agg_ids: u64,
    /// Gaps not recorded for backfill because the gap list was full.
    pub gaps_unrecorded: u64,
    /// Gaps whose every missing trade came in (from the backfill or another connection) and
    /// whose klines were rebuilt with them.
    pub gaps_filled: u64,
    /// Gaps given up with trades still missing (the backfill could not get them, took too
    /// long, or too many live trades waited), or never tracked because too many were pending.
    pub gaps_unfilled: u64,
    /// Missing trades that came in and were merged into the klines.
    pub gap_trades_filled: u64,
    /// Agg ids of the unfilled gaps that never came: trades lost for good.
    pub gap_ids_unfilled: u64,
    /// Closed klines emitted again by the replay of a filled (or given up) gap or a warm start.
    pub gap_corrections: u64,
    /// Trades lost at a symbol's tail (no later trade showed them) that a tail check found and
    /// claimed as a gap, one per page of REST trades.
    pub tail_gaps: u64,
    /// Of the gap trades filled, those of tail gaps.
    pub tail_trades_filled: u64,
    /// Gauge: symbols waiting for the missing trades of a gap right now.
    pub gaps_pending: u64,
    /// Gauge: symbols waiting for their warm start right now.
    pub warm_pending: u64,
    /// Symbols whose open klines were rebuilt from REST at start.
    pub warm_starts: u64,
    /// Warm starts given up: their klines hold only the trades seen live.
    pub warm_starts_failed: u64,
    /// (trade, interval) pairs dropped because the trade was older than the kline it could
    /// still correct.
    pub late_dropped: u64,
    /// Closed klines emitted again after a late trade corrected them.
    pub corrections: u64,
    /// Klines closed, empty ones included.
    pub klines_closed: u64,
    /// Of those, klines of periods without a trade.
    pub empty_klines: u64,
    /// Pull replies that could not be delivered; their contents wait for the next pull.
    pub replies_undelivered: u64,
    /// Closed klines consumers never received because they fell past the backlog bound.
    pub closed_missed: u64,
}

impl<'a> std::iter::Sum<&'a ShardStats> for ShardStats {
    /// Field-by-field sum, for totals over shards.
    fn sum<I: Iterator<Item = &'a ShardStats>>(shards: I) -> ShardStats {
        shards.fold(ShardStats::default(), |mut a, s| {
            a.trades += s.trades;
            a.invalid += s.invalid;
            a.duplicates += s.duplicates;
            a.gaps += s.gaps;
            a.missing_agg_ids += s.missing_agg_ids;
            a.gaps_unrecorded += s.gaps_unrecorded;
            a.gaps_filled += s.gaps_filled;
            a.gaps_unfilled += s.gaps_unfilled;
            a.gap_trades_filled += s.gap_trades_filled;
            a.gap_ids_unfilled += s.gap_ids_unfilled;
            a.gap_corrections += s.gap_corrections;
            a.tail_gaps += s.tail_gaps;
            a.tail_trades_filled += s.tail_trades_filled;
            a.gaps_pending += s.gaps_pending;
            a.warm_pending += s.warm_pending;
            a.warm_starts += s.warm_starts;
            a.warm_starts_failed += s.warm_starts_failed;
            a.late_dropped += s.late_dropped;
            a.corrections += s.corrections;
            a.klines_closed += s.klines_closed;
            a.empty_klines += s.empty_klines;
            a.replies_undelivered += s.replies_undelivered;
            a.closed_missed += s.closed_missed;
            a
        })
    }
}
