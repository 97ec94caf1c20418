//! Building a running engine: the shards, their rings, the consumers, and the threads, one per
//! core the spec names. Stages the spec gives the same core run in one thread; a stage given
//! no core has a thread of its own. A caller can add stages of its own (the gateway) to a
//! core before the threads start.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::thread::{self, JoinHandle};

use mio::Poll;

use super::core_thread::{CoreThread, WAKER};
use super::io_stage::IoStage;
use super::probe::probe_writers;
use super::shard_clock::ShardClock;
use super::shard_worker::ShardWorker;
use super::stage::Stage;
use super::thread_plan::same_thread;
use super::thread_waker::ThreadWaker;
use super::{
    DeliveryStamps, Engine, EngineConsumer, EngineError, EngineSpec, FILL_RING_CAPACITY, FillLinks,
    IoStats, IoWorker, LatencyProbe, RECONNECT_NOTICES, ReconnectNotices, ShardLink,
    SharedShardStats,
};
use crate::aggregator::routing::shard_of;
use crate::aggregator::{DeltaConsumer, Shard, ShardRequest, ShardStats, Wake};
use crate::config::trade_stream;
use crate::idle::IdleStrategy;
use crate::ingress::connection::StreamConnection;
use crate::ingress::parser::TradeParser;
use crate::ingress::symbols::SymbolTable;

/// The stages of one thread, before it starts.
struct ThreadSlot {
    core: Option<usize>,
    poll: Poll,
    waker: Arc<ThreadWaker>,
    io: Vec<IoStage>,
    shards: Vec<ShardWorker>,
    extra: Vec<Box<dyn Stage>>,
}

impl ThreadSlot {
    fn new(core: Option<usize>) -> Result<ThreadSlot, EngineError> {
        let poll = Poll::new().map_err(EngineError::Spawn)?;
        let waker = ThreadWaker::new(poll.registry(), WAKER).map_err(EngineError::Spawn)?;
        Ok(ThreadSlot {
            core,
            poll,
            waker: Arc::new(waker),
            io: Vec::new(),
            shards: Vec::new(),
            extra: Vec::new(),
        })
    }

    /// A name saying where it runs and what it runs first.
    fn name(&self, index: usize) -> String {
        let what = if !self.io.is_empty() {
            "io"
        } else if !self.shards.is_empty() {
            "shard"
        } else {
            "stage"
        };
        match self.core {
            Some(core) => format!("klagg-core{core}"),
            None => format!("klagg-{what}-{index}"),
        }
    }
}

/// An engine whose threads have not started yet.
pub struct EngineBuilder {
    slots: Vec<ThreadSlot>,
    consumers: Vec<EngineConsumer>,
    idle: IdleStrategy,
    stop: Arc<AtomicBool>,
    engine: Engine,
}

