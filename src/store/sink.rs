//! The sink thread: its own delta consumer, writing every closed kline to the database.
//!
//! It only ever pulls, so the engine never waits for the disk. While the database cannot be
//! written (locked, disk full, I/O errors) it keeps what it pulled in memory, retries with
//! exponential backoff, logs loudly but rate-limited and publishes the unwritten count; once its
//! backlog reaches `max_backlog` it stops pulling, and the engine's own per-consumer bound
//! decides what is kept (what falls past it is counted as missed).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::backoff::{Backoff, LogLimiter};
use super::error::{StoreError, StoreErrorKind};
use super::kline_store::KlineStore;
use super::names::SymbolNames;
use super::pending::Pending;
use super::sink_stats::{SinkReport, SinkStats};
use super::source::DeltaSource;
use crate::aggregator::PullError;
use crate::interval::Interval;

/// How the sink paces its pulls, writes and retries.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// Time between pulls; each pull is followed by a write of what is pending (200 ms).
    pub batch_every: Duration,
    /// Most closed klines per transaction; a larger backlog is written as several (10 000).
    pub max_batch: usize,
    /// First delay after a failed write (100 ms); it doubles with each further failure...
    pub retry_min: Duration,
    /// ...up to this (5 s).
    pub retry_max: Duration,
    /// Closed klines held in memory before the sink stops pulling and leaves the rest to the
    /// engine's backlog bound (1 000 000, about 150 MB).
    pub max_backlog: usize,
    /// How often the newest state of changed open klines is written (and once more at stop),
    /// so that a restart can resume the current periods; `None` stores closed klines only
    /// (1 s).
    pub open_every: Option<Duration>,
    /// How long a stop keeps retrying to write the backlog before giving up (5 s).
    pub stop_timeout: Duration,
}

impl Default for SinkOptions {
    fn default() -> SinkOptions {
        SinkOptions {
            batch_every: Duration::from_millis(200),
            max_batch: 10_000,
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_secs(5),
            max_backlog: 1_000_000,
            open_every: Some(Duration::from_secs(1)),
            stop_timeout: Duration::from_secs(5),
        }
    }
}

/// A running sink thread.
#[derive(Debug)]
pub struct SinkHandle {
    /// Live counters, for metrics.
    pub stats: Arc<SinkStats>,
    thread: JoinHandle<SinkReport>,
}

impl SinkHandle {
    /// Waits for the thread to end (set the stop flag first) and says how it ended.
    pub fn join(self) -> SinkReport {
        match self.thread.join() {
            Ok(report) => report,
            Err(_) => SinkReport::from_stats(&self.stats, None, true),
        }
    }
}

/// Opens the database at `store_path` and starts the sink thread on `source`.
///
/// `names` maps global symbol indices to names (read only when an unknown index shows up) and
/// `intervals` maps the records' interval indices to intervals. The thread runs until `stop`
/// is set or the source disconnects; then it pulls once more, writes everything (retrying for
/// up to `stop_timeout`) and ends.
///
/// # Errors
///
/// The database cannot be opened (see [`KlineStore::open`]) or the thread cannot be started.
pub fn spawn_sink<S: DeltaSource + Send + 'static>(
    source: S,
    store_path: PathBuf,
    names: Arc<RwLock<Vec<String>>>,
    intervals: Vec<Interval>,
    options: SinkOptions,
    stop: Arc<AtomicBool>,
) -> Result<SinkHandle, StoreError> {
    let store = KlineStore::open(&store_path)?;
    let stats = Arc::new(SinkStats::default());
    let sink = Sink {
        source,
        store,
        names: SymbolNames::new(names),
        intervals,
        pending: Pending::new(options.open_every.is_some()),
        backoff: Backoff::new(options.retry_min, options.retry_max),
        failure_log: LogLimiter::new(Duration::from_secs(10)),
        drop_log: LogLimiter::new(Duration::from_secs(10)),
        retry_at: None,
        last_error: None,
        last_open_write: Instant::now(),
        options,
        stop,
        stats: Arc::clone(&stats),
    };
    let thread = std::thread::Builder::new()
        .name("klagg-sink".into())
        .spawn(move || sink.run())
        .map_err(|e| {
            StoreError::io(
                &store_path,
                "starting the sink thread",
                StoreErrorKind::Thread,
                e,
            )
        })?;
    Ok(SinkHandle { stats, thread })
}

/// The sink thread's state.
struct Sink<S> {
    source: S,
    store: KlineStore,
    names: SymbolNames,
    intervals: Vec<Interval>,
    pending: Pending,
    backoff: Backoff,
    failure_log: LogLimiter,
    drop_log: LogLimiter,
    /// Set after a retryable failure: no write is tried before then.
    retry_at: Option<Instant>,
    /// The latest retryable failure, reported if the sink has to stop with a backlog.
    last_error: Option<StoreError>,
    last_open_write: Instant,
    options: SinkOptions,
    stop: Arc<AtomicBool>,
    stats: Arc<SinkStats>,
}

impl<S: DeltaSource> Sink<S> {
    fn run(mut self) -> SinkReport {
        let report = self.serve();
        self.stats.set_stopped();
        report
    }

