//! The state every thread of the server shares: settings, symbols, subscriber lists, the
//! published market, counters and the stop flag.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use super::config::ServerConfig;
use super::fault_turns::FaultTurns;
use super::market::MarketState;
use super::routes::Routes;
use super::stats::Counters;
use super::symbols::SymbolTable;
use super::written::WrittenStamps;

/// Shared by the accept thread, every connection thread and every [`super::Publisher`].
#[derive(Debug)]
pub(crate) struct Hub {
    /// Settings the server was started with.
    pub(crate) config: ServerConfig,
    /// Every symbol, listed or not.
    pub(crate) symbols: SymbolTable,
    /// Subscriber lists.
    pub(crate) routes: Routes,
    /// What was published.
    pub(crate) market: Mutex<MarketState>,
    /// Counters.
    pub(crate) counters: Counters,
    /// The server's one schedule of drops and stalls, when they are taken in turns.
    pub(crate) fault_turns: Option<FaultTurns>,
    /// Write stamps of the frames marked for them, once stamping is on.
    pub(crate) written: OnceLock<Arc<WrittenStamps>>,
    /// Set by `stop`: every thread ends at its next wake-up.
    stopping: AtomicBool,
    next_connection: AtomicU64,
}

impl Hub {
    /// Shared state for a server about to start.
    pub(crate) fn new(config: ServerConfig, symbols: SymbolTable, market: MarketState) -> Hub {
        Hub {
            fault_turns: FaultTurns::new(&config.faults, std::time::Instant::now()),
            written: OnceLock::new(),
            routes: Routes::new(symbols.len()),
            config,
            symbols,
            market: Mutex::new(market),
            counters: Counters::default(),
            stopping: AtomicBool::new(false),
            next_connection: AtomicU64::new(1),
        }
    }

    /// True once the server is stopping.
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Tells every thread to end.
    pub(crate) fn begin_stop(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// A number no other connection has.
    pub(crate) fn connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }
}

/// Wall-clock time in ms since the epoch, for `serverTime`.
pub(crate) fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
