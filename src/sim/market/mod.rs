//! Where the simulator's trades come from, and where they are recorded.
//!
//! Two [`MarketSource`](crate::sim::MarketSource)s: [`SyntheticMarket`] invents a market from a
//! seed (many symbols on their own tick and step grids, a skewed activity, bursts, quiet
//! symbols, a new listing), and [`FileReplay`] replays Data Vision aggTrades files and
//! WebSocket captures on the wall clock, sped up or as fast as possible. Both keep agg ids and
//! raw trade ids consecutive per symbol as Binance does, so a client's gap and dedupe logic is
//! exercised for real. [`Recorder`] writes whatever was sent back out as Data Vision CSVs that
//! `klagg replay` reads, closing the loop.

mod decimal_text;
mod file_input;
mod file_replay;
mod input_stream;
mod recorder;
mod rng;
mod schedule;
mod symbol_walk;
mod synthetic;
mod synthetic_config;
mod universe;

pub use decimal_text::{format_fixed, write_fixed};
pub use file_input::FileInput;
pub use file_replay::{FileReplay, FileReplayConfig, Speed};
pub use recorder::Recorder;
pub use synthetic::SyntheticMarket;
pub use synthetic_config::{Burst, SyntheticConfig};
pub use universe::QUIET_MEAN_GAP_S;

/// Most trades one `poll` of a source here appends; a caller far behind (or replaying as fast
/// as possible) gets the rest from the next polls, so one batch never exhausts memory.
pub const MAX_TRADES_PER_POLL: usize = 1 << 20;
