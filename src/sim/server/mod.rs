//! The simulator's exchange: Binance USD-M's or spot's market streams and REST on one
//! loopback port ([`ServerConfig::market`]).
//!
//! WebSocket paths `/market/stream?streams=a/b` (combined envelope) and `/market/ws[/a/b]`
//! (raw events; spot: `/stream` and `/ws`) carry `<symbol>@aggTrade` and `!miniTicker@arr`;
//! clients may `SUBSCRIBE`, `UNSUBSCRIBE` and `LIST_SUBSCRIPTIONS`. Binance's connection rules
//! apply (server pings, pong timeout, connection age, 10 messages/s on USD-M and 5 on spot,
//! 1024 streams), scaled by [`ServerConfig`], which also names the faults to inject. REST
//! serves `/fapi/v1/` (spot: `/api/v3/`) `time`, `ping`, `exchangeInfo`, `aggTrades` and
//! `klines` from what was published.
//!
//! Threads: one accepts, one serves each connection (a REST request or a WebSocket); the
//! market thread publishes through a [`Publisher`], which never blocks on a connection.

mod config;
mod connection;
mod dispatch;
mod encode;
mod fault_clock;
mod fault_turns;
mod garbage;
mod history;
mod http;
mod hub;
mod kline_book;
mod lock;
mod market;
mod market_api;
mod publisher;
mod rate_limit;
mod requests;
mod rest;
mod rest_info;
mod rest_klines;
mod rest_params;
mod rest_trades;
mod routes;
mod sim_server;
mod stats;
mod subscriptions;
mod symbols;
mod tickers;
mod written;
mod ws_path;

pub use config::ServerConfig;
pub use publisher::Publisher;
pub use sim_server::SimServer;
pub use stats::SimServerStats;
pub use written::{WriteKey, WrittenStamps};
