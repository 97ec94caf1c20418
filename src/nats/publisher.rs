//! The publisher thread: one more delta consumer of the engine, publishing what it pulls.
//!
//! The thread runs a single-threaded tokio runtime of its own for `async-nats`; nothing of
//! tokio runs on an io or aggregator thread (a shard wakes the runtime through an eventfd, see
//! [`super::wake`]). It pulls only while the server is connected and fewer than `max_pending`
//! closed klines wait for JetStream's acknowledgement; otherwise it stops pulling, and the
//! shards keep its cursor: what closed meanwhile comes with the next pull once the server is
//! back (past the engine's `max_backlog` it is counted as missed). Closed klines leave the
//! pending queue only once acknowledged, and are published again after a failure; their
//! `Nats-Msg-Id` makes the repeats harmless. Open-kline updates pulled while the server is away
//! are counted and skipped: the next change of the kline supersedes them.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_nats::connection::State;
use async_nats::header::NATS_MESSAGE_ID;
use async_nats::jetstream;
use async_nats::{HeaderMap, ServerAddr, Subject};
use bytes::Bytes;

use super::msg_id::{content_hash, write_msg_id};
use super::runtime_thread::spawn_on_runtime;
use super::stats::NatsStats;
use super::streams::ensure_streams;
use super::subject::{Family, subject};
use super::wake::WakeFd;
use crate::aggregator::routing::global_index;
use crate::aggregator::{Delta, DeltaConsumer, KlineRecord, PullError};
use crate::config::{Market, NatsSettings};
use crate::egress::{Decimals, write_kline_event};
use crate::gateway::DecimalsFn;
use crate::interval::Interval;
use crate::pipeline::{EngineConsumer, now_ms};

/// Closed klines sent before their acknowledgements are awaited.
const BATCH: usize = 512;
/// How long an acknowledgement is awaited before the kline is sent again.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the publisher sleeps when nothing wakes it: the pace of reconnect checks.
const IDLE: Duration = Duration::from_millis(100);
/// Closed klines whose published content is remembered before the older ones are forgotten.
const REMEMBERED: usize = 1 << 20;
/// How long a stop keeps trying to publish what is pending.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// What the publisher needs besides the engine consumer.
pub struct PublisherConfig {
    /// The `[nats]` settings.
    pub settings: NatsSettings,
    /// The market, the third subject token.
    pub market: Market,
    /// The engine's intervals, by the index records carry.
    pub intervals: Vec<Interval>,
    /// Global symbol index → name, as the symbol manager keeps it.
    pub names: Arc<RwLock<Vec<String>>>,
    /// Each symbol's decimals for the kline event's text.
    pub decimals: DecimalsFn,
}

/// A running publisher thread.
pub struct NatsHandle {
    /// Live counters.
    pub stats: Arc<NatsStats>,
    thread: JoinHandle<()>,
}

impl NatsHandle {
    /// Waits for the thread to end (set the stop flag first).
    pub fn join(self) {
        if self.thread.join().is_err() {
            log::error!("the NATS publisher thread panicked");
        }
    }
}

/// Starts the publisher thread on `consumer`; it runs until `stop` is set or the engine ends,
/// then publishes what it holds (for up to 5 s) and ends.
///
/// # Errors
///
/// The servers do not parse as NATS URLs, or the thread cannot be started.
pub fn spawn_publisher(
    consumer: EngineConsumer,
    config: PublisherConfig,
    stop: Arc<AtomicBool>,
) -> io::Result<NatsHandle> {
    let servers = config
        .settings
        .servers
        .iter()
        .map(|s| s.parse::<ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("nats.servers: {e}")))?;
    let stats = Arc::new(NatsStats::default());
    let thread_stats = Arc::clone(&stats);
    let thread = spawn_on_runtime(
        "klagg-nats",
        move || async move {
            if let Err(e) = run(consumer, config, servers, thread_stats, stop).await {
                log::error!("NATS publisher stopped: {e}");
            }
        },
        |why| log::error!("NATS publisher: {why}"),
    )?;
    Ok(NatsHandle { stats, thread })
}