impl EngineBuilder {
    /// Builds the shards, registers the consumers and prepares every stage of `spec`.
    ///
    /// # Errors
    ///
    /// The shard settings are unusable, a symbol cannot be routed, or a poll cannot be made.
    pub fn new(spec: EngineSpec) -> Result<EngineBuilder, EngineError> {
        let n_shards = spec.shard_cores.len().max(1);
        let ingress_stop = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let io_running = Arc::new(AtomicUsize::new(spec.connections.len()));
        let mut slots: Vec<ThreadSlot> = Vec::new();

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
        let mut shard_slots = Vec::with_capacity(n_shards);
        for index in 0..n_shards {
            let core = spec.shard_cores.get(index).copied().flatten();
            shard_slots.push(slot_for(&mut slots, core)?);
        }
        let wakers: Vec<Arc<ThreadWaker>> = shard_slots
            .iter()
            .map(|&slot| Arc::clone(&slots[slot].waker))
            .collect();
        let (request_txs, request_rxs): (Vec<_>, Vec<_>) = (0..n_shards)
            .map(|_| crossbeam_channel::bounded::<ShardRequest>(64))
            .unzip();
        let (fill_producers, fill_rings): (Vec<_>, Vec<_>) = (0..n_shards)
            .map(|_| rtrb::RingBuffer::new(FILL_RING_CAPACITY))
            .unzip();
        let (warm_senders, warm_receivers): (Vec<_>, Vec<_>) = (0..n_shards)
            .map(|_| crossbeam_channel::unbounded())
            .unzip();
        let mut consumers: Vec<EngineConsumer> = (0..spec.consumers)
            .map(|_| {
                EngineConsumer::new(
                    shards
                        .iter_mut()
                        .zip(&request_txs)
                        .zip(&wakers)
                        .map(|((shard, tx), waker)| {
                            let mut consumer =
                                DeltaConsumer::new(shard.register_consumer(), tx.clone());
                            // A sleeping shard sees a request at once, not at its next timer.
                            let waker = Arc::clone(waker);
                            consumer.on_request(Wake(Arc::new(move || waker.wake())));
                            consumer
                        })
                        .collect(),
                )
            })
            .collect();

        // shard_rings[s][i]: connection i -> shard s; producers[i][s] is its pushing end.
        let mut producers: Vec<Vec<_>> = (0..spec.connections.len()).map(|_| Vec::new()).collect();
        let mut shard_rings: Vec<Vec<_>> = (0..n_shards).map(|_| Vec::new()).collect();
        for (rings, waker) in shard_rings.iter_mut().zip(&wakers) {
            for io in &mut producers {
                let (ring, consumer) = rtrb::RingBuffer::new(spec.ring_capacity);
                io.push(ShardLink::new(ring, Arc::clone(waker)));
                rings.push(consumer);
            }
        }

        let (probe, read_stamps, update_stamps): (Option<LatencyProbe>, Vec<_>, Vec<_>) =
            match spec.probe {
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
        let mut update_stamps = update_stamps
            .into_iter()
            .map(Some)
            .chain(std::iter::repeat_with(|| None));
        let mut read_stamps = read_stamps
            .into_iter()
            .map(Some)
            .chain(std::iter::repeat_with(|| None));

        let mut shard_stats = Vec::with_capacity(n_shards);
        let shard_parts = shards
            .into_iter()
            .zip(shard_rings)
            .zip(request_rxs)
            .zip(fill_rings)
            .zip(warm_receivers);
        for (index, ((((shard, rings), requests), fills), warm)) in shard_parts.enumerate() {
            let stats = Arc::new(SharedShardStats::default());
            shard_stats.push(Arc::clone(&stats));
            slots[shard_slots[index]].shards.push(ShardWorker {
                shard,
                requests,
                ingress_stop: Arc::clone(&ingress_stop),
                stop: Arc::clone(&stop),
                stats,
                position: (index, n_shards),
                probe: update_stamps.next().flatten(),
                fills: Some(fills),
                warm: Some(warm),
                pending_gaps: Vec::new(),
                pending_answers: Vec::new(),
                clock: ShardClock::default(),
                ring_newest: vec![i64::MIN; rings.len()],
                rings,
                unpublished_steps: 0,
                last_publish: std::time::Instant::now(),
                done: false,
            });
        }

        let (event_tx, io_events) = crossbeam_channel::bounded(4096);
        // Reconnects are rare; a notice is a symbol list, and none is kept once this is full.
        let (reconnect_tx, reconnects) = crossbeam_channel::bounded(RECONNECT_NOTICES);
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
            if let Some(stamps) = read_stamps.next().flatten() {
                worker = worker.with_probe(stamps);
            }
            let carried = connection.symbols.iter().map(|(_, index)| *index).collect();
            worker =
                worker.with_reconnect_notices(ReconnectNotices::new(reconnect_tx.clone(), carried));
            let link = StreamConnection::new(&connection.url, streams, spec.connection.clone());
            let stage = IoStage::new(
                index,
                link,
                worker,
                Arc::clone(&ingress_stop),
                Arc::clone(&io_running),
            );
            let slot = slot_for(&mut slots, connection.core)?;
            slots[slot].io.push(stage);
            io_stats.push(stats);
            io_commands.push(command_tx);
        }

        let fill_links = FillLinks::new(
            fill_producers,
            warm_senders,
            wakers,
            shard_stats.clone(),
            reconnects,
        );
        let engine = Engine {
            fill_links: Some(fill_links),
            ingress_stop: Arc::clone(&ingress_stop),
            stop: Arc::clone(&stop),
            threads: Vec::new(),
            io_running: Arc::clone(&io_running),
            io_stats,
            shard_stats,
            io_commands,
            io_events,
            probe,
        };
        Ok(EngineBuilder {
            slots,
            consumers,
            idle: spec.idle,
            stop,
            engine,
        })
    }

