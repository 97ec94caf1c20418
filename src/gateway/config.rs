//! What a gateway is told: where to listen, how often to push, its limits, and the names behind
//! the engine's dense symbol and interval indices.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::listing::ListingFn;
use crate::config::Market;
use crate::egress::Decimals;
use crate::interval::Interval;

/// Renders the engine's part of the text served at `GET /metrics` (Prometheus text format);
/// the gateway appends its own counters.
pub type MetricsFn = Arc<dyn Fn() -> String + Send + Sync>;

/// How a gateway listens, pushes and bounds its clients.
#[derive(Clone)]
pub struct GatewayConfig {
    /// Address to listen on; `127.0.0.1:0` (loopback, any free port) by default.
    pub bind: SocketAddr,
    /// How often the engine is pulled and events pushed; zero pushes as fast as deltas arrive.
    pub push_interval: Duration,
    /// Connections (WebSocket and REST) served at once; more are closed on accept.
    pub max_clients: usize,
    /// Streams one WebSocket connection may subscribe to (Binance allows 1024).
    pub max_streams_per_client: usize,
    /// Bytes of unsent output a client may hold before it is disconnected as too slow.
    pub max_write_buffer: usize,
    /// Closed klines kept in memory per (symbol, interval) for `GET /fapi/v1/klines`.
    pub history_per_slot: usize,
    /// The engine's text for `GET /metrics`; without it the path serves the gateway's own
    /// counters only.
    pub metrics: Option<MetricsFn>,
    /// Core the gateway thread is pinned to; `None` leaves it to the scheduler.
    pub core: Option<usize>,
    /// The kline database `GET /fapi/v1/klines` also reads, so history survives a restart.
    pub database: Option<std::path::PathBuf>,
    /// Which Binance API is served: USD-M's (`/fapi/v1/...`, `/market/...` streams) or
    /// spot's (`/api/v3/...`, `/ws`, `/stream`), with that market's limits and formats.
    pub market: Market,
    /// Assets and steps of the symbols the exchange described, for `exchangeInfo`; symbols
    /// without one (or all, when `None`) get theirs derived from the name.
    pub listing: Option<ListingFn>,
    /// As a stage of a spinning thread: how often the clients' sockets are polled. Answers from
    /// the shards are taken at every step; polling the sockets is a system call, which a
    /// spinning thread would otherwise make at every turn, between a burst's trades and their
    /// delivery. Zero (the default) polls at every step.
    pub socket_poll_every: Duration,
}

/// `socket_poll_every` for a gateway stepped by a spinning thread: a client's request waits at
/// most this much longer, a burst's delivery no longer waits behind a system call.
pub const SPINNING_SOCKET_POLL: Duration = Duration::from_micros(50);

impl Default for GatewayConfig {
    fn default() -> GatewayConfig {
        GatewayConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            push_interval: Duration::from_millis(100),
            max_clients: 1024,
            max_streams_per_client: 1024,
            max_write_buffer: 4 << 20,
            history_per_slot: 1500,
            metrics: None,
            core: None,
            database: None,
            market: Market::Usdm,
            listing: None,
            socket_poll_every: Duration::ZERO,
        }
    }
}

impl fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("bind", &self.bind)
            .field("push_interval", &self.push_interval)
            .field("max_clients", &self.max_clients)
            .field("max_streams_per_client", &self.max_streams_per_client)
            .field("max_write_buffer", &self.max_write_buffer)
            .field("history_per_slot", &self.history_per_slot)
            .field("metrics", &self.metrics.is_some())
            .field("core", &self.core)
            .field("database", &self.database)
            .field("market", &self.market)
            .field("listing", &self.listing.is_some())
            .field("socket_poll_every", &self.socket_poll_every)
            .finish()
    }
}

/// The names behind the engine's indices: `KlineRecord::symbol` indexes `symbols` and
/// `KlineRecord::interval` indexes `intervals`.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Each global symbol index's exchange name (e.g. `BTCUSDT`) and display precisions.
    pub symbols: Vec<(String, Decimals)>,
    /// The engine's interval list, in order.
    pub intervals: Vec<Interval>,
    /// Where symbols the engine adds while it runs are named; `None` serves `symbols` only.
    pub live: Option<LiveSymbols>,
}

/// Precisions of a symbol, by name, for symbols named after the gateway started.
pub type DecimalsFn = Arc<dyn Fn(&str) -> Decimals + Send + Sync>;

/// The engine's list of symbol names by global index, which grows as symbols are listed (the
/// list `klagg run`'s symbol manager writes a name to before the engine trades it). The gateway
/// looks at its length once per pull and per request, never per event, and serves the new names.
#[derive(Clone)]
pub struct LiveSymbols {
    /// Names by global index; an empty name is an index not in use.
    pub names: Arc<RwLock<Vec<String>>>,
    /// The precisions of a name found there.
    pub decimals: DecimalsFn,
}

impl fmt::Debug for LiveSymbols {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known = self.names.try_read().map(|names| names.len()).ok();
        f.debug_struct("LiveSymbols")
            .field("names", &known)
            .finish()
    }
}
