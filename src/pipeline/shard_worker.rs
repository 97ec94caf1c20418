//! The aggregator thread of one shard: drains its rings, runs the clock, answers pulls.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::Receiver;
use rtrb::Consumer;

use crate::aggregator::{Gap, Shard, ShardRequest, ShardStats, TradeOutcome};
use crate::idle::IdleStrategy;
use crate::trade::AggTradePayload;

use super::clock::now_ms;
use super::fill_links::{FillInput, WarmInput};
use super::probe::StampWriter;
use super::shard_clock::ShardClock;
use super::shard_stats::SharedShardStats;
use super::shard_wakeup::ShardWakeup;
use super::tail_answer::TailAnswer;
use crate::aggregator::routing::global_index;
use crate::latency::Stage;

/// Trades taken from one ring before looking at the others, the clock and the requests, so a
/// busy io thread cannot starve pulls.
const BATCH: usize = 256;

/// Everything one shard thread owns.
pub struct ShardWorker {
    /// The shard's klines.
    pub shard: Shard,
    /// One ring per io thread.
    pub rings: Vec<Consumer<AggTradePayload>>,
    /// Pull and snapshot requests from consumers.
    pub requests: Receiver<ShardRequest>,
    /// How to wait when there is nothing to do.
    pub idle: IdleStrategy,
    /// Set when the io threads are asked to stop: once they have all ended and the rings are
    /// empty, the shard reports itself drained (and keeps answering pulls).
    pub ingress_stop: Arc<AtomicBool>,
    /// Set when the shard is to end, after its consumers' final pulls.
    pub stop: Arc<AtomicBool>,
    /// Where the shard's counters are published for status lines.
    pub stats: Arc<SharedShardStats>,
    /// This shard's index and the number of shards, to stamp global symbol indices.
    pub position: (usize, usize),
    /// Stamps each trade's kline-update time when latency is being measured.
    pub probe: Option<StampWriter>,
    /// Gaps taken from the shard and not yet handed over.
    pub pending_gaps: Vec<Gap>,
    /// Answers to tail probes not yet handed over.
    pub pending_answers: Vec<TailAnswer>,
    /// Lets the io threads end this shard's park when they push a trade.
    pub wakeup: Arc<ShardWakeup>,
    /// Missing trades of pending gaps, from the backfill.
    pub fills: Option<Consumer<FillInput>>,
    /// Warm starts, from the backfill.
    pub warm: Option<Receiver<WarmInput>>,
    /// What the shard's periods close by: the wall clock, or its trades after a pause.
    pub clock: ShardClock,
    /// The newest trade time each ring has delivered (`i64::MIN` for none yet), for the clock.
    pub ring_newest: Vec<i64>,
}

/// Busy loop iterations between two publications of the counters (an idle one always publishes).
const PUBLISH_EVERY: u32 = 1024;

impl ShardWorker {
    /// Runs until the engine stops it and its rings are empty; returns the shard's final
    /// counters. Once the io threads have ended and their rings are empty it reports itself
    /// drained, and goes on answering pulls until then.
    pub fn run(mut self) -> ShardStats {
        let mut busy_iterations = 0u32;
        self.wakeup.register_current_thread();
        loop {
            let mut worked = self.drain_rings();
            worked |= self.drain_fills();
            worked |= self.drain_warm();
            let now = self.clock.now(now_ms(), &self.ring_newest);
            self.shard.tick(now);
            worked |= self.shard.serve_requests(&self.requests) > 0;
            if !worked && self.drained() {
                self.stats.set_drained();
            }
            if self.finished() {
                self.shard.serve_requests(&self.requests);
                self.publish();
                return *self.shard.stats();
            }
            busy_iterations += 1;
            if !worked || busy_iterations >= PUBLISH_EVERY {
                busy_iterations = 0;
                self.publish();
            }
            if !worked {
                match self.idle {
                    IdleStrategy::Park(timeout) => self.wakeup.park(timeout),
                    other => other.idle(),
                }
            }
        }
    }