/// A closed kline waiting for JetStream's acknowledgement.
struct Pending {
    subject: Subject,
    id: String,
    payload: Bytes,
}

/// What the publisher knows of one symbol: its name, decimals and subjects by interval.
struct SymbolEntry {
    name: String,
    decimals: Decimals,
    kline: Vec<Subject>,
    closed: Vec<Subject>,
}

/// One engine shard's consumer and whether a pull is outstanding.
struct ShardPull {
    consumer: DeltaConsumer,
    asked: bool,
    gone: bool,
}

struct Publisher {
    config: PublisherConfig,
    stats: Arc<NatsStats>,
    client: async_nats::Client,
    js: jetstream::Context,
    symbols: Vec<Option<SymbolEntry>>,
    pending: VecDeque<Pending>,
    event: Vec<u8>,
    id: String,
    /// The content hash this host published for each recent closed kline, by (symbol,
    /// interval, open time), with its close time: a correction that differs from it gets the
    /// `.c` id (see [`super::msg_id`]).
    published: HashMap<(u32, u16, i64), (u64, i64)>,
}

async fn run(
    consumer: EngineConsumer,
    config: PublisherConfig,
    servers: Vec<ServerAddr>,
    stats: Arc<NatsStats>,
    stop: Arc<AtomicBool>,
) -> Result<(), String> {
    let (wake_fd, wake) = WakeFd::new().map_err(|e| format!("eventfd: {e}"))?;
    let (shards, _stamps) = consumer.into_parts();
    let n = shards.len();
    let mut shards: Vec<ShardPull> = shards
        .into_iter()
        .map(|mut consumer| {
            consumer.hold_until_changed(wake.clone());
            ShardPull {
                consumer,
                asked: false,
                gone: false,
            }
        })
        .collect();
    let client = async_nats::ConnectOptions::new()
        .name("klagg")
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| Duration::from_millis(50 << attempts.min(4)))
        .connect(servers)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let js = jetstream::new(client.clone());
    let mut publisher = Publisher {
        config,
        stats,
        client,
        js,
        symbols: Vec::new(),
        pending: VecDeque::new(),
        event: Vec::with_capacity(512),
        id: String::with_capacity(96),
        published: HashMap::new(),
    };
    let settings = publisher.config.settings.clone();
    let mut streams_ready = !(settings.closed || settings.latest);
    let mut retry_at = Instant::now();
    loop {
        let stopping = stop.load(Ordering::Acquire);
        let connected = publisher.client.connection_state() == State::Connected;
        publisher
            .stats
            .connected
            .store(connected, Ordering::Relaxed);
        if connected && !streams_ready && Instant::now() >= retry_at {
            let window = settings.closed.then_some(settings.duplicate_window);
            match ensure_streams(
                &publisher.js,
                &settings.subject_prefix,
                window,
                settings.latest,
            )
            .await
            {
                Ok(()) => streams_ready = true,
                Err(e) => {
                    log::warn!("NATS: {e}; trying again");
                    retry_at = Instant::now() + Duration::from_secs(1);
                }
            }
        }
        let ready = connected && streams_ready;
        for (index, shard) in shards.iter_mut().enumerate() {
            if let Some(delta) = shard.consumer.take_late() {
                shard.asked = false;
                publisher.absorb(&delta, index, n, ready).await;
                shard.consumer.recycle(delta);
            }
        }
        if ready && !publisher.pending.is_empty() {
            publisher.publish_pending().await;
        }
        // Asked after the answers are taken, so a pull is always outstanding while waiting:
        // the shard answers it when something changes and wakes this loop.
        if ready && publisher.pending.len() < settings.max_pending {
            for shard in shards.iter_mut().filter(|s| !s.asked && !s.gone) {
                match shard.consumer.request() {
                    Ok(()) => shard.asked = true,
                    Err(PullError::Disconnected) => shard.gone = true,
                    Err(PullError::Busy | PullError::Timeout) => {}
                }
            }
        }
        if stopping || shards.iter().all(|s| s.gone) {
            break;
        }
        tokio::select! {
            () = wake_fd.wait() => {}
            () = tokio::time::sleep(IDLE) => {}
        }
    }
    publisher.finish(&mut shards, n).await;
    Ok(())
}

