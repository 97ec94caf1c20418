//! What a shard is built for: its intervals, its symbol capacity, its timing rules and how it
//! waits for the missing trades of gaps.

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
    /// How gaps wait for their missing trades (off unless `max_pending` > 0).
    pub gap_fill: GapFillConfig,
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
            gap_fill: GapFillConfig::OFF,
        }
    }
}

/// Most intervals one shard keeps (a symbol's intervals fold into one another, at most this
/// many deep).
pub const MAX_INTERVALS: usize = 64;

/// How a shard waits for the missing trades of its gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapFillConfig {
    /// Gaps tracked at once; one more is counted as unfilled at once. 0 turns filling off
    /// (gaps are only recorded), as in offline replay.
    pub max_pending: usize,
    /// A repair (a gap, a warm start) still waiting this long after it began (shard clock) is
    /// given up.
    pub timeout_ms: i64,
    /// Live trades all repairs may keep together; the repair that would pass it is given up,
    /// so memory stays bounded whatever the backfill does.
    pub max_buffered_trades: usize,
    /// A gap is handed to the backfill ([`super::Shard::take_gaps`]) only once it has waited
    /// this long (shard clock), so that a second connection carrying the stream, a moment
    /// behind the first, fills it without spending REST weight. 0 hands it over at once.
    pub report_after_ms: i64,
}

impl GapFillConfig {
    /// Gaps are recorded for whoever takes them, never waited for.
    pub const OFF: GapFillConfig = GapFillConfig {
        max_pending: 0,
        timeout_ms: 0,
        max_buffered_trades: 0,
        report_after_ms: 0,
    };

    /// What a live engine uses: up to 1,024 gaps at once, each given 5 minutes, and 4M live
    /// trades kept meanwhile (about 256 MB at worst).
    pub const LIVE: GapFillConfig = GapFillConfig {
        max_pending: 1_024,
        timeout_ms: 300_000,
        max_buffered_trades: 4_000_000,
        report_after_ms: 0,
    };

    /// [`GapFillConfig::LIVE`] for streams carried by more than one connection: a gap waits a
    /// second for the other connection before the backfill is asked.
    pub const REDUNDANT: GapFillConfig = GapFillConfig {
        report_after_ms: 1_000,
        ..GapFillConfig::LIVE
    };
}

/// Why a [`ShardConfig`] cannot build a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardConfigError {
    /// The interval list is empty.
    NoIntervals,
    /// More intervals than [`MAX_INTERVALS`].
    TooManyIntervals(usize),
    /// `max_symbols` is zero.
    NoSymbols,
}

impl std::fmt::Display for ShardConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShardConfigError::NoIntervals => {
                f.write_str("no intervals: list at least one, e.g. 1m")
            }
            ShardConfigError::TooManyIntervals(n) => {
                write!(f, "{n} intervals: a shard keeps at most {MAX_INTERVALS}")
            }
            ShardConfigError::NoSymbols => f.write_str("max_symbols is 0: it must be at least 1"),
        }
    }
}

impl std::error::Error for ShardConfigError {}

impl ShardConfig {
    /// Checks that a shard can be built from this configuration.
    pub fn validate(&self) -> Result<(), ShardConfigError> {
        match self.intervals.len() {
            0 => Err(ShardConfigError::NoIntervals),
            n if n > MAX_INTERVALS => Err(ShardConfigError::TooManyIntervals(n)),
            _ if self.max_symbols == 0 => Err(ShardConfigError::NoSymbols),
            _ => Ok(()),
        }
    }
}
