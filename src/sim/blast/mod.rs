//! `klagg blast`: a load generator that costs next to nothing per trade, for throughput runs.
//!
//! It speaks just enough of Binance USD-M for `klagg run` and the baseline to start against it
//! (`exchangeInfo`, `time`, `ping`, the combined-stream WebSocket path) and gives every
//! WebSocket connection one thread that writes pre-encoded aggTrade frames: each frame is a
//! fixed-width template whose ids, times, prices and quantities are patched in place, hundreds
//! of frames go out in one `write()`, and TCP backpressure paces it. Agg ids are consecutive per
//! symbol and times track the wall clock. Every trade is a pure function of the seed, the
//! symbol and its agg id, so the run is recorded as a few numbers per connection ([`Record`])
//! from which `klagg check-store` regenerates every trade sent.

mod discard;
mod frames;
mod http;
mod market;
mod record;
mod run;
mod server;
mod writer;

pub use discard::{DiscardReader, discard_streams};
pub use frames::FrameBatch;
pub use market::{BlastMarket, Draw, FIRST_AGG_ID, MAX_SYMBOLS, TABLE};
pub use record::{RECORD_FILE, Record, Segment};
pub use run::{BlastOptions, BlastReport, run};
pub use server::{BlastConfig, BlastServer, BlastStats};
pub use writer::WriterStats;
