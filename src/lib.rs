//! klagg: exact, live Binance klines for every symbol and interval, built from aggTrade streams.
//!
//! The crate is laid out as the data flows (see `DESIGN.md` in the shared folder):
//! [`trade`] is the payload every stage shares, [`decimal`] and [`interval`] are the exact number
//! and calendar rules, [`kline`] is one candle's update rules, and [`aggregator`] keeps every kline
//! of a shard live and serves delta pulls. [`ingress`] turns exchange frames into payloads,
//! [`pipeline`] wires the pinned threads of a running engine, [`config`] and [`live`] make it
//! `klagg run`, [`replay`] drives the same aggregator offline, [`sim`] is a local exchange and
//! [`demo`] puts the two together. [`symbol_name`] is the rule every part applies to symbol
//! names (any UTF-8 Binance uses, such as `币安人生USDT`) and [`percent`] carries them in URLs.

pub mod aggregator;
pub mod backfill;
pub mod check_store;
pub mod config;
pub mod decimal;
pub mod demo;
pub mod duration_arg;
pub mod egress;
pub mod gateway;
pub mod idle;
pub mod ingress;
pub mod interval;
pub mod kline;
pub mod latency;
pub mod live;
pub mod metrics;
pub mod oracle;
pub mod percent;
pub mod pipeline;
pub mod replay;
pub mod sim;
pub mod store;
pub mod symbol_name;
pub mod trade;
