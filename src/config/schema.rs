//! The config file as written: a serde tree that mirrors the TOML keys one for one.
//!
//! Every section and key is optional, so an empty file is the default USD-M all-symbols config.
//! Numbers are kept as TOML's `i64` and strings as strings here: range and spelling checks
//! happen in [`Config::resolve`](super::Config::resolve), which can then say which key was
//! wrong, what the value was and what is valid, instead of a bare "expected u32".

use std::fmt;

use serde::Deserialize;

use super::error::{ConfigError, invalid, quoted};
use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// The whole config file (`klagg run --config FILE`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[exchange]`: which market, where, which symbols.
    pub exchange: ExchangeConfig,
    /// `[klines]`: which intervals and how klines close.
    pub klines: KlinesConfig,
    /// `[threads]`: pinning, idle strategy and ring sizes.
    pub threads: ThreadsConfig,
    /// `[connection]`: timeouts and limits of each WebSocket connection.
    pub connection: ConnectionConfig,
    /// `[gateway]`: where klines are served to clients.
    pub gateway: GatewayConfig,
    /// `[latency]`: which trades are stamped for the latency histograms.
    pub latency: LatencyConfig,
    /// `[backfill]`: filling gaps in agg ids from REST.
    pub backfill: BackfillConfig,
    /// `[nats]`: publishing klines to NATS and JetStream.
    pub nats: super::nats::NatsConfig,
    /// Where the text came from (a file name), so validation errors can name it; not a key.
    #[serde(skip)]
    pub origin: Option<String>,
}

/// `[exchange]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangeConfig {
    /// `"usdm"` or `"spot"`.
    pub market: String,
    /// WebSocket base URL; `None` means the market's default.
    pub ws_url: Option<String>,
    /// REST base URL; `None` means the market's default.
    pub rest_url: Option<String>,
    /// `"all"` or a list of symbols.
    pub symbols: StringOrList,
    /// Quote asset that `symbols = "all"` selects.
    pub quote_asset: String,
    /// Symbols state is preallocated for.
    pub max_symbols: i64,
    /// Streams on one WebSocket connection.
    pub streams_per_connection: i64,
    /// Seconds between exchangeInfo refreshes; 0 = never.
    pub exchange_info_refresh_s: i64,
    /// Connections carrying each stream (on io threads of their own).
    pub redundancy: i64,
    /// WebSocket base URL of the extra connections; `None` means `ws_url`.
    pub redundant_ws_url: Option<String>,
    /// `"I/N"`: follow only partition I of N of the selected symbols; `None`: all of them.
    pub partition: Option<String>,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        ExchangeConfig {
            market: "usdm".to_owned(),
            ws_url: None,
            rest_url: None,
            symbols: StringOrList::Keyword("all".to_owned()),
            quote_asset: "USDT".to_owned(),
            max_symbols: 1024,
            streams_per_connection: 200,
            exchange_info_refresh_s: 300,
            redundancy: 1,
            redundant_ws_url: None,
            partition: None,
        }
    }
}

/// `[klines]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KlinesConfig {
    /// `"all"` (the 16 Binance intervals) or a list such as `["1m", "1h"]`.
    pub intervals: StringOrList,
    /// Milliseconds after a period ends before its kline closes.
    pub close_grace_ms: i64,
    /// Closed klines held per consumer.
    pub max_backlog: i64,
    /// SQLite file every closed kline is written to; empty keeps nothing on disk.
    pub database: String,
}

impl Default for KlinesConfig {
    fn default() -> Self {
        KlinesConfig {
            intervals: StringOrList::Keyword("all".to_owned()),
            close_grace_ms: 1_500,
            max_backlog: 1_000_000,
            database: "data/klines.sqlite".to_owned(),
        }
    }
}

/// `[threads]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThreadsConfig {
    /// Cores of the io threads; connection `i` runs on `io_cores[i % len]`; empty = unpinned.
    pub io_cores: Vec<i64>,
    /// One aggregator shard per entry; empty = `aggregator_shards` unpinned shards.
    pub aggregator_cores: Vec<i64>,
    /// Unpinned shard count, used only when `aggregator_cores` is empty (0 means 1).
    pub aggregator_shards: i64,
    /// Cores for consumer threads; empty = unpinned.
    pub consumer_cores: Vec<i64>,
    /// `"spin"`, `"yield"` or `"park"`.
    pub idle: String,
    /// Park duration in microseconds when `idle = "park"` or `"backoff"`.
    pub park_us: i64,
    /// Spin after the last work, in microseconds, when `idle = "backoff"`.
    pub spin_us: i64,
    /// Capacity of each (io thread, shard) ring, in payloads.
    pub ring_capacity: i64,
}

