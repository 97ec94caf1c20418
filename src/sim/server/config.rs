//! What a [`super::SimServer`] is started with: where it listens, Binance's connection rules
//! (scaled down at will for tests) and the faults to inject.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::config::Market;
use crate::interval::Interval;
use crate::sim::Faults;

/// Settings of a simulated exchange; [`Default`] gives Binance USD-M's own rules on
/// `127.0.0.1:0`, [`ServerConfig::spot`] spot's.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Which Binance API is spoken: USD-M (`/market/...`, `/fapi/v1/...`, aggTrades with `nq`)
    /// or spot (`/ws`, `/stream`, `/api/v3/...`, aggTrades with `M`, every number with 8
    /// decimals).
    pub market: Market,
    /// Listening address for WebSocket and REST alike; port 0 picks a free port.
    pub bind: SocketAddr,
    /// How often the server pings each connection (Binance: every 3 minutes).
    pub ping_every: Duration,
    /// A connection that has not answered a ping within this is dropped (Binance: 10 minutes).
    pub pong_timeout: Duration,
    /// Connections are dropped at this age (Binance: 24 hours); `None` = never.
    pub max_connection_age: Option<Duration>,
    /// A client sending more messages than this within one second is disconnected (Binance:
    /// 10 on USD-M, 5 on spot).
    pub max_incoming_per_s: u32,
    /// Most streams one connection may subscribe (Binance: 1024).
    pub max_streams_per_connection: usize,
    /// Faults to inject on every connection.
    pub faults: Faults,
    /// Intervals served by `/fapi/v1/klines`.
    pub kline_intervals: Vec<Interval>,
    /// Trades kept per symbol for `/fapi/v1/aggTrades`; older ones are forgotten.
    pub history_per_symbol: usize,
    /// Frames queued per connection; a connection whose queue is full is too slow and dropped.
    pub send_queue: usize,
    /// Cores to pin the server's threads to, round-robin (checked by the caller against the
    /// machine's cores); empty leaves them to the scheduler.
    pub cores: Vec<usize>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            market: Market::Usdm,
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            ping_every: Duration::from_secs(180),
            pong_timeout: Duration::from_secs(600),
            max_connection_age: Some(Duration::from_secs(24 * 3600)),
            max_incoming_per_s: 10,
            max_streams_per_connection: 1024,
            faults: Faults::default(),
            kline_intervals: Interval::standard().to_vec(),
            history_per_symbol: 1_000_000,
            send_queue: 65_536,
            cores: Vec::new(),
        }
    }
}

impl ServerConfig {
    /// Binance spot's rules on `127.0.0.1:0`: the spot API, and 5 client messages a second.
    #[must_use]
    pub fn spot() -> ServerConfig {
        ServerConfig {
            market: Market::Spot,
            max_incoming_per_s: 5,
            ..ServerConfig::default()
        }
    }

    /// The default rules of `market`: [`ServerConfig::default`] or [`ServerConfig::spot`].
    #[must_use]
    pub fn for_market(market: Market) -> ServerConfig {
        match market {
            Market::Usdm => ServerConfig::default(),
            Market::Spot => ServerConfig::spot(),
        }
    }
}
