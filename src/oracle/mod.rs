//! The independent oracle: a deliberately simple kline builder that the engine's checks trust
//! instead of the engine itself.
//!
//! `klagg check-store`, the demo's self-check, the end-to-end tests and the soak compare what
//! the engine produced with what this module builds from the trades the simulator recorded.
//! It shares no code with the engine's kline rules (`aggregator`, `kline`, `interval`): its own
//! calendar ([`Period`]), its own fold (one plain loop over each period's trades, in agg-id
//! order), plain `i128` sums. Only reading its input (CSV rows, simulator trades) and reading
//! the engine's klines to compare use engine types. `tests/oracle_parity.rs` holds it to
//! Binance's official klines, so a rule bug in the engine cannot agree with itself.

mod checker;
mod period;
mod series;

pub use checker::{Checker, Completeness, Verification, verify};
pub use period::Period;
pub use series::{OracleKline, OracleTrade, build};