impl Publisher {
    /// Takes one shard's delta in: open klines published at once, closed ones queued.
    async fn absorb(&mut self, delta: &Delta, shard: usize, n: usize, connected: bool) {
        if delta.missed_closed > 0 {
            NatsStats::add(&self.stats.missed, delta.missed_closed);
            log::error!(
                "NATS publisher fell behind the engine's backlog bound: {} closed klines will \
                 never be published",
                delta.missed_closed
            );
        }
        let live = self.config.settings.open || self.config.settings.latest;
        for record in &delta.open {
            if !live {
                break;
            }
            if !connected {
                NatsStats::add(&self.stats.open_dropped, 1);
                continue;
            }
            self.publish_live(record, global_index(shard, record.symbol, n), false)
                .await;
        }
        for record in &delta.closed {
            let symbol = global_index(shard, record.symbol, n);
            if live && connected {
                self.publish_live(record, symbol, true).await;
            }
            if self.config.settings.closed {
                self.queue_closed(record, symbol);
            }
        }
        self.stats
            .pending
            .store(self.pending.len() as u64, Ordering::Relaxed);
    }

    /// The entry of global symbol `symbol`, made on first sight from the symbol list.
    fn entry(&mut self, symbol: u32) -> Option<&SymbolEntry> {
        let index = symbol as usize;
        if self.symbols.len() <= index {
            self.symbols.resize_with(index + 1, || None);
        }
        if self.symbols[index].is_none() {
            let name = self
                .config
                .names
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(index)
                .cloned()?;
            let prefix = &self.config.settings.subject_prefix;
            let market = self.config.market;
            let subjects = |family| {
                self.config
                    .intervals
                    .iter()
                    .map(|iv| Subject::from(subject(prefix, family, market, &name, *iv)))
                    .collect()
            };
            self.symbols[index] = Some(SymbolEntry {
                decimals: (self.config.decimals)(&name),
                kline: subjects(Family::Kline),
                closed: subjects(Family::Closed),
                name,
            });
        }
        self.symbols[index].as_ref()
    }

    /// Encodes `record` as Binance's kline event into `self.event`; the interval's index.
    fn encode(&mut self, record: &KlineRecord, symbol: u32, closed: bool) -> Option<usize> {
        let slot = usize::from(record.interval);
        let interval = *self.config.intervals.get(slot)?;
        let mut event = std::mem::take(&mut self.event);
        event.clear();
        let entry = self.entry(symbol)?;
        write_kline_event(
            &mut event,
            now_ms(),
            &entry.name,
            interval,
            &record.kline,
            closed,
            entry.decimals,
        );
        self.event = event;
        Some(slot)
    }

    async fn publish_live(&mut self, record: &KlineRecord, symbol: u32, closed: bool) {
        let Some(slot) = self.encode(record, symbol, closed) else {
            return;
        };
        let Some(subject) = self.entry(symbol).map(|e| e.kline[slot].clone()) else {
            return;
        };
        let payload = Bytes::copy_from_slice(&self.event);
        if self.client.publish(subject, payload).await.is_ok() {
            NatsStats::add(&self.stats.open_published, 1);
        } else {
            NatsStats::add(&self.stats.open_dropped, 1);
        }
    }

