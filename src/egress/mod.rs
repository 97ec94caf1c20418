//! Egress: what klagg sends to the programs that read its klines.
//!
//! These modules are Binance's exact wire formats, kept apart from any socket so that the gateway,
//! the simulator's tests and offline tools all write the same bytes: users point code written
//! against Binance's USD-M or spot streams and REST endpoints at klagg and it must work
//! unchanged.
//!
//! * [`kline_event`] and [`combined`]: the kline stream event (and USD-M's continuous-kline
//!   variant) and the combined-stream envelope
//!   (the hot path: appended into a reused buffer, never through `format!`).
//! * [`rest_kline`]: `GET /fapi/v1/klines` rows.
//! * [`decimals`]: how many fractional digits each number gets.
//! * [`stream_name`] and [`stream_path`]: `btcusdt@kline_1m` and the URLs that carry streams.
//! * [`requests`] and [`replies`]: the `SUBSCRIBE` / `UNSUBSCRIBE` / `LIST_SUBSCRIPTIONS` control
//!   protocol and its answers.
//! * [`json`]: the few JSON text primitives the hand-written frames share.

pub mod combined;
pub mod decimals;
pub mod json;
pub mod kline_event;
pub mod replies;
pub mod requests;
pub mod rest_kline;
pub mod stream_name;
pub mod stream_path;

pub use combined::write_combined;
pub use decimals::Decimals;
pub use kline_event::write_kline_event;
pub use rest_kline::{write_rest_kline, write_rest_klines};
pub use stream_name::KlineStream;