impl Default for ThreadsConfig {
    fn default() -> Self {
        ThreadsConfig {
            io_cores: vec![0],
            aggregator_cores: vec![1],
            aggregator_shards: 0,
            consumer_cores: vec![0],
            idle: "park".to_owned(),
            park_us: 200,
            spin_us: 100,
            ring_capacity: 65_536,
        }
    }
}

/// `[connection]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionConfig {
    /// TCP + TLS + WebSocket handshake timeout, ms.
    pub connect_timeout_ms: i64,
    /// Seconds between our own pings.
    pub ping_interval_s: i64,
    /// Seconds without any frame before the connection is replaced.
    pub stale_timeout_s: i64,
    /// Socket read timeout, ms: the heartbeat tick of the io thread.
    pub read_tick_ms: i64,
    /// Largest accepted WebSocket message, bytes.
    pub max_message_bytes: i64,
    /// Seconds before a connection is rotated (make-before-break).
    pub rotate_after_s: i64,
    /// `SUBSCRIBE` messages per second per connection.
    pub subscribe_per_s: i64,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            connect_timeout_ms: 5_000,
            ping_interval_s: 10,
            stale_timeout_s: 30,
            read_tick_ms: 100,
            max_message_bytes: 1_048_576,
            rotate_after_s: 82_800,
            subscribe_per_s: 5,
        }
    }
}

/// A key that takes either a keyword (`"all"`) or a list of strings.
///
/// Deserialized by hand rather than with `#[serde(untagged)]`, whose error ("data did not match
/// any variant") would not say what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StringOrList {
    /// A single string, such as `"all"`.
    Keyword(String),
    /// A list of strings.
    List(Vec<String>),
}

impl StringOrList {
    /// `None` for the keyword `"all"`, else the non-empty list. Another keyword is an error for
    /// `key` saying `other_keyword`; an empty list one saying `empty_list` (both say what is valid).
    pub(crate) fn all_or_list(
        &self,
        key: &str,
        other_keyword: &str,
        empty_list: &str,
    ) -> Result<Option<&[String]>, ConfigError> {
        match self {
            StringOrList::Keyword(word) if word == "all" => Ok(None),
            StringOrList::Keyword(word) => Err(invalid(key, quoted(word), other_keyword)),
            StringOrList::List(items) if items.is_empty() => Err(invalid(key, "[]", empty_list)),
            StringOrList::List(items) => Ok(Some(items)),
        }
    }
}

impl<'de> Deserialize<'de> for StringOrList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StringOrListVisitor)
    }
}

struct StringOrListVisitor;

impl<'de> Visitor<'de> for StringOrListVisitor {
    type Value = StringOrList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"all\" or a list of strings")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<StringOrList, E> {
        Ok(StringOrList::Keyword(text.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringOrList, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<String>()? {
            items.push(item);
        }
        Ok(StringOrList::List(items))
    }
}

/// `[backfill]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackfillConfig {
    /// Fetch the trades missing from a gap from REST `aggTrades`.
    pub enabled: bool,
    /// Request weight the backfill may spend per minute.
    pub weight_per_minute: i64,
    /// Seconds in which the sweep checks every symbol's tail once; 0 sweeps never.
    pub tail_check_every_s: i64,
}

impl Default for BackfillConfig {
    fn default() -> Self {
        BackfillConfig {
            enabled: true,
            weight_per_minute: 1_200,
            tail_check_every_s: 600,
        }
    }
}

/// `[latency]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LatencyConfig {
    /// Stamp one trade in this many (a power of two); 0 stamps none.
    pub sample_every: i64,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        LatencyConfig { sample_every: 64 }
    }
}

/// `[gateway]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address the kline WebSocket streams and REST are served on; empty serves nothing.
    pub bind: String,
    /// Milliseconds between pushes to clients; 0 pushes as fast as klines change.
    pub push_interval_ms: i64,
    /// Most clients at once.
    pub max_clients: i64,
    /// Most streams one client may subscribe to.
    pub max_streams_per_client: i64,
    /// Closed klines kept in memory per symbol and interval for `GET /fapi/v1/klines`.
    pub history_per_slot: i64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            bind: "127.0.0.1:8090".to_owned(),
            push_interval_ms: 100,
            max_clients: 1_024,
            max_streams_per_client: 1_024,
            history_per_slot: 1_500,
        }
    }
}
