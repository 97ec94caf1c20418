//! The core: one shard's kline state for every (symbol, interval), and the delta-pull protocol
//! that hands closed and changed klines to any number of consumers without losing any.
//!
//! A [`Shard`] is owned by one thread. Trades go in through [`Shard::process_trade`], the clock
//! through [`Shard::tick`]; consumers talk to it only through [`ShardRequest`]s answered with
//! `try_send`, so the shard never blocks on a consumer. The backfill repairs it through
//! [`Shard::fill_trade`], warm starts and tail claims ([`Shard::claim_tail`]).

mod client;
mod closed_log;
mod config;
mod consumers;
mod gap_fill;
mod protocol;
mod restore;
mod rollover;
pub mod routing;
mod shard;
mod slot;
mod stats;
mod tail;
mod warm_start;

pub use client::{DeltaConsumer, PullError};
pub use config::{MAX_INTERVALS, ShardConfig, ShardConfigError};
pub use gap_fill::GapFillConfig;
pub use protocol::{
    ConsumerId, Delta, KlineRecord, PullRequest, ShardRequest, Snapshot, SnapshotRequest, Wake,
};
pub use restore::RestoreError;
pub use shard::{Shard, TradeOutcome};
pub use stats::{Gap, ShardStats};
pub use tail::{Tail, TailView};
pub use warm_start::WarmStart;
