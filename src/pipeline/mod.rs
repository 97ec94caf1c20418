//! Wiring: the pinned threads of a running engine, the rings and channels between them, and
//! how they stop.
//!
//! ```text
//! connection i ─ io thread i ──ring(i, s)──► shard thread s ◄── pulls ── EngineConsumer
//! ```
//! Every io thread has one ring to every shard; a symbol's trades go to the shard
//! [`shard_of`] names, whichever connection carries them.

mod clock;
mod delivery_stamps;
mod engine_consumer;
mod engine_stop;
mod fill_links;
mod io_stats;
mod io_worker;
mod pinning;
mod probe;
mod probe_collector;
mod reconnect_notices;
mod shard_clock;
mod shard_stats;
mod shard_wakeup;
mod shard_worker;
mod tail_answer;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};

use crate::aggregator::routing::shard_of;
use crate::aggregator::{
    DeltaConsumer, Gap, Shard, ShardConfig, ShardConfigError, ShardRequest, ShardStats, Wake,
};
use crate::config::trade_stream;
use crate::idle::IdleStrategy;
use crate::ingress::connection::{ConnectionOptions, StreamConnection};
use crate::ingress::parser::TradeParser;
use crate::ingress::symbols::SymbolTable;
use crate::kline::Kline;
use crate::latency::Sampling;

pub use clock::now_ms;
pub use delivery_stamps::DeliveryStamps;
pub use engine_consumer::EngineConsumer;
pub use engine_stop::IngressStop;
pub use fill_links::{FILL_RING_CAPACITY, FillInput, FillLinks, WarmInput};
pub use io_stats::IoStats;
pub use io_worker::{IoCommand, IoEvent, IoWorker, ShardLink};
use probe::probe_writers;
pub use probe::{LatencyProbe, StampWriter};
pub use probe_collector::{Collected, ProbeCollector};
pub use reconnect_notices::ReconnectNotices;
pub use shard_stats::SharedShardStats;
pub use shard_wakeup::ShardWakeup;
pub use tail_answer::TailAnswer;

