//! The core: one shard's kline state for every (symbol, interval), and the delta-pull protocol
//! that hands closed and changed klines to any number of consumers without losing any.
//!
//! A [`Shard`] is owned by one thread. Trades go in through [`Shard::process_trade`], the clock
//! through [`Shard::tick`]; consumers talk to it only through [`ShardRequest`]s answered with
//! `try_send`, so the shard never blocks on a consumer. The backfill repairs it through
//! [`Shard::fill_trade`], warm starts and tail claims ([`Shard::claim_tail`]).
//!
//! Inside, in the order a trade meets them: `shard` routes; `leaf` is a symbol's current
//! second, all a usual trade writes; `slow_path` handles every other trade, with `rollover`
//! (closing periods and folding them into coarser ones along `fold_tree`) and `late_trade`;
//! `node` and `part` hold the coarse pieces and `symbol_klines` composes them;
//! `open_cache` keeps them composed for pulls; `book` keeps all
//! symbols, the clock and `due_queue`; `delta_log` answers consumers; `holds` and
//! `held_symbol` repair symbols through `rebuild` and replays.

mod book;
mod client;
mod closed_log;
mod config;
mod delta_log;
mod due_queue;
mod effects;
mod fold_tree;
mod held_symbol;
mod holds;
mod late_trade;
mod leaf;
mod node;
mod open_cache;
mod part;
mod protocol;
mod rebuild;
mod restore;
mod rollover;
pub mod routing;
mod shard;
mod slow_path;
mod stats;
mod symbol_klines;
mod tail;
mod warm_start;

pub use client::{DeltaConsumer, PullError};
pub use config::{GapFillConfig, MAX_INTERVALS, ShardConfig, ShardConfigError};
pub use protocol::{
    ConsumerId, Delta, KlineRecord, PullRequest, ShardRequest, Snapshot, SnapshotRequest, Wake,
};
pub use restore::RestoreError;
pub use shard::{Shard, TradeOutcome};
pub use stats::{Gap, ShardStats};
pub use tail::{Tail, TailView};
pub use warm_start::WarmStart;
