//! What a synthetic market looks like: how many symbols, how busy, and which irregularities
//! (bursts, quiet symbols, a new listing) it shows.

use std::time::Duration;

/// Periodic bursts of activity: from `every` after the start, and again every `every`, the
/// trade rate is multiplied by `factor` for `length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    /// Time from one burst's start to the next (and from the market's start to the first).
    pub every: Duration,
    /// How long a burst lasts; at least `every` means the rate stays raised after the first.
    pub length: Duration,
    /// Rate multiplier during a burst.
    pub factor: u32,
}

/// How to build a [`SyntheticMarket`](super::SyntheticMarket).
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticConfig {
    /// Symbols listed from the start. Their names are `names` first, then `BTCUSDT`,
    /// `ETHUSDT`, `SYM003USDT`, `SYM004USDT`, ... (skipping names already taken); there are
    /// at least `names.len()` of them.
    pub symbols: usize,
    /// Names for the first symbols, in order, as Binance spells them (`BTCUSDT`,
    /// `币安人生USDT`).
    pub names: Vec<String>,
    /// Target trades per second over all symbols (outside bursts).
    pub msgs_per_s: u32,
    /// Fixes every random choice: same seed and same `poll` times, same trades.
    pub seed: u64,
    /// Wall-clock time the market starts at (ms since the epoch); no trade is earlier.
    pub start_ms: i64,
    /// Periodic bursts, if any.
    pub bursts: Option<Burst>,
    /// Share (0..=1) of the symbols that trade only about once every few minutes.
    pub quiet_fraction: f64,
    /// Lists one extra symbol this long after the start; it trades only from then on.
    pub new_listing_after: Option<Duration>,
    /// The name of that symbol; `NEWLISTUSDT` when not given.
    pub listing_name: Option<String>,
}

/// The demo's market: 50 symbols at 20,000 trades/s, seed 0, starting at the epoch (set
/// `start_ms` to the wall clock), with no bursts, quiet symbols or listing.
impl Default for SyntheticConfig {
    fn default() -> SyntheticConfig {
        SyntheticConfig::new(50, 20_000, 0, 0)
    }
}

impl SyntheticConfig {
    /// `symbols` generated names trading `msgs_per_s` in total from `start_ms`, with no bursts,
    /// no quiet symbols and no new listing.
    pub fn new(symbols: usize, msgs_per_s: u32, seed: u64, start_ms: i64) -> SyntheticConfig {
        SyntheticConfig {
            symbols,
            names: Vec::new(),
            msgs_per_s,
            seed,
            start_ms,
            bursts: None,
            quiet_fraction: 0.0,
            new_listing_after: None,
            listing_name: None,
        }
    }
}
