//! The sink's live counters (for `/metrics`) and its final report.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU64, Ordering};

use super::error::{StoreError, StoreErrorKind};
use crate::pipeline::now_ms;

/// Counters the sink thread updates and anyone may read at any time.
///
/// Each value is read on its own (relaxed): a reader may see `klines_written` from one batch
/// and `batches` from the next, which is fine for metrics.
#[derive(Debug)]
pub struct SinkStats {
    batches: AtomicU64,
    klines_written: AtomicU64,
    open_written: AtomicU64,
    unwritten_backlog: AtomicU64,
    errors: AtomicU64,
    last_error_kind: AtomicU8,
    newest_close_ms: AtomicI64,
    missed_closed: AtomicU64,
    dropped: AtomicU64,
    stopped: AtomicBool,
}

/// `newest_close_ms` before anything was written.
const NONE_WRITTEN: i64 = i64::MIN;

impl Default for SinkStats {
    fn default() -> SinkStats {
        SinkStats {
            batches: AtomicU64::new(0),
            klines_written: AtomicU64::new(0),
            open_written: AtomicU64::new(0),
            unwritten_backlog: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            last_error_kind: AtomicU8::new(0),
            newest_close_ms: AtomicI64::new(NONE_WRITTEN),
            missed_closed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        }
    }
}

impl SinkStats {
    /// Transactions committed.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// Closed klines (corrections included) committed to the database.
    pub fn klines_written(&self) -> u64 {
        self.klines_written.load(Ordering::Relaxed)
    }

    /// Open-kline snapshots committed (what a restart resumes from).
    pub fn open_written(&self) -> u64 {
        self.open_written.load(Ordering::Relaxed)
    }

    /// Closed klines pulled from the engine but not yet committed: grows while the database is
    /// locked or the disk is full.
    pub fn unwritten_backlog(&self) -> u64 {
        self.unwritten_backlog.load(Ordering::Relaxed)
    }

    /// Failed write attempts (each retry of a batch counts).
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// The kind of the most recent failure, if any ever happened.
    pub fn last_error_kind(&self) -> Option<StoreErrorKind> {
        StoreErrorKind::from_code(self.last_error_kind.load(Ordering::Relaxed))
    }

    /// Close time (last millisecond) of the newest closed kline committed, if any.
    pub fn newest_written_close_ms(&self) -> Option<i64> {
        let ms = self.newest_close_ms.load(Ordering::Relaxed);
        (ms != NONE_WRITTEN).then_some(ms)
    }

    /// Milliseconds from the end of the newest committed closed kline's period to now: how far
    /// the database trails the market. `None` before the first write.
    pub fn lag_ms(&self) -> Option<i64> {
        self.newest_written_close_ms()
            .map(|close| now_ms().saturating_sub(close.saturating_add(1)))
    }

    /// Closed klines the engine dropped for this sink because it fell behind the engine's
    /// backlog bound: lost to the database.
    pub fn missed_closed(&self) -> u64 {
        self.missed_closed.load(Ordering::Relaxed)
    }

    /// Klines discarded because their symbol or interval index had no name (a wiring error).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// True once the sink thread has exited.
    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    pub(crate) fn record_batch(&self, closed: usize, open: usize, newest_close: Option<i64>) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.klines_written
            .fetch_add(widen(closed), Ordering::Relaxed);
        self.open_written.fetch_add(widen(open), Ordering::Relaxed);
        if let Some(close) = newest_close {
            self.newest_close_ms.fetch_max(close, Ordering::Relaxed);
        }
    }

    pub(crate) fn record_error(&self, kind: StoreErrorKind) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.last_error_kind.store(kind.code(), Ordering::Relaxed);
    }

    pub(crate) fn set_backlog(&self, closed: usize) {
        self.unwritten_backlog
            .store(widen(closed), Ordering::Relaxed);
    }

    pub(crate) fn add_missed(&self, missed: u64) {
        self.missed_closed.fetch_add(missed, Ordering::Relaxed);
    }

    pub(crate) fn add_dropped(&self, dropped: usize) {
        self.dropped.fetch_add(widen(dropped), Ordering::Relaxed);
    }

    pub(crate) fn set_stopped(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

fn widen(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// How the sink ended, returned by [`super::SinkHandle::join`].
#[derive(Debug)]
pub struct SinkReport {
    /// Transactions committed.
    pub batches: u64,
    /// Closed klines committed.
    pub klines_written: u64,
    /// Closed klines still unwritten when the sink gave up (0 after a clean stop).
    pub unwritten: u64,
    /// Closed klines the engine dropped because the sink fell behind its backlog bound.
    pub missed_closed: u64,
    /// The error that stopped the sink early (fatal), or the last retryable error when it had
    /// to stop with klines unwritten; `None` after a clean stop.
    pub error: Option<StoreError>,
    /// True if the sink thread panicked (then the counters are the last published ones).
    pub panicked: bool,
}

impl SinkReport {
    /// A report from the counters as last published, with `error` and `panicked` as given.
    pub(crate) fn from_stats(
        stats: &SinkStats,
        error: Option<StoreError>,
        panicked: bool,
    ) -> SinkReport {
        SinkReport {
            batches: stats.batches(),
            klines_written: stats.klines_written(),
            unwritten: stats.unwritten_backlog(),
            missed_closed: stats.missed_closed(),
            error,
            panicked,
        }
    }
}
