//! One aggregator shard as a stage: drains its rings, runs the clock, answers pulls.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use mio::{Registry, Token};
use rtrb::Consumer;

use crate::aggregator::{Gap, Shard, ShardRequest, ShardStats, TradeOutcome};
use crate::trade::AggTradePayload;

use super::clock::now_ms;
use super::fill_links::{FillInput, WarmInput};
use super::probe::StampWriter;
use super::shard_clock::ShardClock;
use super::shard_stats::SharedShardStats;
use super::stage::Stage;
use super::tail_answer::TailAnswer;
use super::thread_waker::ThreadWaker;
use crate::aggregator::routing::global_index;
use crate::latency::Stage as Point;

/// Trades taken from one ring before looking at the others, the clock and the requests, so a
/// busy io thread cannot starve pulls.
const BATCH: usize = 256;

/// Everything one shard owns.
pub struct ShardWorker {
    /// The shard's klines.
    pub shard: Shard,
    /// One ring per io thread.
    pub rings: Vec<Consumer<AggTradePayload>>,
    /// Pull and snapshot requests from consumers.
    pub requests: Receiver<ShardRequest>,
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
    /// Missing trades of pending gaps, from the backfill.
    pub fills: Option<Consumer<FillInput>>,
    /// Warm starts, from the backfill.
    pub warm: Option<Receiver<WarmInput>>,
    /// What the shard's periods close by: the wall clock, or its trades after a pause.
    pub clock: ShardClock,
    /// The newest trade time each ring has delivered (`i64::MIN` for none yet), for the clock.
    pub ring_newest: Vec<i64>,
    /// Steps since the counters were last published.
    pub unpublished_steps: u32,
    /// When the counters were last published.
    pub last_publish: Instant,
    /// True once it has applied everything and the engine stopped it.
    pub done: bool,
}

/// Busy steps between two publications of the counters.
const PUBLISH_EVERY: u32 = 1024;
/// Idle steps publish at most this often (a spinning thread steps millions of times a second).
const IDLE_PUBLISH_EVERY: Duration = Duration::from_millis(1);
/// Longest a shard goes unstepped without input: how late a quiet period may close.
const TICK_EVERY: Duration = Duration::from_millis(5);

impl ShardWorker {
    /// Applies what its rings, the backfill and the warm starts brought, closes what the clock
    /// says is due and answers the pulls waiting; true if there was any of it. Once the io
    /// stages have ended and their rings are empty it reports itself drained, and goes on
    /// answering pulls until the engine stops it.
    pub fn step(&mut self, now: Instant) -> bool {
        if self.done {
            return false;
        }
        let mut worked = self.drain_rings();
        worked |= self.drain_fills();
        worked |= self.drain_warm();
        let clock = self.clock.now(now_ms(), &self.ring_newest);
        self.shard.tick(clock);
        worked |= self.shard.serve_requests(&self.requests) > 0;
        if !worked && self.drained() {
            self.stats.set_drained();
        }
        if self.finished() {
            self.shard.serve_requests(&self.requests);
            self.publish(now);
            self.done = true;
            return true;
        }
        self.unpublished_steps += 1;
        let due = if worked {
            self.unpublished_steps >= PUBLISH_EVERY
        } else {
            now.saturating_duration_since(self.last_publish) >= IDLE_PUBLISH_EVERY
        };
        if due {
            self.publish(now);
        }
        worked
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
                    self.shard.process_trades(first);
                    self.shard.process_trades(second);
                }
                Some(probe) => {
                    let (shard, shards) = self.position;
                    let mut applied = [false; BATCH];
                    for (trade, applied) in first.iter().chain(second).zip(&mut applied) {
                        let outcome = self.shard.process_trade(trade);
                        // A copy of a trade already applied (a second connection's) updated
                        // nothing.
                        *applied =
                            !matches!(outcome, TradeOutcome::Duplicate | TradeOutcome::Invalid);
                    }
                    // One clock read per chunk, once all of it is in the klines: each stamp
                    // is no earlier than the update it marks, and the measurement does not
                    // add a clock read per trade to what it measures.
                    let at = probe.now_ns();
                    for (trade, _) in first.iter().chain(second).zip(applied).filter(|p| p.1) {
                        if probe.picks(trade.last_trade_id) {
                            let symbol = global_index(shard, trade.symbol, shards);
                            probe.stamp(Point::Updated, symbol, trade.last_trade_id, at, 0);
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
    fn publish(&mut self, now: Instant) {
        self.unpublished_steps = 0;
        self.last_publish = now;
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

impl Stage for ShardWorker {
    fn describe(&self) -> String {
        format!("shard {}", self.position.0)
    }

    /// A shard waits on nothing the poll sees: its producers wake the thread.
    fn register(&mut self, _: &Registry, _: Token, _: &Arc<ThreadWaker>) -> io::Result<()> {
        Ok(())
    }

    fn step(&mut self, now: Instant) -> bool {
        ShardWorker::step(self, now)
    }

    fn finished(&self) -> bool {
        self.done
    }

    fn wake_at(&self, now: Instant) -> Instant {
        now + TICK_EVERY
    }

    fn shard_report(&self) -> Option<(usize, ShardStats)> {
        self.done.then(|| (self.position.0, *self.shard.stats()))
    }
}