    /// The engine to be: its counters, probe and backfill links are there before it starts.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine to be, to take its probe or backfill links before it starts.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The consumers the spec asked for (once).
    pub fn take_consumers(&mut self) -> Vec<EngineConsumer> {
        std::mem::take(&mut self.consumers)
    }

    /// Adds a stage of the caller's (the gateway) to the thread of `core` (a thread of its
    /// own without one): `make` gets what wakes that thread, for the stage's producers. The
    /// caller stops the stage; it does not keep the engine's threads alive long after
    /// [`Engine::stop`].
    ///
    /// # Errors
    ///
    /// `make` failed, or a poll cannot be made.
    pub fn add_stage(
        &mut self,
        core: Option<usize>,
        make: impl FnOnce(Wake) -> std::io::Result<Box<dyn Stage>>,
    ) -> Result<(), EngineError> {
        let slot = slot_for(&mut self.slots, core)?;
        let waker = Arc::clone(&self.slots[slot].waker);
        let stage = make(Wake(Arc::new(move || waker.wake()))).map_err(EngineError::Spawn)?;
        self.slots[slot].extra.push(stage);
        Ok(())
    }

    /// Starts every thread. A thread with one connection and nothing else, on a core that may
    /// sleep (`park`), blocks in its socket read; every other thread steps its stages and
    /// idles as the strategy says.
    ///
    /// # Errors
    ///
    /// The OS refused a thread.
    pub fn start(self) -> Result<Engine, EngineError> {
        let EngineBuilder {
            slots,
            idle,
            stop,
            mut engine,
            ..
        } = self;
        for (index, mut slot) in slots.into_iter().enumerate() {
            let name = slot.name(index);
            let alone = slot.io.len() == 1 && slot.shards.is_empty() && slot.extra.is_empty();
            let handle = if alone && matches!(idle, IdleStrategy::Park(_)) {
                let stage = slot.io.remove(0);
                let core = slot.core;
                spawn(&name, move |name| {
                    super::pin_current_thread(name, core);
                    stage.run_blocking();
                    Vec::new()
                })?
            } else {
                let engine_stages = slot.io.len() + slot.shards.len();
                let mut stages: Vec<Box<dyn Stage>> = Vec::new();
                stages.extend(slot.io.into_iter().map(|s| Box::new(s) as Box<dyn Stage>));
                stages.extend(
                    slot.shards
                        .into_iter()
                        .map(|s| Box::new(s) as Box<dyn Stage>),
                );
                stages.extend(slot.extra);
                let thread = CoreThread {
                    name: name.clone(),
                    core: slot.core,
                    stages,
                    idle,
                    poll: slot.poll,
                    waker: slot.waker,
                    engine_stages,
                    stop: Arc::clone(&stop),
                };
                spawn(&name, move |_| thread.run())?
            };
            engine.threads.push(handle);
        }
        Ok(engine)
    }
}

/// The slot of the thread that runs stages on `core`: the one already there for that core,
/// or a new one (always a new one without a core: an unpinned stage has a thread of its own).
fn slot_for(slots: &mut Vec<ThreadSlot>, core: Option<usize>) -> Result<usize, EngineError> {
    if let Some(slot) = slots.iter().position(|s| same_thread(s.core, core)) {
        return Ok(slot);
    }
    slots.push(ThreadSlot::new(core)?);
    Ok(slots.len() - 1)
}

fn spawn(
    name: &str,
    body: impl FnOnce(&str) -> Vec<(usize, ShardStats)> + Send + 'static,
) -> Result<JoinHandle<Vec<(usize, ShardStats)>>, EngineError> {
    let owned = name.to_owned();
    thread::Builder::new()
        .name(owned.clone())
        .spawn(move || body(&owned))
        .map_err(EngineError::Spawn)
}
