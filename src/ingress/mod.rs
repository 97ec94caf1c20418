//! Everything between the exchange's bytes and the aggregator's payloads.

mod agg_trade_layout;
pub mod bad_input;
pub mod connection;
pub mod exchange_info;
pub mod fast_parse;
mod json_cursor;
pub mod mini_ticker;
pub mod parser;
#[cfg(target_arch = "x86_64")]
mod sse2;
mod swar;
pub mod symbols;
pub mod wire;
