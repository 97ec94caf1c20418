//! The gateway: kline WebSocket streams and REST history served like Binance's USD-M or spot
//! API ([`GatewayConfig::market`]), from one event loop.
//!
//! One mio event loop owns a listener and every client socket. HTTP requests are read with
//! `httparse`; `Upgrade: websocket` on a stream path (`/market/ws/<stream>` for raw events,
//! `/market/stream?streams=a/b` for the combined envelope, and the other forms clients build,
//! see [`crate::egress::stream_path`]) becomes a WebSocket connection that can also
//! `SUBSCRIBE`, `UNSUBSCRIBE` and `LIST_SUBSCRIPTIONS`; other requests are REST (the market's
//! klines, exchangeInfo, time and ping, `/healthz`, `/metrics`). Every `push_interval` the loop asks the
//! engine's shards what changed, as a delta consumer, and picks their answers up on later turns
//! (it never waits for a shard). It encodes each event once per framing and appends the same
//! bytes to every subscriber's bounded write buffer: a client whose unsent output (events,
//! replies or snapshots) would pass the bound is disconnected and counted, and never slows the
//! loop. Symbols the engine lists while it runs are served from the next pull or request on.
//!
//! * [`config`]: [`GatewayConfig`] and the [`Catalog`] of names behind the engine's indices.
//! * `event_loop`, `http_routes`, `ws_session`, `fanout`: the loop and what it does with
//!   accepts, HTTP requests, WebSocket frames and pulls; [`pull`]: pulls that never wait.
//! * [`client`], [`output`], [`http`], [`ws_frame`]: one connection's buffers, and its two wire
//!   protocols; [`event_frames`]: an event encoded once for all its subscribers.
//! * [`history`], [`rest`], [`catalog_index`]: the klines kept for REST and snapshots;
//!   [`rest_api`]: each market's paths and limits; [`exchange_info`] and [`listing`]: the
//!   symbol list clients load first.
//! * [`stats`]: the counters behind [`GatewayStats`], also served at `/metrics`.

pub mod catalog_index;
pub mod client;
pub mod config;
pub mod event_frames;
mod event_loop;
pub mod exchange_info;
mod fanout;
pub mod history;
pub mod http;
mod http_routes;
pub mod listing;
pub mod output;
pub mod pull;
pub mod rest;
pub mod rest_api;
mod shutdown;
mod slot_map;
mod stage;
pub mod stats;
pub mod ws_frame;
mod ws_session;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};

pub use config::{
    Catalog, DecimalsFn, GatewayConfig, LiveSymbols, MetricsFn, SPINNING_SOCKET_POLL,
};
pub use listing::{Listing, ListingFn};
pub use stage::GatewayStage;
pub use stats::GatewayStats;

use crate::aggregator::Wake;
use crate::pipeline::{EngineConsumer, pin_current_thread};
use catalog_index::CatalogIndex;
use event_frames::EventFrames;
use event_loop::{EventLoop, WAKE};
use history::History;
use pull::EnginePull;
use slot_map::SlotMap;
use stats::SharedStats;

/// Starts gateways.
#[derive(Debug)]
pub struct Gateway;

impl Gateway {
    /// Binds `config.bind` and starts the gateway thread, serving until `stop` is set.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound or the poller created.
    pub fn spawn(
        config: GatewayConfig,
        consumer: EngineConsumer,
        catalog: Catalog,
        stop: Arc<AtomicBool>,
    ) -> io::Result<GatewayHandle> {
        let poll = Poll::new()?;
        // Pushing as fast as klines change: the shards hold each pull until there is news and
        // wake the loop when they answer, so it neither spins nor polls.
        let wake = if config.push_interval.is_zero() {
            let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
            Some(Wake(Arc::new(move || {
                let _ = waker.wake();
            })))
        } else {
            None
        };
        let core = config.core;
        let event_loop = EventLoop::new(poll, config, consumer, catalog, stop, wake)?;
        let (addr, stats) = (
            event_loop.listener.local_addr()?,
            Arc::clone(&event_loop.stats),
        );
        let thread = std::thread::Builder::new()
            .name("klagg-gateway".to_owned())
            .spawn(move || {
                pin_current_thread("gateway", core);
                event_loop.run();
            })?;
        Ok(GatewayHandle {
            addr,
            stats,
            ended: Ended::Thread(thread),
        })
    }