    fn queue_closed(&mut self, record: &KlineRecord, symbol: u32) {
        let Some(slot) = self.encode(record, symbol, true) else {
            return;
        };
        let market = self.config.market;
        let interval = self.config.intervals[slot];
        let replaces = self.remember(symbol, record);
        let mut id = std::mem::take(&mut self.id);
        let Some(entry) = self.entry(symbol) else {
            return;
        };
        write_msg_id(
            &mut id,
            market,
            &entry.name,
            interval,
            &record.kline,
            replaces,
        );
        let subject = entry.closed[slot].clone();
        self.pending.push_back(Pending {
            subject,
            id: id.clone(),
            payload: Bytes::copy_from_slice(&self.event),
        });
        self.id = id;
    }

    /// Notes the content published for `record`'s kline; true when it is a correction of a
    /// different version this host published.
    fn remember(&mut self, symbol: u32, record: &KlineRecord) -> bool {
        let kline = &record.kline;
        let hash = content_hash(kline);
        if self.published.len() >= REMEMBERED {
            // Forget the older half: corrections of klines that old are rare, and one then
            // carries the plain id (documented in docs/nats.md).
            let mut times: Vec<i64> = self.published.values().map(|v| v.1).collect();
            let middle = times.len() / 2;
            let (_, median, _) = times.select_nth_unstable(middle);
            let median = *median;
            self.published.retain(|_, v| v.1 > median);
        }
        let key = (symbol, record.interval, kline.open_time);
        let before = self.published.insert(key, (hash, kline.close_time));
        record.correction && before.is_some_and(|(had, _)| had != hash)
    }

    /// Sends up to [`BATCH`] pending klines, awaits their acknowledgements in order and drops
    /// the acknowledged ones; the first failure ends the round (the rest go again later).
    async fn publish_pending(&mut self) {
        while !self.pending.is_empty() {
            let mut acks = Vec::with_capacity(BATCH.min(self.pending.len()));
            for message in self.pending.iter().take(BATCH) {
                let mut headers = HeaderMap::new();
                headers.insert(NATS_MESSAGE_ID, message.id.as_str());
                match self
                    .js
                    .publish_with_headers(message.subject.clone(), headers, message.payload.clone())
                    .await
                {
                    Ok(ack) => acks.push(ack),
                    Err(_) => break,
                }
            }
            let sent = acks.len();
            let mut acked = 0;
            for ack in acks {
                match tokio::time::timeout(ACK_TIMEOUT, ack.into_future()).await {
                    Ok(Ok(ack)) => {
                        acked += 1;
                        if ack.duplicate {
                            NatsStats::add(&self.stats.closed_duplicates, 1);
                        }
                    }
                    _ => break,
                }
            }
            self.pending.drain(..acked);
            NatsStats::add(&self.stats.closed_acked, acked as u64);
            self.stats
                .pending
                .store(self.pending.len() as u64, Ordering::Relaxed);
            if acked < sent || sent == 0 {
                NatsStats::add(&self.stats.closed_retries, 1);
                return;
            }
        }
    }

    /// The final pull's answers, then what is pending, for up to [`STOP_TIMEOUT`].
    async fn finish(&mut self, shards: &mut [ShardPull], n: usize) {
        let deadline = Instant::now() + STOP_TIMEOUT;
        let connected = self.client.connection_state() == State::Connected;
        for (index, shard) in shards.iter_mut().enumerate() {
            if shard.gone {
                continue;
            }
            if !shard.asked && shard.consumer.request().is_ok() {
                shard.asked = true;
            }
            if shard.asked
                && let Ok(delta) = shard.consumer.receive(Duration::from_millis(200))
            {
                self.absorb(&delta, index, n, connected).await;
                shard.consumer.recycle(delta);
            }
        }
        while !self.pending.is_empty() && Instant::now() < deadline {
            if self.client.connection_state() == State::Connected {
                self.publish_pending().await;
            } else {
                tokio::time::sleep(IDLE).await;
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.client.flush()).await;
        if !self.pending.is_empty() {
            NatsStats::add(&self.stats.lost_at_stop, self.pending.len() as u64);
            log::error!(
                "NATS publisher stopped with {} closed klines unpublished",
                self.pending.len()
            );
        }
    }
}
