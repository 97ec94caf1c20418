//! Persistence: every closed kline in a SQLite file, exact, and read back the way Binance's
//! `/fapi/v1/klines` answers.
//!
//! [`KlineStore`] is one connection to the file: WAL mode, one row per (symbol, interval, open
//! time), decimals as exact text, batched upserts so corrections replace. [`spawn_sink`] starts
//! the thread that is its own delta consumer and writes what the engine closes, holding a
//! backlog and retrying while the database cannot be written. Tests drive the sink through
//! [`DeltaSource`] instead of a live engine.

mod backoff;
mod decimal_text;
mod error;
mod kline_store;
mod names;
mod pending;
mod row;
mod schema;
mod sink;
mod sink_stats;
mod source;

pub use error::{StoreError, StoreErrorKind};
pub use kline_store::KlineStore;
pub use sink::{SinkHandle, SinkOptions, spawn_sink};
pub use sink_stats::{SinkReport, SinkStats};
pub use source::DeltaSource;