pub use pinning::pin_current_thread;
use shard_clock::ShardClock;
use shard_worker::ShardWorker;

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
    /// interval index, kline). Ones that no longer fit (see [`Shard::restore_open`]) are
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
    /// Ends the io threads.
    ingress_stop: Arc<AtomicBool>,
    /// Ends the shards, once their consumers had their final pulls.
    stop: Arc<AtomicBool>,
    io_threads: Vec<JoinHandle<()>>,
    shard_threads: Vec<JoinHandle<ShardStats>>,
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
    /// Builds the shards, registers the consumers, and starts every thread.
    pub fn start(spec: EngineSpec) -> Result<(Engine, Vec<EngineConsumer>), EngineError> {
        let n_shards = spec.shard_cores.len().max(1);
        let ingress_stop = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));

        let mut shards = Vec::with_capacity(n_shards);
        for _ in 0..n_shards {
            shards.push(Shard::new(spec.shard.clone()).map_err(EngineError::Shard)?);
        }
        for (global, interval, kline) in &spec.restore {
            let (shard, local) = shard_of(*global, n_shards);
            if let Err(e) = shards[shard].restore_open(local, *interval, kline) {
                log::warn!(
                    "stored open kline of symbol {global} interval {interval} not restored: {e}"
                );
            }
        }
        let (request_txs, request_rxs): (Vec<_>, Vec<_>) = (0..n_shards)
            .map(|_| crossbeam_channel::bounded::<ShardRequest>(64))
            .unzip();
        let wakeups: Vec<Arc<ShardWakeup>> = (0..n_shards).map(|_| Arc::default()).collect();
        let (fill_producers, mut fill_rings): (Vec<_>, Vec<_>) = (0..n_shards)
            .map(|_| rtrb::RingBuffer::new(FILL_RING_CAPACITY))
            .unzip();
        fill_rings.reverse();
        let (warm_senders, mut warm_receivers): (Vec<_>, Vec<_>) = (0..n_shards)
            .map(|_| crossbeam_channel::unbounded())
            .unzip();
        warm_receivers.reverse();
        let mut consumers: Vec<EngineConsumer> = (0..spec.consumers)
            .map(|_| {
                EngineConsumer::new(
                    shards
                        .iter_mut()
                        .zip(&request_txs)
                        .zip(&wakeups)
                        .map(|((shard, tx), wakeup)| {
                            let mut consumer =
                                DeltaConsumer::new(shard.register_consumer(), tx.clone());
                            // A parked shard sees a request at once, not at the end of its park.
                            let wakeup = Arc::clone(wakeup);
                            consumer.on_request(Wake(Arc::new(move || wakeup.wake())));
                            consumer
                        })
                        .collect(),
                )
            })
            .collect();

        // shard_rings[s][i]: io thread i -> shard s; producers[i][s] is its pushing end.
        let mut producers: Vec<Vec<_>> = (0..spec.connections.len()).map(|_| Vec::new()).collect();
        let mut shard_rings: Vec<Vec<_>> = (0..n_shards).map(|_| Vec::new()).collect();
        for (rings, wakeup) in shard_rings.iter_mut().zip(&wakeups) {
            for io in &mut producers {
                let (ring, consumer) = rtrb::RingBuffer::new(spec.ring_capacity);
                io.push(ShardLink {
                    ring,
                    wakeup: Arc::clone(wakeup),
                });
                rings.push(consumer);
            }
        }

        let (probe, mut read_stamps, mut update_stamps) = match spec.probe {
            Some(sampling) => {
                let (probe, read, update, deliver) =
                    probe_writers(sampling, spec.connections.len(), n_shards, spec.consumers);
                if let (Some(writer), Some(last)) = (deliver, consumers.last_mut()) {
                    last.stamp_deliveries(DeliveryStamps::new(writer));
                }
                (Some(probe), read, update)
            }
            None => (None, Vec::new(), Vec::new()),
        };
        read_stamps.reverse();
        update_stamps.reverse();

        let mut shard_threads = Vec::with_capacity(n_shards);
        let mut shard_stats = Vec::with_capacity(n_shards);
        for (index, ((shard, rings), requests)) in shards
            .into_iter()
            .zip(shard_rings)
            .zip(request_rxs)
            .enumerate()
        {
            let core = spec.shard_cores.get(index).copied().flatten();
            let stats = Arc::new(SharedShardStats::default());
            shard_stats.push(Arc::clone(&stats));
            let worker = ShardWorker {
                shard,
                requests,
                idle: spec.idle,
                ingress_stop: Arc::clone(&ingress_stop),
                stop: Arc::clone(&stop),
                stats,
                position: (index, n_shards),
                probe: update_stamps.pop(),
                fills: fill_rings.pop(),
                warm: warm_receivers.pop(),
                pending_gaps: Vec::new(),
                pending_answers: Vec::new(),
                wakeup: Arc::clone(&wakeups[index]),
                clock: ShardClock::default(),
                ring_newest: vec![i64::MIN; rings.len()],
                rings,
            };
            let name = format!("klagg-shard-{index}");
            let handle = thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    pin_current_thread(&name, core);
                    worker.run()
                })
                .map_err(EngineError::Spawn)?;
            shard_threads.push(handle);
        }

        let (event_tx, io_events) = crossbeam_channel::bounded(4096);
        // Reconnects are rare; a notice is a symbol list, and none is kept once this is full.
        let (reconnect_tx, reconnects) = crossbeam_channel::bounded(RECONNECT_NOTICES);
        let mut io_threads = Vec::with_capacity(spec.connections.len());
        let mut io_stats = Vec::with_capacity(spec.connections.len());
        let mut io_commands = Vec::with_capacity(spec.connections.len());
        for (index, (connection, rings)) in spec.connections.iter().zip(producers).enumerate() {
            let mut parser = TradeParser::new(
                SymbolTable::with_capacity(spec.max_symbols as usize),
                spec.connection.max_message_bytes,
            );
            let mut streams =
                Vec::with_capacity(connection.symbols.len() + connection.extra_streams.len());
            for (symbol, global) in &connection.symbols {
                parser
                    .symbols_mut()
                    .insert(symbol, *global)
                    .map_err(|e| EngineError::Symbol(format!("{symbol}: {e}")))?;
                streams.push(trade_stream(symbol));
            }
            streams.extend(connection.extra_streams.iter().cloned());
            let (command_tx, commands) = crossbeam_channel::unbounded();
            let stats = Arc::new(IoStats::default());
            let mut worker = IoWorker::new(
                parser,
                rings,
                spec.idle,
                Arc::clone(&ingress_stop),
                commands,
                event_tx.clone(),
                Arc::clone(&stats),
            );
            if let Some(stamps) = read_stamps.pop() {
                worker = worker.with_probe(stamps);
            }
            let carried = connection.symbols.iter().map(|(_, index)| *index).collect();
            worker =
                worker.with_reconnect_notices(ReconnectNotices::new(reconnect_tx.clone(), carried));
            let mut link = StreamConnection::new(&connection.url, streams, spec.connection.clone());
            let core = connection.core;
            let thread_stop = Arc::clone(&ingress_stop);
            let name = format!("klagg-io-{index}");
            let handle = thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    pin_current_thread(&name, core);
                    link.run(&mut worker, &thread_stop);
                })
                .map_err(EngineError::Spawn)?;
            io_threads.push(handle);
            io_stats.push(stats);
            io_commands.push(command_tx);
        }

        let fill_links = FillLinks::new(
            fill_producers,
            warm_senders,
            wakeups.clone(),
            shard_stats.clone(),
            reconnects,
        );
        let engine = Engine {
            fill_links: Some(fill_links),
            ingress_stop,
            stop,
            io_threads,
            shard_threads,
            io_stats,
            shard_stats,
            io_commands,
            io_events,
            probe,
        };
        Ok((engine, consumers))
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
