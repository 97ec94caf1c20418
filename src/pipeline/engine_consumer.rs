//! A consumer of the whole engine: one delta pull gathers from every shard.

use std::time::{Duration, Instant};

use crate::aggregator::{Delta, DeltaConsumer, KlineRecord, PullError};

use super::delivery_stamps::DeliveryStamps;
use crate::aggregator::routing::global_index;

/// One registered consumer on every shard. Records come back with *global* symbol indices.
///
/// Each shard keeps this consumer's deltas on its own, so a shard that answers late or not at
/// all loses nothing: what it did not deliver comes with a later pull.
#[derive(Debug)]
pub struct EngineConsumer {
    shards: Vec<DeltaConsumer>,
    merged: Delta,
    /// Stamps each delivered kline's last trade when latency is being measured.
    deliveries: Option<DeliveryStamps>,
}

impl EngineConsumer {
    /// Wraps the per-shard consumers, shard `i` at position `i`.
    pub fn new(shards: Vec<DeltaConsumer>) -> EngineConsumer {
        EngineConsumer {
            shards,
            merged: Delta::default(),
            deliveries: None,
        }
    }

    /// Measures latency from now on: every kline this consumer receives is stamped as a
    /// delivery.
    pub(super) fn stamp_deliveries(&mut self, stamps: DeliveryStamps) {
        self.deliveries = Some(stamps);
    }

    /// The per-shard consumers, shard `i` at position `i` (records they return carry the
    /// shard's own symbol indices), for a caller that must never wait for a shard: it sends
    /// requests and picks up answers on its own schedule, as the gateway's event loop does.
    /// With them, the delivery stamps the caller must give what it receives, if latency is
    /// being measured.
    pub fn into_parts(self) -> (Vec<DeltaConsumer>, Option<DeliveryStamps>) {
        (self.shards, self.deliveries)
    }

    /// Pulls from every shard, waiting up to `timeout` in all, and returns what changed since
    /// the last pull: closed klines of each shard in close order (shards interleaved), changed
    /// open klines, and the closed klines missed by falling past the backlog bound. A shard
    /// that does not answer in time is skipped this round (its answer comes with the next
    /// pull); the returned delta is only valid until the next call.
    pub fn pull(&mut self, timeout: Duration) -> Result<&Delta, PullError> {
        self.merged.clear();
        let n = self.shards.len();
        // Answers that came after an earlier pull stopped waiting go first, which also empties
        // each reply slot so this pull's answers can be delivered.
        for shard in 0..n {
            if let Some(late) = self.shards[shard].take_late() {
                self.absorb(shard, late);
            }
        }
        let mut disconnected = 0;
        for consumer in &mut self.shards {
            if consumer.request() == Err(PullError::Disconnected) {
                disconnected += 1;
            }
        }
        if disconnected == n {
            return Err(PullError::Disconnected);
        }
        let deadline = Instant::now() + timeout;
        for shard in 0..n {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Ok(delta) = self.shards[shard].receive(left) {
                self.absorb(shard, delta);
            }
        }
        Ok(&self.merged)
    }

    /// Adds one shard's delta to the merged one, with global symbol indices.
    fn absorb(&mut self, shard: usize, delta: Delta) {
        let n = self.shards.len();
        let to_global = |r: &KlineRecord| KlineRecord {
            symbol: global_index(shard, r.symbol, n),
            ..*r
        };
        self.merged
            .closed
            .extend(delta.closed.iter().map(to_global));
        self.merged.open.extend(delta.open.iter().map(to_global));
        self.merged.missed_closed += delta.missed_closed;
        if let Some(stamps) = &mut self.deliveries {
            stamps.stamp(&delta, |local| global_index(shard, local, n));
        }
        self.shards[shard].recycle(delta);
    }
}
