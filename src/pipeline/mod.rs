//! Wiring: the pinned threads of a running engine, the rings and channels between them, and
//! how they stop.
//!
//! ```text
//! connection i ─ io thread i ──ring(i, s)──► shard thread s ◄── pulls ── EngineConsumer
//! ```
//! Every io thread has one ring to every shard; a symbol's trades go to the shard
//! [`shard_of`](crate::aggregator::routing::shard_of) names, whichever connection carries them.

mod clock;
mod core_thread;
mod delivery_stamps;
mod engine_builder;
mod engine_consumer;
mod engine_stop;
mod fill_links;
mod io_stage;
mod io_stats;
mod io_worker;
mod pinning;
mod probe;
mod probe_collector;
mod reconnect_notices;
mod shard_clock;
mod shard_stats;
mod shard_worker;
mod stage;
mod tail_answer;
mod thread_plan;
mod thread_waker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use crate::aggregator::{Gap, ShardConfig, ShardConfigError, ShardStats};
use crate::idle::IdleStrategy;
use crate::ingress::connection::ConnectionOptions;
use crate::kline::Kline;
use crate::latency::Sampling;

pub use clock::now_ms;
pub use delivery_stamps::DeliveryStamps;
pub use engine_builder::EngineBuilder;
pub use engine_consumer::EngineConsumer;
pub use engine_stop::IngressStop;
pub use fill_links::{FILL_RING_CAPACITY, FillInput, FillLinks, WarmInput};
pub use io_stats::IoStats;
pub use io_worker::{IoCommand, IoEvent, IoWorker, ShardLink};
pub use probe::{LatencyProbe, StampWriter};
pub use probe_collector::{Collected, ProbeCollector};
pub use reconnect_notices::ReconnectNotices;
pub use shard_stats::SharedShardStats;
pub use stage::Stage;
pub use tail_answer::TailAnswer;
pub use thread_plan::{ThreadPlan, plan_threads, same_thread};
pub use thread_waker::ThreadWaker;

pub use pinning::pin_current_thread;

/// Reconnect notices waiting for the backfill at most; more are dropped (see
/// [`ReconnectNotices`]).
const RECONNECT_NOTICES: usize = 1_024;

/// One connection to build: where it runs, where it connects, what it carries.
#[derive(Debug, Clone)]
pub struct ConnectionSpec {
    /// Core to pin its io thread to.
    pub core: Option<usize>,
    /// Combined-stream endpoint, e.g. `wss://fstream.binance.com/market/stream`.
    pub url: String,
    /// Symbols and their global indices.
    pub symbols: Vec<(String, u32)>,
    /// Streams besides the symbols' aggTrade streams, e.g. `!miniTicker@arr`.
    pub extra_streams: Vec<String>,
}

/// Everything needed to start an engine.
#[derive(Debug, Clone)]
pub struct EngineSpec {
    /// What every shard is built from; its `max_symbols` is per shard.
    pub shard: ShardConfig,
    /// Global symbol capacity: every io thread's symbol table can hold this many.
    pub max_symbols: u32,
    /// One entry per shard: the core to pin it to.
    pub shard_cores: Vec<Option<usize>>,
    /// The connections.
    pub connections: Vec<ConnectionSpec>,
    /// How idle threads wait.
    pub idle: IdleStrategy,
    /// Capacity of each (io thread, shard) ring.
    pub ring_capacity: usize,
    /// Timing and size settings of every connection.
    pub connection: ConnectionOptions,
    /// How many [`EngineConsumer`]s to register.
    pub consumers: usize,
    /// Stamp the trades this picks on their way through (see [`Engine::take_probe`]): frame
    /// read and pushed in the io threads, updated in the shards, delivered to the last
    /// consumer.
    pub probe: Option<Sampling>,
    /// Open klines saved by an earlier run, restored before any trade: (global symbol index,
    /// interval index, kline). Ones that no longer fit (see [`Shard::restore_open`](crate::aggregator::Shard::restore_open)) are
    /// skipped and logged.
    pub restore: Vec<(u32, usize, Kline)>,
}