    /// Binds `config.bind` and returns the gateway as a stage for a thread that runs other
    /// stages too (see [`GatewayStage`]), serving until `stop` is set. With
    /// `push_interval = 0` the shards hold pulls until there is news and call `wake` when
    /// they answered: it must wake the thread that steps the stage.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound or the poller created.
    pub fn stage(
        config: GatewayConfig,
        consumer: EngineConsumer,
        catalog: Catalog,
        stop: Arc<AtomicBool>,
        wake: Wake,
    ) -> io::Result<(GatewayStage, GatewayHandle)> {
        let wake = config.push_interval.is_zero().then_some(wake);
        let event_loop = EventLoop::new(Poll::new()?, config, consumer, catalog, stop, wake)?;
        let (addr, stats) = (
            event_loop.listener.local_addr()?,
            Arc::clone(&event_loop.stats),
        );
        let done = Arc::new(AtomicBool::new(false));
        let handle = GatewayHandle {
            addr,
            stats,
            ended: Ended::Flag(Arc::clone(&done)),
        };
        Ok((GatewayStage::new(event_loop, done), handle))
    }
}

impl EventLoop {
    fn new(
        poll: Poll,
        config: GatewayConfig,
        consumer: EngineConsumer,
        catalog: Catalog,
        stop: Arc<AtomicBool>,
        wake: Option<Wake>,
    ) -> io::Result<EventLoop> {
        let mut listener = TcpListener::bind(config.bind)?;
        poll.registry()
            .register(&mut listener, Token(0), Interest::READABLE)?;
        let history = History::new(config.history_per_slot);
        // The sink may create the file later; without it REST serves what this run saw.
        let store =
            config.database.as_deref().and_then(|path| {
                match crate::store::KlineStore::open(path) {
                    Ok(store) => Some(store),
                    Err(e) => {
                        log::warn!("gateway: REST history limited to this run: {e}");
                        None
                    }
                }
            });
        Ok(EventLoop {
            poll,
            listener,
            config,
            clients: HashMap::new(),
            next_token: 1,
            unfinished: Vec::new(),
            subscribers: SlotMap::default(),
            index: CatalogIndex::new(catalog),
            history,
            store,
            pull: Some(EnginePull::new(consumer, wake)),
            frames: EventFrames::new(),
            stats: Arc::new(SharedStats::default()),
            stop,
            next_push: Instant::now(),
            events: Events::with_capacity(1024),
        })
    }
}

/// How a gateway's end is awaited.
#[derive(Debug)]
enum Ended {
    /// It has a thread of its own.
    Thread(JoinHandle<()>),
    /// It is a stage of another thread, which sets the flag once the stage has finished.
    Flag(Arc<AtomicBool>),
}

/// How long [`GatewayHandle::join`] waits for a gateway stage whose thread was stopped.
const STAGE_JOIN_WAIT: Duration = Duration::from_secs(2);

/// A running gateway: its address, its counters, and its thread to join after `stop` is set.
#[derive(Debug)]
pub struct GatewayHandle {
    addr: SocketAddr,
    stats: Arc<SharedStats>,
    ended: Ended,
}

impl GatewayHandle {
    /// The address the gateway listens on (with the port chosen when binding port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The gateway's counters now.
    pub fn stats(&self) -> GatewayStats {
        self.stats.snapshot()
    }

    /// Waits for the gateway to end after its `stop` flag is set: its thread, or, for a stage,
    /// until the thread stepping it has seen it finish (at most a couple of seconds).
    ///
    /// # Errors
    ///
    /// The thread's panic, if it panicked.
    pub fn join(self) -> std::thread::Result<()> {
        match self.ended {
            Ended::Thread(thread) => thread.join(),
            Ended::Flag(done) => {
                let deadline = Instant::now() + STAGE_JOIN_WAIT;
                while !done.load(Ordering::Acquire) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(())
            }
        }
    }
}
