//! A stand-in for the engine's shards, fed from the bus: what `klagg gateway --nats URL`
//! serves from, so the gateway's own code (streams, REST, history) runs unchanged.
//!
//! One thread runs a single-threaded tokio runtime with the NATS client. At start it reads the
//! closed-kline stream (the history REST serves) and the latest-kline stream (every open
//! kline), then follows the core subjects. It answers the gateway's delta pulls exactly as a
//! shard does (held pulls answered when something arrives, then the gateway woken), with
//! symbol indices it hands out as new symbols appear and publishes in the shared name list.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use crossbeam_channel::{Receiver, TryRecvError};
use futures_util::StreamExt;

use super::event::{KlineEvent, parse_kline_event};
use super::runtime_thread::spawn_on_runtime;
use super::streams::{closed_stream, latest_stream};
use crate::aggregator::{
    ConsumerId, Delta, DeltaConsumer, KlineRecord, PullRequest, ShardRequest, Snapshot,
};
use crate::config::Market;
use crate::egress::Decimals;
use crate::interval::Interval;
use crate::pipeline::EngineConsumer;

/// How often pull requests are looked at when no message arrives.
const TICK: Duration = Duration::from_millis(5);

/// How long reading a stream's history waits for its next message before it gives up on it.
const READ_STALL: Duration = Duration::from_secs(10);

/// What the bus feed reads and follows.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// `nats://host:port`.
    pub url: String,
    /// First subject token, as the publishers' `[nats] subject_prefix`.
    pub prefix: String,
    /// The market whose subjects are followed.
    pub market: Market,
    /// The intervals served; klines of others are ignored.
    pub intervals: Vec<Interval>,
}

/// The running feed: the consumer to give the gateway, the names and decimals it learns.
pub struct BusFeed {
    /// The gateway's consumer of this feed.
    pub consumer: EngineConsumer,
    /// Symbol index → name, growing as symbols appear.
    pub names: Arc<RwLock<Vec<String>>>,
    /// Each symbol's decimals as the publishers wrote them.
    pub decimals: Arc<RwLock<HashMap<String, Decimals>>>,
    /// The feed thread; it ends when `stop` is set.
    pub thread: JoinHandle<()>,
}

/// Connects to the bus and starts the feed thread; returns once the history and the latest
/// klines are read.
///
/// # Errors
///
/// The server cannot be reached or the feed thread cannot start.
pub fn start_bus_feed(config: BusConfig, stop: Arc<AtomicBool>) -> Result<BusFeed, String> {
    let (requests_tx, requests) = crossbeam_channel::bounded(64);
    let consumer = EngineConsumer::new(vec![DeltaConsumer::new(ConsumerId(0), requests_tx)]);
    let names = Arc::new(RwLock::new(Vec::new()));
    let decimals = Arc::new(RwLock::new(HashMap::new()));
    let (ready_tx, ready) = crossbeam_channel::bounded(1);
    let state = Feed {
        config,
        names: Arc::clone(&names),
        decimals: Arc::clone(&decimals),
        index: HashMap::new(),
        pending: Delta::default(),
        open: HashMap::new(),
        held: None,
    };
    let no_runtime = ready_tx.clone();
    let thread = spawn_on_runtime(
        "klagg-bus",
        move || state.run(requests, stop, ready_tx),
        move |why| {
            let _ = no_runtime.send(Err(why));
        },
    )
    .map_err(|e| format!("starting the bus thread: {e}"))?;
    ready
        .recv()
        .map_err(|_| "the bus thread ended".to_owned())??;
    Ok(BusFeed {
        consumer,
        names,
        decimals,
        thread,
    })
}

struct Feed {
    config: BusConfig,
    names: Arc<RwLock<Vec<String>>>,
    decimals: Arc<RwLock<HashMap<String, Decimals>>>,
    index: HashMap<String, u32>,
    /// What arrived since the gateway's last answered pull.
    pending: Delta,
    /// The latest open kline of every symbol and interval, for snapshots.
    open: HashMap<(u32, u16), KlineRecord>,
    /// A pull held until something arrives.
    held: Option<PullRequest>,
}

