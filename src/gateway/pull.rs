//! Delta pulls that never make the gateway loop wait: every shard is asked without waiting, and
//! its answer is picked up on a later turn of the loop, whenever it has arrived.
//!
//! The delta-pull protocol allows it as it is: each shard answers into the consumer's own
//! `bounded(1)` reply channel with `try_send`, and an answer not delivered is owed to the next
//! pull, so asking again never loses or repeats a kline.

use std::time::{Duration, Instant};

use crate::aggregator::routing::global_index;
use crate::aggregator::{Delta, DeltaConsumer, PullError, Wake};
use crate::pipeline::{DeliveryStamps, EngineConsumer};

/// How long an unanswered request is awaited before it is sent again. A shard answers within
/// a batch of trades; one that has not after this long may have stopped, and only a new
/// request can tell (its request channel is then disconnected).
pub const RESEND_AFTER: Duration = Duration::from_secs(1);

/// One shard's consumer and its outstanding request.
#[derive(Debug)]
struct ShardPull {
    consumer: DeltaConsumer,
    /// When the request now awaited was sent.
    asked: Option<Instant>,
    gone: bool,
}

/// The gateway's pulls from every shard of an engine.
#[derive(Debug)]
pub struct EnginePull {
    shards: Vec<ShardPull>,
    /// Given every answer, when latency is being measured.
    deliveries: Option<DeliveryStamps>,
    /// True when the shards hold requests until there is news and wake the loop.
    held: bool,
}

impl EnginePull {
    /// Pulls through `consumer`'s per-shard consumers. With `wake`, each shard holds a
    /// request until something changed and calls `wake` when it answered.
    pub fn new(consumer: EngineConsumer, wake: Option<Wake>) -> EnginePull {
        let (shards, deliveries) = consumer.into_parts();
        let held = wake.is_some();
        let shards = shards
            .into_iter()
            .map(|mut consumer| {
                if let Some(wake) = &wake {
                    consumer.hold_until_changed(wake.clone());
                }
                consumer
            })
            .map(|consumer| ShardPull {
                consumer,
                asked: None,
                gone: false,
            })
            .collect();
        EnginePull {
            shards,
            deliveries,
            held,
        }
    }

    /// Asks every shard that has no request outstanding (or one unanswered for
    /// [`RESEND_AFTER`]) what changed, without waiting; returns how many were asked.
    ///
    /// # Errors
    ///
    /// [`PullError::Disconnected`] once every shard has stopped.
    pub fn request(&mut self, now: Instant) -> Result<usize, PullError> {
        let mut asked = 0;
        for shard in &mut self.shards {
            let due = shard
                .asked
                .is_none_or(|at| now.duration_since(at) >= RESEND_AFTER);
            if shard.gone || !due {
                continue;
            }
            match shard.consumer.request() {
                Ok(()) => {
                    shard.asked = Some(now);
                    asked += 1;
                }
                // The shard's queue is full: asked again at the next push.
                Err(PullError::Busy | PullError::Timeout) => {}
                Err(PullError::Disconnected) => shard.gone = true,
            }
        }
        if self.shards.iter().all(|s| s.gone) {
            return Err(PullError::Disconnected);
        }
        Ok(asked)
    }

    /// True when requests are held by the shards until there is news (see [`EnginePull::new`]).
    pub fn held(&self) -> bool {
        self.held
    }

    /// When the oldest unanswered request was sent, if one is.
    pub fn waiting_since(&self) -> Option<Instant> {
        self.shards.iter().filter_map(|s| s.asked).min()
    }

    /// An answer that has arrived, without waiting: the shard it came from and its delta, whose
    /// symbol indices are the shard's own (see [`EnginePull::global`]). Hand it back with
    /// [`EnginePull::recycle`].
    pub fn try_next(&mut self) -> Option<(usize, Delta)> {
        let n = self.shards.len();
        let (shard, delta) = self.shards.iter_mut().enumerate().find_map(|(i, shard)| {
            let delta = shard.consumer.take_late()?;
            shard.asked = None;
            Some((i, delta))
        })?;
        if let Some(stamps) = &mut self.deliveries {
            stamps.stamp(&delta, |local| global_index(shard, local, n));
        }
        Some((shard, delta))
    }

    /// The engine-wide symbol index of shard `shard`'s symbol `local`.
    #[inline]
    pub fn global(&self, shard: usize, local: u32) -> u32 {
        global_index(shard, local, self.shards.len())
    }

    /// Keeps a processed delta's buffers for the shard's next request.
    pub fn recycle(&mut self, shard: usize, delta: Delta) {
        if let Some(s) = self.shards.get_mut(shard) {
            s.consumer.recycle(delta);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregator::{KlineRecord, ShardRequest};
    use crate::kline::Kline;

    /// A gateway pull on two hand-driven shards.
    fn two_shards() -> (EnginePull, Vec<crossbeam_channel::Receiver<ShardRequest>>) {
        let mut consumers = Vec::new();
        let mut queues = Vec::new();
        for _ in 0..2 {
            let mut shard = crate::aggregator::Shard::new(crate::aggregator::ShardConfig::new(
                crate::interval::Interval::parse_list("1m").unwrap(),
                4,
            ))
            .unwrap();
            let (tx, rx) = crossbeam_channel::bounded(4);
            consumers.push(DeltaConsumer::new(shard.register_consumer(), tx));
            queues.push(rx);
        }
        (
            EnginePull::new(EngineConsumer::new(consumers), None),
            queues,
        )
    }

    /// Answers the request waiting on `queue` with one open kline of local symbol `symbol`.
    fn answer(queue: &crossbeam_channel::Receiver<ShardRequest>, symbol: u32) {
        let Ok(ShardRequest::Pull(mut pull)) = queue.try_recv() else {
            panic!("no pull waiting");
        };
        pull.buffers.clear();
        pull.buffers.open.push(KlineRecord {
            symbol,
            interval: 0,
            correction: false,
            kline: Kline::empty(0, 59_999, 1),
        });
        pull.reply.send(pull.buffers).unwrap();
    }

    #[test]
    fn asks_without_waiting_and_collects_answers_as_they_come() {
        let (mut pull, queues) = two_shards();
        let t0 = Instant::now();
        assert_eq!(pull.request(t0), Ok(2));
        assert_eq!(pull.waiting_since(), Some(t0));
        assert!(pull.try_next().is_none(), "nothing has answered yet");
        // An outstanding request is not repeated at the next push...
        assert_eq!(pull.request(t0 + Duration::from_millis(100)), Ok(0));
        answer(&queues[1], 3);
        let (shard, delta) = pull.try_next().expect("shard 1 answered");
        assert_eq!(shard, 1);
        assert_eq!(pull.global(shard, delta.open[0].symbol), 7);
        pull.recycle(shard, delta);
        assert!(pull.try_next().is_none());
        assert_eq!(pull.waiting_since(), Some(t0), "shard 0 is still awaited");
        // ...but shard 1, answered, is asked again; shard 0 only once RESEND_AFTER passed.
        assert_eq!(pull.request(t0 + Duration::from_millis(200)), Ok(1));
        assert_eq!(pull.request(t0 + RESEND_AFTER), Ok(1));
        assert_eq!(queues[0].len(), 2, "shard 0 was asked twice");
        assert_eq!(queues[1].len(), 1);
    }

    #[test]
    fn reports_the_engine_gone_once_every_shard_stopped() {
        let (mut pull, queues) = two_shards();
        drop(queues);
        assert_eq!(pull.request(Instant::now()), Err(PullError::Disconnected));
    }
}