    /// Applies up to a batch from every ring; true if any trade was applied.
    fn drain_rings(&mut self) -> bool {
        let mut any = false;
        for (ring, newest) in self.rings.iter_mut().zip(&mut self.ring_newest) {
            let available = ring.slots().min(BATCH);
            if available == 0 {
                continue;
            }
            let Ok(chunk) = ring.read_chunk(available) else {
                continue;
            };
            let (first, second) = chunk.as_slices();
            if let Some(last) = second.last().or(first.last()) {
                *newest = (*newest).max(last.trade_time_ms);
            }
            match &mut self.probe {
                None => {
                    for trade in first.iter().chain(second) {
                        self.shard.process_trade(trade);
                    }
                }
                Some(probe) => {
                    let (shard, shards) = self.position;
                    for trade in first.iter().chain(second) {
                        let outcome = self.shard.process_trade(trade);
                        // A copy of a trade already applied (a second connection's) updated
                        // nothing.
                        let applied =
                            !matches!(outcome, TradeOutcome::Duplicate | TradeOutcome::Invalid);
                        if applied && probe.picks(trade.last_trade_id) {
                            let symbol = global_index(shard, trade.symbol, shards);
                            let at = probe.now_ns();
                            probe.stamp(Stage::Updated, symbol, trade.last_trade_id, at, 0);
                        }
                    }
                }
            }
            chunk.commit_all();
            any = true;
        }
        any
    }

    /// Applies up to a batch of the backfill's input; true if there was any.
    fn drain_fills(&mut self) -> bool {
        let Some(fills) = &mut self.fills else {
            return false;
        };
        let available = fills.slots().min(BATCH);
        if available == 0 {
            return false;
        }
        let Ok(chunk) = fills.read_chunk(available) else {
            return false;
        };
        for input in chunk {
            match input {
                FillInput::Trade(trade) => {
                    // A trade no pending gap misses any more (filled meanwhile from another
                    // connection, or given up) has nothing left to fix.
                    self.shard.fill_trade(&trade);
                }
                FillInput::GiveUp(symbol) => {
                    self.shard.abandon_gap(symbol);
                }
                FillInput::Probe { symbol, id } => {
                    let view = self.shard.tail_view(symbol);
                    self.pending_answers.push(TailAnswer { id, view });
                }
                FillInput::TailClaim { symbol, from, to } => {
                    self.shard.claim_tail(symbol, from, to);
                }
            }
        }
        // The backfill waits for the answer: hand it over now, not at the next publish.
        self.stats.publish_tail_answers(&mut self.pending_answers);
        true
    }

    /// Takes the warm-start steps that have come; true if there was any.
    fn drain_warm(&mut self) -> bool {
        let Some(warm) = &self.warm else {
            return false;
        };
        let mut any = false;
        while let Ok(input) = warm.try_recv() {
            any = true;
            match input {
                WarmInput::Begin(symbol) => {
                    self.shard.begin_warm(symbol);
                }
                WarmInput::Done(state) => {
                    let symbol = state.symbol;
                    if !self.shard.finish_warm(state) {
                        log::error!("warm start of local symbol {symbol} does not fit the shard");
                    }
                }
                WarmInput::Abort(symbol) => self.shard.abandon_warm(symbol),
            }
        }
        any
    }

    /// Publishes counters and gaps for the rest of the engine.
    fn publish(&mut self) {
        self.shard.take_gaps(&mut self.pending_gaps);
        self.stats
            .publish(self.shard.stats(), &mut self.pending_gaps);
        self.stats.publish_tail_answers(&mut self.pending_answers);
    }

    /// True once the io threads were asked to stop, have all ended, and left nothing unread.
    fn drained(&self) -> bool {
        self.ingress_stop.load(Ordering::Acquire)
            && self
                .rings
                .iter()
                .all(|ring| ring.is_abandoned() && ring.is_empty())
    }

    /// True once the shard is to end and nothing is left in its rings. An io thread that has
    /// not ended by then (one stuck in a TCP connect) has nothing to push.
    fn finished(&self) -> bool {
        self.stop.load(Ordering::Acquire) && self.rings.iter().all(|ring| ring.is_empty())
    }
}