    fn serve(&mut self) -> SinkReport {
        let every = self.options.batch_every;
        let mut next_tick = Instant::now();
        loop {
            // Read before pulling, so that the pull after a stop request is a final pull.
            let stopping = self.stop.load(Ordering::Acquire);
            let room = self.pending.closed_len() < self.options.max_backlog;
            let source_gone = (room || stopping) && self.pull();
            if stopping || source_gone {
                return self.finish();
            }
            if self.retry_at.is_none_or(|at| Instant::now() >= at)
                && let Err(fatal) = self.write_pending(false)
            {
                return SinkReport::from_stats(&self.stats, Some(fatal), false);
            }
            next_tick += every;
            let now = Instant::now();
            if next_tick <= now {
                // Fell behind (a long write): pace from now rather than pull in a burst.
                next_tick = now + every;
            }
            std::thread::sleep(next_tick - now);
        }
    }

    /// Pulls once; true when the engine is gone.
    fn pull(&mut self) -> bool {
        let gone = match self.source.pull(self.options.batch_every) {
            Ok(delta) => {
                self.pending.absorb(delta);
                if delta.missed_closed > 0 {
                    self.stats.add_missed(delta.missed_closed);
                    log::error!(
                        "kline sink fell behind the engine's backlog bound: {} closed klines \
                         will never reach the database {}",
                        delta.missed_closed,
                        self.store.path().display()
                    );
                }
                false
            }
            Err(PullError::Disconnected) => true,
            Err(PullError::Timeout | PullError::Busy) => false,
        };
        self.stats.set_backlog(self.pending.closed_len());
        gone
    }

    /// After stop: writes everything, retrying retryable failures until `stop_timeout`.
    fn finish(&mut self) -> SinkReport {
        let deadline = Instant::now() + self.options.stop_timeout;
        loop {
            if let Err(fatal) = self.write_pending(true) {
                return SinkReport::from_stats(&self.stats, Some(fatal), false);
            }
            let done = self.pending.closed_len() == 0 && !self.pending.has_open();
            if done {
                return SinkReport::from_stats(&self.stats, None, false);
            }
            let retry_at = self.retry_at.unwrap_or_else(Instant::now);
            if retry_at >= deadline {
                log::error!(
                    "kline sink stopping with {} closed klines unwritten to {}",
                    self.pending.closed_len(),
                    self.store.path().display()
                );
                let error = self.last_error.take();
                return SinkReport::from_stats(&self.stats, error, false);
            }
            std::thread::sleep(retry_at.saturating_duration_since(Instant::now()));
        }
    }

    /// Writes the backlog in transactions of at most `max_batch` closed klines, plus the open
    /// snapshots when due (or `force_open`). A retryable failure leaves the rest pending and
    /// schedules the retry; only a fatal one is returned.
    fn write_pending(&mut self, force_open: bool) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut open_due = force_open
            || self
                .options
                .open_every
                .is_some_and(|every| now.saturating_duration_since(self.last_open_write) >= every);
        loop {
            let with_open = open_due && self.pending.has_open();
            if self.pending.closed_len() == 0 && !with_open {
                break;
            }
            let max_closed = self.options.max_batch.max(1);
            let batch = self
                .pending
                .batch(&mut self.names, &self.intervals, max_closed, with_open);
            if batch.dropped > 0 {
                self.stats.add_dropped(batch.dropped);
                if let Some(unlogged) = self.drop_log.admit(now) {
                    log::error!(
                        "kline sink dropped {} klines whose symbol or interval index has no \
                         name ({unlogged} more such batches not logged)",
                        batch.dropped
                    );
                }
            }
            match self.store.write_batch(&batch.rows) {
                Ok(written) => {
                    if written > 0 {
                        self.stats.record_batch(
                            batch.closed_rows,
                            batch.open_rows,
                            batch.newest_close,
                        );
                    }
                    self.pending.commit(batch.closed_taken, batch.with_open);
                    if batch.with_open {
                        self.last_open_write = now;
                        open_due = false;
                    }
                    self.recovered();
                }
                Err(e) => {
                    self.stats.record_error(e.kind());
                    self.stats.set_backlog(self.pending.closed_len());
                    if !e.is_retryable() {
                        log::error!("kline sink stopped: {e}");
                        return Err(e);
                    }
                    self.failed(e, now);
                    return Ok(());
                }
            }
        }
        self.stats.set_backlog(self.pending.closed_len());
        Ok(())
    }

    fn failed(&mut self, error: StoreError, now: Instant) {
        let delay = self.backoff.next_delay();
        self.retry_at = Some(now + delay);
        if let Some(unlogged) = self.failure_log.admit(now) {
            log::error!(
                "kline sink cannot write: {error}; holding {} closed klines in memory, \
                 retrying in {delay:?} ({unlogged} failures since the last message)",
                self.pending.closed_len()
            );
        }
        self.last_error = Some(error);
    }

    fn recovered(&mut self) {
        if self.retry_at.take().is_some() {
            log::warn!(
                "kline sink writing to {} again after errors",
                self.store.path().display()
            );
        }
        self.last_error = None;
        self.backoff.reset();
        self.failure_log.reset();
    }
}
