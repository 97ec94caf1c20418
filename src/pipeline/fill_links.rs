//! The backfill's way into the shards: one ring per shard carrying the missing trades of the
//! shard's pending gaps (or word that they will not come) and tail checks, a channel per shard
//! for warm starts, where to find new gaps and tail views, and which connections reconnected.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use rtrb::{Producer, PushError};

use super::shard_stats::SharedShardStats;
use super::tail_answer::TailAnswer;
use super::thread_waker::ThreadWaker;
use crate::aggregator::routing::{global_index, shard_of};
use crate::aggregator::{Gap, WarmStart};
use crate::trade::AggTradePayload;

/// What the backfill sends a shard; symbol indices are the shard's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillInput {
    /// A missing trade of a pending gap.
    Trade(AggTradePayload),
    /// The symbol's missing trades that have not come will not: give its gap up.
    GiveUp(u32),
    /// How does the symbol's tail stand? Answered with a [`TailAnswer`] carrying `id`.
    Probe {
        /// The symbol.
        symbol: u32,
        /// Echoed in the answer.
        id: u64,
    },
    /// The exchange has the symbol's trades `from..=to`, sent next: a tail claim
    /// ([`crate::aggregator::Shard::claim_tail`]).
    TailClaim {
        /// The symbol.
        symbol: u32,
        /// First agg id the exchange has after the shard's last.
        from: i64,
        /// Last agg id of the trades that follow.
        to: i64,
    },
}

/// A warm start's steps, as a shard takes them; symbol indices are the shard's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarmInput {
    /// Keep the symbol's live trades from now on: its state is being fetched.
    Begin(u32),
    /// The symbol's rebuilt state.
    Done(WarmStart),
    /// The state could not be fetched: the symbol goes on from its live trades alone.
    Abort(u32),
}

/// Capacity of each shard's fill ring: a few REST pages.
pub const FILL_RING_CAPACITY: usize = 4_096;

/// How long a push waits between tries while a fill ring is full.
const FULL_PAUSE: Duration = Duration::from_micros(200);

/// The backfill's handles on a running engine (see `Engine::take_fill_links`).
pub struct FillLinks {
    rings: Vec<Producer<FillInput>>,
    warm: Vec<Sender<WarmInput>>,
    wakeups: Vec<Arc<ThreadWaker>>,
    stats: Vec<Arc<SharedShardStats>>,
    reconnects: Receiver<Vec<u32>>,
}

impl FillLinks {
    pub(crate) fn new(
        rings: Vec<Producer<FillInput>>,
        warm: Vec<Sender<WarmInput>>,
        wakeups: Vec<Arc<ThreadWaker>>,
        stats: Vec<Arc<SharedShardStats>>,
        reconnects: Receiver<Vec<u32>>,
    ) -> FillLinks {
        FillLinks {
            rings,
            warm,
            wakeups,
            stats,
            reconnects,
        }
    }

    /// Moves the symbols (engine-wide indices) of every connection that reconnected since the
    /// last call into `out`; a symbol carried by two connections that both did comes twice.
    pub fn take_reconnected(&self, out: &mut Vec<u32>) {
        for symbols in self.reconnects.try_iter() {
            out.extend(symbols);
        }
    }

    /// Asks the shard of `symbol` (engine-wide index) how its tail stands; the answer, with
    /// `id`, comes through [`FillLinks::take_tail_answers`]. False if the shard is gone.
    pub fn probe(&mut self, symbol: u32, id: u64) -> bool {
        let (shard, local) = shard_of(symbol, self.rings.len());
        self.send(shard, FillInput::Probe { symbol: local, id })
    }

    /// Moves the shards' answers to probes into `out`, with engine-wide symbol indices.
    pub fn take_tail_answers(&self, out: &mut Vec<TailAnswer>) {
        let n = self.stats.len();
        for (shard, stats) in self.stats.iter().enumerate() {
            let start = out.len();
            stats.take_tail_answers(out);
            for answer in &mut out[start..] {
                answer.view.symbol = global_index(shard, answer.view.symbol, n);
            }
        }
    }

    /// Tells the shard of `symbol` (engine-wide index) that the exchange has its trades
    /// `from..=to`, which are sent next; false if the shard is gone.
    pub fn claim_tail(&mut self, symbol: u32, from: i64, to: i64) -> bool {
        let (shard, local) = shard_of(symbol, self.rings.len());
        self.send(
            shard,
            FillInput::TailClaim {
                symbol: local,
                from,
                to,
            },
        )
    }

    /// Moves the gaps the shards found since the last call into `out`, with engine-wide
    /// symbol indices.
    pub fn take_gaps(&self, out: &mut Vec<Gap>) {
        take_gaps(&self.stats, out);
    }

    /// Hands a missing trade (engine-wide symbol index) to the shard of its symbol, waiting
    /// while that shard's ring is full; false if the shard is gone.
    pub fn send_trade(&mut self, mut trade: AggTradePayload) -> bool {
        let (shard, local) = shard_of(trade.symbol, self.rings.len());
        trade.symbol = local;
        self.send(shard, FillInput::Trade(trade))
    }

    /// Tells the shard of `symbol` (engine-wide index) to give its gap up; false if the shard
    /// is gone.
    pub fn give_up(&mut self, symbol: u32) -> bool {
        let (shard, local) = shard_of(symbol, self.rings.len());
        self.send(shard, FillInput::GiveUp(local))
    }

    /// Tells the shard of `symbol` (engine-wide index) to keep its live trades for a warm
    /// start; false if the shard is gone.
    pub fn begin_warm(&self, symbol: u32) -> bool {
        let (shard, local) = shard_of(symbol, self.warm.len());
        self.send_warm(shard, WarmInput::Begin(local))
    }

    /// Hands a symbol's rebuilt state (engine-wide index in `state.symbol`) to its shard.
    pub fn finish_warm(&self, mut state: WarmStart) -> bool {
        let (shard, local) = shard_of(state.symbol, self.warm.len());
        state.symbol = local;
        for trade in &mut state.trades {
            trade.symbol = local;
        }
        self.send_warm(shard, WarmInput::Done(state))
    }

    /// Tells the shard of `symbol` that its warm start will not come.
    pub fn abort_warm(&self, symbol: u32) -> bool {
        let (shard, local) = shard_of(symbol, self.warm.len());
        self.send_warm(shard, WarmInput::Abort(local))
    }

    fn send_warm(&self, shard: usize, input: WarmInput) -> bool {
        let sent = self.warm[shard].send(input).is_ok();
        self.wakeups[shard].wake();
        sent
    }

    fn send(&mut self, shard: usize, mut input: FillInput) -> bool {
        let ring = &mut self.rings[shard];
        loop {
            match ring.push(input) {
                Ok(()) => break,
                Err(PushError::Full(again)) => {
                    if ring.is_abandoned() {
                        return false;
                    }
                    input = again;
                    thread::sleep(FULL_PAUSE);
                }
            }
        }
        self.wakeups[shard].wake();
        true
    }
}

/// Moves the gaps published in `stats` (one per shard, in shard order) into `out`, with
/// engine-wide symbol indices.
pub(crate) fn take_gaps(stats: &[Arc<SharedShardStats>], out: &mut Vec<Gap>) {
    let n = stats.len();
    for (shard, stats) in stats.iter().enumerate() {
        let start = out.len();
        stats.take_gaps(out);
        for gap in &mut out[start..] {
            gap.symbol = global_index(shard, gap.symbol, n);
        }
    }
}
