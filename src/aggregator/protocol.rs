//! The messages consumers exchange with a shard.
//!
//! Every request carries its own reply sender, created `bounded(1)` by the consumer; the shard
//! answers with `try_send` and never waits. A reply that cannot be delivered comes back to the
//! shard as the error value, so its buffers are kept and its contents are owed to the next pull.

use crossbeam_channel::Sender;

use crate::kline::Kline;

/// A consumer's handle on a shard, returned by [`super::Shard::register_consumer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConsumerId(pub(crate) u32);

/// One kline of one symbol and interval as handed to consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KlineRecord {
    /// Dense symbol index.
    pub symbol: u32,
    /// Index of the interval in the shard's [`super::ShardConfig::intervals`].
    pub interval: u16,
    /// True when this closed kline replaces one delivered earlier (a late trade corrected it).
    pub correction: bool,
    /// The kline itself.
    pub kline: Kline,
}

/// What changed since a consumer's last delivered pull.
#[derive(Debug, Default)]
pub struct Delta {
    /// Every kline closed since then, each exactly once, in close order; empty klines and
    /// corrections included.
    pub closed: Vec<KlineRecord>,
    /// The latest state of every open kline that changed since then.
    pub open: Vec<KlineRecord>,
    /// Closed klines this consumer will never receive because it fell more than the backlog
    /// bound behind; zero unless it was lagging.
    pub missed_closed: u64,
}

impl Delta {
    /// Empties the delta but keeps its buffers, so the next pull does not allocate.
    pub fn clear(&mut self) {
        self.closed.clear();
        self.open.clear();
        self.missed_closed = 0;
    }
}

/// The current state of every open kline of a shard, for a new subscriber.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// One record per (symbol, interval) that has seen a trade.
    pub open: Vec<KlineRecord>,
}

/// "What changed since my last pull?"
#[derive(Debug)]
pub struct PullRequest {
    /// Who is asking.
    pub consumer: ConsumerId,
    /// Buffers to fill (a recycled delta); the shard clears them first.
    pub buffers: Delta,
    /// Where the answer goes; should be `bounded(1)`.
    pub reply: Sender<Delta>,
    /// `Some`: hold the request until something changed for this consumer (instead of
    /// answering an empty delta at once), then answer and call this. A consumer that wants
    /// every change as it happens then asks again right away without spinning.
    pub hold: Option<Wake>,
}

/// Wakes a consumer that waits on something other than its reply channel (the gateway's
/// event loop waits on its sockets), once a held pull has been answered.
#[derive(Clone)]
pub struct Wake(pub std::sync::Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for Wake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wake")
    }
}

/// "What is open right now?"
#[derive(Debug)]
pub struct SnapshotRequest {
    /// Buffers to fill (a recycled snapshot); the shard clears them first.
    pub buffers: Snapshot,
    /// Where the answer goes; should be `bounded(1)`.
    pub reply: Sender<Snapshot>,
}

/// Everything a shard answers.
#[derive(Debug)]
pub enum ShardRequest {
    /// A delta pull.
    Pull(PullRequest),
    /// A snapshot of all open klines.
    Snapshot(SnapshotRequest),
}
