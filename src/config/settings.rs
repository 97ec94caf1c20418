//! The validated config: typed values the engine uses as they are, with no further checks.

use std::fmt;
use std::time::Duration;

use crate::aggregator::ShardConfig;
use crate::aggregator::routing::shard_capacity;
use crate::idle::IdleStrategy;
use crate::interval::Interval;

use super::partition::Partition;

/// Which Binance market klagg connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Market {
    /// USD-M futures (`fstream.binance.com`); `all` means perpetual contracts only.
    Usdm,
    /// Spot (`stream.binance.com`).
    Spot,
}

impl Market {
    /// Default WebSocket base URL; the engine appends `?streams=...`.
    #[must_use]
    pub const fn default_ws_url(self) -> &'static str {
        match self {
            // The legacy `/ws` and `/stream` paths accept the handshake and then send nothing.
            Market::Usdm => "wss://fstream.binance.com/market/stream",
            Market::Spot => "wss://stream.binance.com:9443/stream",
        }
    }

    /// Default REST base URL (exchangeInfo).
    #[must_use]
    pub const fn default_rest_url(self) -> &'static str {
        match self {
            Market::Usdm => "https://fapi.binance.com",
            Market::Spot => "https://api.binance.com",
        }
    }

    /// The name used in the config file.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Market::Usdm => "usdm",
            Market::Spot => "spot",
        }
    }
}

impl fmt::Display for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl std::str::FromStr for Market {
    type Err = String;

    /// `usdm` or `spot`, as the config file and `klagg sim --market` name them.
    fn from_str(text: &str) -> Result<Market, String> {
        match text {
            "usdm" => Ok(Market::Usdm),
            "spot" => Ok(Market::Spot),
            _ => Err(format!(
                "unknown market {text:?}: use \"usdm\" (USD-M futures) or \"spot\""
            )),
        }
    }
}

/// Which symbols to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolSelection {
    /// Every TRADING symbol of the market quoted in the quote asset (USD-M: perpetuals only),
    /// resolved at start through exchangeInfo; new ones are picked up at run time.
    All,
    /// Exactly these symbols: upper case, distinct, in config order.
    List(Vec<String>),
}

/// Timeouts and limits of each WebSocket connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// TCP + TLS + WebSocket handshake timeout.
    pub connect_timeout: Duration,
    /// How often we send our own ping.
    pub ping_interval: Duration,
    /// No frame for this long means the connection is replaced.
    pub stale_timeout: Duration,
    /// Socket read timeout, the io thread's heartbeat tick; shorter than `stale_timeout`.
    pub read_tick: Duration,
    /// Largest accepted WebSocket message (and frame), bytes.
    pub max_message_bytes: usize,
    /// Age at which a connection is rotated make-before-break, before Binance's 24 h limit.
    pub rotate_after: Duration,
    /// `SUBSCRIBE` messages per second per connection (1..=10).
    pub subscribe_per_s: u32,
}

/// The config after validation, with defaults applied and every value typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Which market.
    pub market: Market,
    /// WebSocket base URL (the market's default unless given).
    pub ws_url: String,
    /// REST base URL without a trailing `/`.
    pub rest_url: String,
    /// Which symbols.
    pub symbols: SymbolSelection,
    /// The share of the selected symbols this klagg follows ([`Partition::WHOLE`]: all).
    pub partition: Partition,
    /// Quote asset `SymbolSelection::All` selects, upper case.
    pub quote_asset: String,
    /// Symbols state is preallocated for (global indices `0..max_symbols`).
    pub max_symbols: u32,
    /// Streams per connection, at most 1024.
    pub streams_per_connection: usize,
    /// Connections carrying each stream, each on an io thread of its own (1 to 4): the shards
    /// keep each trade once, so losing a connection loses nothing while another carries on.
    pub redundancy: usize,
    /// WebSocket base URL of the connections beyond the first of each group.
    pub redundant_ws_url: String,
    /// Period of the exchangeInfo refresh; `None` = never.
    pub exchange_info_refresh: Option<Duration>,
    /// Intervals kept for every symbol, in config order.
    pub intervals: Vec<Interval>,
    /// How long after a period ends its kline closes.
    pub close_grace_ms: i64,
    /// Closed klines held per consumer.
    pub max_backlog: usize,
    /// SQLite file closed klines are kept in; `None` keeps nothing on disk.
    pub database: Option<std::path::PathBuf>,
    /// Cores of the io threads: connection `i` on `io_cores[i % len]`; empty = unpinned.
    pub io_cores: Vec<usize>,
    /// One entry per aggregator shard: its core, or `None` for an unpinned shard.
    pub shard_cores: Vec<Option<usize>>,
    /// Cores for consumer threads; empty = unpinned.
    pub consumer_cores: Vec<usize>,
    /// What pinned threads do when they have no work.
    pub idle: IdleStrategy,
    /// Capacity of each (io thread, shard) ring, in payloads.
    pub ring_capacity: usize,
    /// Per-connection timeouts and limits.
    pub connection: ConnectionSettings,
    /// Where klines are served; `None` serves nothing.
    pub gateway: Option<GatewaySettings>,
    /// Where klines are published on NATS; `None` when `[nats] servers` is empty.
    pub nats: Option<super::nats::NatsSettings>,
    /// Which trades are stamped for the latency histograms; `None` stamps none.
    pub latency_sampling: Option<crate::latency::Sampling>,
    /// REST request weight per minute the gap backfill may spend; `None`: no backfill (gaps
    /// are only counted).
    pub backfill_weight_per_minute: Option<u32>,
    /// How often the backfill's sweep checks every symbol's tail; `None`: only after
    /// reconnects.
    pub tail_check_every: Option<Duration>,
    /// Things worth knowing that are not errors (ignored keys, risky choices).
    pub notes: Vec<String>,
}

impl Settings {
    /// Number of aggregator shards (at least 1).
    #[must_use]
    pub fn n_shards(&self) -> usize {
        self.shard_cores.len()
    }

    /// Core of the io thread serving connection `index`, also for connections opened at run
    /// time; `None` when io threads are unpinned.
    #[must_use]
    pub fn io_core_for(&self, index: usize) -> Option<usize> {
        (!self.io_cores.is_empty()).then(|| self.io_cores[index % self.io_cores.len()])
    }

    /// Symbols one shard must hold: `ceil(max_symbols / n_shards)`, since global index `i`
    /// goes to shard `i % n` at local index `i / n`.
    #[must_use]
    pub fn shard_max_symbols(&self) -> u32 {
        shard_capacity(self.max_symbols, self.n_shards())
    }

    /// The [`ShardConfig`] every shard is built from.
    #[must_use]
    pub fn shard_config(&self) -> ShardConfig {
        let mut config = ShardConfig::new(self.intervals.clone(), self.shard_max_symbols());
        config.close_grace_ms = self.close_grace_ms;
        config.max_backlog = self.max_backlog;
        if self.redundancy > 1 {
            config.gap_fill = crate::aggregator::GapFillConfig::REDUNDANT;
        } else if self.backfill_weight_per_minute.is_some() {
            config.gap_fill = crate::aggregator::GapFillConfig::LIVE;
        }
        config
    }
}

/// The kline gateway's address and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Address to serve on.
    pub bind: std::net::SocketAddr,
    /// Time between pushes to clients (zero: as fast as klines change).
    pub push_interval: Duration,
    /// Most clients at once.
    pub max_clients: usize,
    /// Most streams per client.
    pub max_streams_per_client: usize,
    /// Closed klines kept in memory per (symbol, interval) for REST.
    pub history_per_slot: usize,
}