impl Feed {
    async fn run(
        mut self,
        requests: Receiver<ShardRequest>,
        stop: Arc<AtomicBool>,
        ready: crossbeam_channel::Sender<Result<(), String>>,
    ) {
        let client = match async_nats::connect(self.config.url.as_str()).await {
            Ok(client) => client,
            Err(e) => {
                let _ = ready.send(Err(format!("{}: {e}", self.config.url)));
                return;
            }
        };
        let prefix = self.config.prefix.clone();
        let market = self.config.market.name();
        // Subscribed before the streams are read, so nothing falls between the two.
        let mut live = match client.subscribe(format!("{prefix}.kline.{market}.>")).await {
            Ok(sub) => sub,
            Err(e) => {
                let _ = ready.send(Err(format!("subscribe: {e}")));
                return;
            }
        };
        let js = jetstream::new(client.clone());
        self.read_stream(&js, &closed_stream(&prefix)).await;
        self.read_stream(&js, &latest_stream(&prefix)).await;
        let _ = ready.send(Ok(()));
        let mut tick = tokio::time::interval(TICK);
        while !stop.load(Ordering::Acquire) {
            tokio::select! {
                message = live.next() => match message {
                    Some(message) => self.take(&message.payload),
                    None => break,
                },
                _ = tick.tick() => {}
            }
            loop {
                match requests.try_recv() {
                    Ok(request) => self.serve(request),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
            if self.has_news()
                && let Some(pull) = self.held.take()
            {
                self.answer(pull);
            }
        }
    }

    /// Every message of `stream` under this prefix, oldest first, through one ordered consumer
    /// (the server streams them; no request per message); a missing stream is empty.
    async fn read_stream(&mut self, js: &jetstream::Context, name: &str) {
        let Ok(mut stream) = js.get_stream(name).await else {
            log::warn!("bus: no stream {name}");
            return;
        };
        // What is stored now is the history; what is published later arrives live.
        let last = match stream.info().await {
            Ok(info) if info.state.messages > 0 => info.state.last_sequence,
            _ => return,
        };
        let config = pull::OrderedConfig {
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        };
        let messages = match stream.create_consumer(config).await {
            Ok(consumer) => consumer.messages().await,
            Err(e) => {
                log::warn!("bus: cannot read {name}: {e}");
                return;
            }
        };
        let Ok(mut messages) = messages else {
            log::warn!("bus: cannot read {name}");
            return;
        };
        let wanted = format!("{}.", self.config.prefix);
        let mut read = 0u64;
        loop {
            let message = match tokio::time::timeout(READ_STALL, messages.next()).await {
                Ok(Some(Ok(message))) => message,
                Ok(Some(Err(e))) => {
                    log::warn!("bus: reading {name} stopped after {read} messages: {e}");
                    return;
                }
                Ok(None) | Err(_) => {
                    log::warn!("bus: reading {name} stalled after {read} messages");
                    return;
                }
            };
            read += 1;
            if message.subject.as_str().starts_with(&wanted) {
                self.take(&message.payload);
            }
            // Done at the last message stored when the reading began (or a later one, if limits
            // removed it meanwhile), or when nothing is left to deliver.
            if message
                .info()
                .is_ok_and(|info| info.stream_sequence >= last || info.pending == 0)
            {
                break;
            }
        }
        log::info!("bus: read {read} messages of {name}");
    }

    /// One kline event from the bus.
    fn take(&mut self, payload: &[u8]) {
        let Ok(event) = parse_kline_event(payload) else {
            log::debug!("bus: a message that is not a kline event");
            return;
        };
        let Some(interval) = self
            .config
            .intervals
            .iter()
            .position(|i| *i == event.interval)
        else {
            return;
        };
        let symbol = self.symbol(&event);
        let record = KlineRecord {
            symbol,
            interval: u16::try_from(interval).unwrap_or(u16::MAX),
            correction: false,
            kline: event.kline,
        };
        if event.closed {
            self.open.remove(&(symbol, record.interval));
            self.pending.closed.push(record);
        } else {
            self.open.insert((symbol, record.interval), record);
            self.pending.open.push(record);
        }
    }

    /// The index of the event's symbol, given on first sight.
    fn symbol(&mut self, event: &KlineEvent) -> u32 {
        if let Some(index) = self.index.get(&event.symbol) {
            return *index;
        }
        let mut names = self.names.write().unwrap_or_else(PoisonError::into_inner);
        let index = u32::try_from(names.len()).unwrap_or(u32::MAX);
        names.push(event.symbol.clone());
        self.decimals
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(event.symbol.clone(), event.decimals);
        self.index.insert(event.symbol.clone(), index);
        index
    }

    fn has_news(&self) -> bool {
        !self.pending.closed.is_empty() || !self.pending.open.is_empty()
    }

    fn serve(&mut self, request: ShardRequest) {
        match request {
            ShardRequest::Pull(pull) => {
                if self.has_news() || pull.hold.is_none() {
                    self.answer(pull);
                } else {
                    self.held = Some(pull);
                }
            }
            ShardRequest::Snapshot(request) => {
                let mut snapshot: Snapshot = request.buffers;
                snapshot.open.clear();
                snapshot.open.extend(self.open.values().copied());
                let _ = request.reply.try_send(snapshot);
            }
        }
    }

    /// Answers `pull` with everything pending; what cannot be delivered stays pending.
    fn answer(&mut self, pull: PullRequest) {
        let mut delta = pull.buffers;
        delta.clear();
        std::mem::swap(&mut delta, &mut self.pending);
        match pull.reply.try_send(delta) {
            Ok(()) => {
                if let Some(wake) = &pull.hold {
                    (wake.0)();
                }
            }
            Err(e) => {
                // Not delivered: keep it for the next pull, in order.
                let mut back = e.into_inner();
                back.closed.append(&mut self.pending.closed);
                back.open.append(&mut self.pending.open);
                self.pending = back;
            }
        }
    }
}
