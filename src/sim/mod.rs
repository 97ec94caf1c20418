//! `klagg sim`: a Binance-compatible market-data exchange on loopback, so the live path can be
//! run, tested and demonstrated on machines that cannot reach Binance.
//!
//! A market thread takes trades from a [`MarketSource`] (a synthetic market or a replayed file)
//! when they are due and publishes them through the [`server`], which speaks Binance's
//! WebSocket streams and REST endpoints on one port and injects the faults it is asked to.

pub mod blast;
pub mod market;
mod run;
pub mod server;
pub mod simulation;
mod tail_loss;
mod types;
mod write_stamps;

pub use run::{SimError, SimOptions, SourceOptions, run};
pub use tail_loss::TailLoss;
pub use types::{Faults, MarketSource, SimTrade, SymbolSpec};
pub use write_stamps::WriteStamps;