/// Why an engine could not start.
#[derive(Debug)]
pub enum EngineError {
    /// The shard settings are unusable.
    Shard(ShardConfigError),
    /// A symbol could not be put in an io thread's table.
    Symbol(String),
    /// The OS refused a thread.
    Spawn(std::io::Error),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Shard(e) => write!(f, "cannot build the aggregator shards: {e}"),
            EngineError::Symbol(e) => write!(f, "cannot route symbols: {e}"),
            EngineError::Spawn(e) => write!(f, "cannot start a thread: {e}"),
        }
    }
}

impl std::error::Error for EngineError {}

/// A running engine: its threads, and the handles to steer and observe it.
pub struct Engine {
    /// Ends the io stages.
    ingress_stop: Arc<AtomicBool>,
    /// Ends the shards, once their consumers had their final pulls.
    stop: Arc<AtomicBool>,
    /// Every thread; each returns the final counters of the shards it ran.
    threads: Vec<JoinHandle<Vec<(usize, ShardStats)>>>,
    /// Io stages still running.
    io_running: Arc<AtomicUsize>,
    io_stats: Vec<Arc<IoStats>>,
    shard_stats: Vec<Arc<SharedShardStats>>,
    io_commands: Vec<Sender<IoCommand>>,
    io_events: Receiver<IoEvent>,
    probe: Option<LatencyProbe>,
    /// Until a backfill takes them.
    fill_links: Option<FillLinks>,
}

/// What the engine's threads counted, returned when it stops.
#[derive(Debug, Clone, Default)]
pub struct EngineReport {
    /// Final counters of each shard.
    pub shards: Vec<ShardStats>,
}

impl Engine {
    /// Builds the shards, registers the consumers, and starts every thread: one per core the
    /// spec names (running every connection and shard given that core), and one per stage
    /// given no core.
    pub fn start(spec: EngineSpec) -> Result<(Engine, Vec<EngineConsumer>), EngineError> {
        let mut builder = EngineBuilder::new(spec)?;
        let consumers = builder.take_consumers();
        Ok((builder.start()?, consumers))
    }

    /// The latency probe, when the spec asked for one (once).
    pub fn take_probe(&mut self) -> Option<LatencyProbe> {
        self.probe.take()
    }

    /// Counters of each io thread, in connection order.
    pub fn io_stats(&self) -> &[Arc<IoStats>] {
        &self.io_stats
    }

    /// Agg-id gaps found since the last call, with global symbol indices (none once a
    /// backfill took the fill links: it takes them instead).
    pub fn take_gaps(&self) -> Vec<Gap> {
        let mut all = Vec::new();
        if self.fill_links.is_some() {
            fill_links::take_gaps(&self.shard_stats, &mut all);
        }
        all
    }

    /// The backfill's handles: the shards' fill rings and their gaps (once).
    pub fn take_fill_links(&mut self) -> Option<FillLinks> {
        self.fill_links.take()
    }

    /// Where each shard publishes its counters, for readers that outlive this borrow.
    pub fn shard_stats_handles(&self) -> Vec<Arc<SharedShardStats>> {
        self.shard_stats.clone()
    }

    /// Counters of each shard, as last published by its thread.
    pub fn shard_stats(&self) -> Vec<ShardStats> {
        self.shard_stats.iter().map(|s| s.get()).collect()
    }

    /// Symbols the ticker stream showed that no io thread handles yet.
    pub fn events(&self) -> &Receiver<IoEvent> {
        &self.io_events
    }

    /// Asks connection `connection`'s io thread to start handling a symbol.
    pub fn add_symbol(&self, connection: usize, symbol: &str, index: u32) -> bool {
        self.io_commands.get(connection).is_some_and(|tx| {
            tx.send(IoCommand::AddSymbol {
                symbol: symbol.to_owned(),
                index,
            })
            .is_ok()
        })
    }

    /// Asks connection `connection`'s io thread to stop handling a symbol.
    pub fn remove_symbol(&self, connection: usize, symbol: &str) -> bool {
        self.io_commands.get(connection).is_some_and(|tx| {
            tx.send(IoCommand::RemoveSymbol {
                symbol: symbol.to_owned(),
            })
            .is_ok()
        })
    }
}
