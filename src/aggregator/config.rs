//! What a shard is built for: its intervals, its symbol capacity and its timing rules.

use crate::interval::Interval;

/// Everything a [`super::Shard`] needs to preallocate its state and apply its rules.
#[derive(Debug, Clone)]
pub struct ShardConfig {
    /// Intervals kept for every symbol; a kline's interval is its index in this list.
    pub intervals: Vec<Interval>,
    /// Symbol indices `0..max_symbols` are accepted; state is preallocated for all of them.
    pub max_symbols: u32,
    /// How long after a period ends [`super::Shard::tick`] waits before closing it, so that
    /// trades still in flight land in the right kline. Late trades within one more grace
    /// window are applied as corrections.
    pub close_grace_ms: i64,
    /// Closed klines kept for a consumer that has not pulled; past this it is lagging and
    /// told how many it missed.
    pub max_backlog: usize,
    /// Gaps kept for backfill until taken with [`super::Shard::take_gaps`]; more are counted.
    pub max_recorded_gaps: usize,
}

impl ShardConfig {
    /// A shard for `intervals` and `max_symbols` symbols with the default timing and bounds.
    pub fn new(intervals: Vec<Interval>, max_symbols: u32) -> ShardConfig {
        ShardConfig {
            intervals,
            max_symbols,
            close_grace_ms: 1_500,
            max_backlog: 1_000_000,
            max_recorded_gaps: 4_096,
        }
    }
}
