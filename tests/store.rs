//! Persistence: exact round trips, corrections, Binance's range semantics, WAL, a kill -9, and a
//! sink that holds its backlog through a locked database.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use klagg::aggregator::{Delta, KlineRecord, PullError};
use klagg::interval::Interval;
use klagg::kline::Kline;
use klagg::store::{DeltaSource, KlineStore, SinkHandle, SinkOptions, StoreErrorKind, spawn_sink};
use rusqlite::Connection;

const MINUTE: i64 = 60_000;

fn m1() -> Interval {
    Interval::parse("1m").unwrap()
}

/// A one-minute kline at `open_time` whose every field depends on `seed`.
fn kline(open_time: i64, seed: i64) -> Kline {
    Kline {
        open_time,
        close_time: open_time + MINUTE - 1,
        open: 3_700_010_000_000 + seed,
        high: 3_800_000_000_000 + seed,
        low: 3_600_000_000_001 + seed,
        close: 3_700_000_000_000 + seed,
        volume: i128::from(seed) * 123_456_789 + 1,
        quote_volume: i128::from(seed) * 10_i128.pow(24) + 7,
        taker_buy_volume: i128::from(seed) * 1_000,
        taker_buy_quote_volume: i128::from(seed) * 10_i128.pow(17) + 3,
        count: seed,
        first_trade_id: seed * 10,
        last_trade_id: seed * 11,
    }
}

fn rows(symbol: &str, klines: &[Kline]) -> Vec<(String, Interval, Kline)> {
    klines
        .iter()
        .map(|k| (symbol.to_owned(), m1(), *k))
        .collect()
}

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("dir").join("klines.sqlite");
    (dir, path)
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn extreme_values_round_trip_exactly() {
    let (_dir, path) = temp_db();
    let mut store = KlineStore::open(&path).unwrap();
    let extreme = Kline {
        open_time: 0,
        close_time: MINUTE - 1,
        open: i64::MAX,
        high: i64::MAX,
        low: 1,
        close: 0,
        volume: i128::MAX,
        // Far beyond i64 and using all 16 fractional digits.
        quote_volume: i128::MAX - 1,
        taker_buy_volume: i128::from(i64::MAX) * 1_000,
        taker_buy_quote_volume: 1,
        count: i64::MAX,
        first_trade_id: 0,
        last_trade_id: i64::MAX,
    };
    let empty = Kline::empty(MINUTE, 2 * MINUTE - 1, 3_700_010_000_000);
    let ordinary = kline(2 * MINUTE, 42);
    assert_eq!(
        store
            .write_batch(&rows("BTCUSDT", &[extreme, empty, ordinary]))
            .unwrap(),
        3
    );
    let back = store.klines("BTCUSDT", m1(), None, None, 10).unwrap();
    assert_eq!(back, [extreme, empty, ordinary]);
    assert!(back[1].is_empty());

    // The text is Binance's: at least 8 fractional digits, exact, never an exponent.
    let raw = Connection::open(&path).unwrap();
    let (open, quote, tbq): (String, String, String) = raw
        .query_row(
            "SELECT open, quote_volume, taker_buy_quote_volume FROM klines WHERE open_time = ?1",
            [MINUTE],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (open.as_str(), quote.as_str()),
        ("37000.10000000", "0.00000000")
    );
    assert_eq!(tbq, "0.00000000");
    let tbq: String = raw
        .query_row(
            "SELECT taker_buy_quote_volume FROM klines WHERE open_time = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tbq, "0.0000000000000001");
}

#[test]
fn a_stored_value_that_is_not_exact_is_reported_as_bad_value() {
    let (_dir, path) = temp_db();
    let mut store = KlineStore::open(&path).unwrap();
    store.write_batch(&rows("X", &[kline(0, 1)])).unwrap();
    let raw = Connection::open(&path).unwrap();
    raw.execute("UPDATE klines SET volume = '1.5e3'", [])
        .unwrap();
    let e = store.klines("X", m1(), None, None, 1).unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::BadValue);
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("1.5e3"), "{e}");
}

#[test]
fn a_correction_replaces_the_stored_kline() {
    let (_dir, path) = temp_db();
    let mut store = KlineStore::open(&path).unwrap();
    store
        .write_batch(&rows("ETHUSDT", &[kline(0, 1), kline(MINUTE, 2)]))
        .unwrap();
    let corrected = kline(0, 9);
    store.write_batch(&rows("ETHUSDT", &[corrected])).unwrap();
    assert_eq!(
        store.klines("ETHUSDT", m1(), None, None, 10).unwrap(),
        [corrected, kline(MINUTE, 2)]
    );
    // Same key in one batch: the later row wins.
    store
        .write_batch(&rows("ETHUSDT", &[kline(0, 3), kline(0, 4)]))
        .unwrap();
    assert_eq!(
        store.klines("ETHUSDT", m1(), Some(0), Some(0), 10).unwrap(),
        [kline(0, 4)]
    );
}

#[test]
fn queries_follow_binance_start_end_limit_semantics() {
    let (_dir, path) = temp_db();
    let mut store = KlineStore::open(&path).unwrap();
    let all: Vec<Kline> = (0..10).map(|i| kline(i * MINUTE, i)).collect();
    store.write_batch(&rows("BTCUSDT", &all)).unwrap();
    // Other symbols and intervals do not leak in.
    store.write_batch(&rows("ETHUSDT", &all)).unwrap();
    let m5 = Interval::parse("5m").unwrap();
    store.write_batch(&[("BTCUSDT", m5, kline(0, 77))]).unwrap();

    let opens = |start, end, limit| -> Vec<i64> {
        store
            .klines("BTCUSDT", m1(), start, end, limit)
            .unwrap()
            .iter()
            .map(|k| k.open_time / MINUTE)
            .collect()
    };
    // Neither: the most recent `limit`, ascending.
    assert_eq!(opens(None, None, 3), [7, 8, 9]);
    assert_eq!(opens(None, None, 500), (0..10).collect::<Vec<_>>());
    // Start only: the first `limit` whose open time is at or after it (mid-period start skips
    // the period it falls in, as Binance does).
    assert_eq!(opens(Some(2 * MINUTE), None, 3), [2, 3, 4]);
    assert_eq!(opens(Some(2 * MINUTE + 1), None, 3), [3, 4, 5]);
    // End only: the last `limit` whose open time is at or before it.
    assert_eq!(opens(None, Some(5 * MINUTE), 3), [3, 4, 5]);
    assert_eq!(opens(None, Some(5 * MINUTE + 1), 2), [4, 5]);
    // Both: the first `limit` within, both ends inclusive.
    assert_eq!(opens(Some(2 * MINUTE), Some(8 * MINUTE), 4), [2, 3, 4, 5]);
    assert_eq!(opens(Some(2 * MINUTE), Some(4 * MINUTE), 100), [2, 3, 4]);
    assert!(opens(Some(20 * MINUTE), None, 5).is_empty());
    assert!(opens(None, None, 0).is_empty());

    assert_eq!(store.latest("BTCUSDT", m1()).unwrap(), Some(all[9]));
    assert_eq!(store.latest("BTCUSDT", m5).unwrap(), Some(kline(0, 77)));
    assert_eq!(store.latest("NOPE", m1()).unwrap(), None);
}

#[test]
fn the_file_is_created_in_wal_mode_with_a_schema_version() {
    let (_dir, path) = temp_db();
    drop(KlineStore::open(&path).unwrap());
    assert!(path.exists());
    let raw = Connection::open(&path).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: String = raw
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, "1");
    // Reopening an existing file is fine.
    drop(KlineStore::open(&path).unwrap());
}

#[test]
fn an_incompatible_or_foreign_file_is_refused_by_name() {
    let (dir, path) = temp_db();
    drop(KlineStore::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE meta SET value = '999' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    let e = KlineStore::open(&path).unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::SchemaMismatch);
    assert!(e.to_string().contains("klines.sqlite"), "{e}");

    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    let e = KlineStore::open(&junk).unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::Corrupt, "{e}");
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("junk.sqlite"), "{e}");
}

/// Rows per batch written by the kill -9 child.
const CHILD_BATCH: i64 = 50;
const CHILD_ENV: &str = "KLAGG_STORE_KILL9_DB";

/// Not a test on its own: the body of the child process of
/// `committed_batches_survive_a_kill_9`, which re-runs this binary with `CHILD_ENV` set.
#[test]
fn kill9_child_writer() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut store = KlineStore::open(Path::new(&path)).unwrap();
    let mut out = std::io::stdout().lock();
    for batch in 0..1_000_000 {
        let klines: Vec<Kline> = (0..CHILD_BATCH)
            .map(|j| {
                let i = batch * CHILD_BATCH + j;
                kline(i * MINUTE, i)
            })
            .collect();
        store.write_batch(&rows("BTCUSDT", &klines)).unwrap();
        writeln!(out, "committed {batch}").unwrap();
        out.flush().unwrap();
    }
}

/// Kills the child if the test fails before it does, so no writer outlives the test.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn committed_batches_survive_a_kill_9() {
    let (_dir, path) = temp_db();
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill9_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut last_committed = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("committed ") {
            let n: i64 = n.trim().parse().unwrap();
            last_committed = Some(n);
            if n >= 40 {
                break;
            }
        }
    }
    // SIGKILL, mid-run: the child is writing its next batches right now.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let last_committed = last_committed.expect("the child never committed a batch");

    let raw = Connection::open(&path).unwrap();
    let check: String = raw
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(raw);
    let store = KlineStore::open(&path).unwrap();
    let stored = store
        .klines("BTCUSDT", m1(), Some(0), None, usize::MAX)
        .unwrap();
    // Whole batches only, in order, and at least every batch reported committed.
    let n = i64::try_from(stored.len()).unwrap();
    assert_eq!(n % CHILD_BATCH, 0, "a partial batch survived: {n} rows");
    assert!(
        n >= (last_committed + 1) * CHILD_BATCH,
        "{n} rows, {last_committed} committed"
    );
    for (i, k) in (0..).zip(&stored) {
        assert_eq!(*k, kline(i * MINUTE, i));
    }
}

/// Holds the write lock from a second connection until dropped or released.
struct WriteLock(Connection);

impl WriteLock {
    fn take(path: &Path) -> WriteLock {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        WriteLock(conn)
    }

    fn release(self) {
        self.0.execute_batch("COMMIT").unwrap();
    }
}

#[test]
fn a_locked_database_is_a_retryable_error_naming_the_file() {
    let (_dir, path) = temp_db();
    let mut store = KlineStore::open(&path).unwrap();
    let lock = WriteLock::take(&path);
    let e = store
        .write_batch(&rows("BTCUSDT", &[kline(0, 1)]))
        .unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::Busy, "{e}");
    assert!(e.is_retryable());
    assert!(e.to_string().contains("klines.sqlite"), "{e}");
    assert!(e.to_string().contains("locked"), "{e}");
    // Readers are not blocked by the writer in WAL mode.
    assert!(
        store
            .klines("BTCUSDT", m1(), None, None, 1)
            .unwrap()
            .is_empty()
    );
    lock.release();
    store.write_batch(&rows("BTCUSDT", &[kline(0, 1)])).unwrap();
}

/// The test's end of a scripted engine: deltas queued here are handed out one per pull.
#[derive(Default)]
struct Feed {
    queue: Arc<Mutex<VecDeque<Result<Delta, PullError>>>>,
}

impl Feed {
    fn push(&self, closed: &[KlineRecord], open: &[KlineRecord]) {
        let delta = Delta {
            closed: closed.to_vec(),
            open: open.to_vec(),
            missed_closed: 0,
        };
        self.queue.lock().unwrap().push_back(Ok(delta));
    }

    fn push_error(&self, e: PullError) {
        self.queue.lock().unwrap().push_back(Err(e));
    }

    fn queued(&self) -> usize {
        self.queue.lock().unwrap().len()
    }
}

/// The sink's end: pulls the next queued delta, or an empty one when nothing is queued.
struct FakeSource {
    queue: Arc<Mutex<VecDeque<Result<Delta, PullError>>>>,
    delta: Delta,
}

impl DeltaSource for FakeSource {
    fn pull(&mut self, _timeout: Duration) -> Result<&Delta, PullError> {
        let next = self.queue.lock().unwrap().pop_front();
        self.delta = match next {
            Some(Ok(d)) => d,
            Some(Err(e)) => return Err(e),
            None => Delta::default(),
        };
        Ok(&self.delta)
    }
}

fn record(symbol: u32, k: Kline) -> KlineRecord {
    KlineRecord {
        symbol,
        interval: 0,
        correction: false,
        kline: k,
    }
}

fn start_sink(path: &Path, options: SinkOptions) -> (Feed, Arc<AtomicBool>, SinkHandle) {
    let feed = Feed::default();
    let source = FakeSource {
        queue: Arc::clone(&feed.queue),
        delta: Delta::default(),
    };
    let names = Arc::new(RwLock::new(vec![
        "BTCUSDT".to_owned(),
        "ETHUSDT".to_owned(),
    ]));
    let stop = Arc::new(AtomicBool::new(false));
    let handle = spawn_sink(
        source,
        path.to_path_buf(),
        names,
        vec![m1()],
        options,
        Arc::clone(&stop),
    )
    .unwrap();
    (feed, stop, handle)
}

fn fast_options() -> SinkOptions {
    SinkOptions {
        batch_every: Duration::from_millis(10),
        retry_min: Duration::from_millis(5),
        retry_max: Duration::from_millis(40),
        open_every: None,
        ..SinkOptions::default()
    }
}

#[test]
fn the_sink_holds_its_backlog_through_a_lock_and_writes_it_after() {
    let (_dir, path) = temp_db();
    drop(KlineStore::open(&path).unwrap());
    let lock = WriteLock::take(&path);
    let (source, stop, sink) = start_sink(&path, fast_options());
    let first: Vec<KlineRecord> = (0..100).map(|i| record(0, kline(i * MINUTE, i))).collect();
    source.push(&first, &[]);
    let stats = Arc::clone(&sink.stats);
    wait_until("a failed write", || {
        stats.errors() > 0 && stats.unwritten_backlog() == 100
    });
    assert_eq!(stats.last_error_kind(), Some(StoreErrorKind::Busy));
    assert_eq!(stats.klines_written(), 0);
    let second: Vec<KlineRecord> = (100..150)
        .map(|i| record(1, kline(i * MINUTE, i)))
        .collect();
    source.push(&second, &[]);
    wait_until("the backlog to grow", || stats.unwritten_backlog() == 150);
    assert_eq!(stats.klines_written(), 0);

    lock.release();
    wait_until("the backlog to be written", || {
        stats.klines_written() == 150
    });
    assert_eq!(stats.unwritten_backlog(), 0);
    assert!(stats.lag_ms().is_some());
    stop.store(true, Ordering::Release);
    let report = sink.join();
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!((report.klines_written, report.unwritten), (150, 0));

    let store = KlineStore::open(&path).unwrap();
    let btc: Vec<Kline> = first.iter().map(|r| r.kline).collect();
    let eth: Vec<Kline> = second.iter().map(|r| r.kline).collect();
    assert_eq!(
        store.klines("BTCUSDT", m1(), None, None, 1000).unwrap(),
        btc
    );
    assert_eq!(
        store.klines("ETHUSDT", m1(), None, None, 1000).unwrap(),
        eth
    );
}

#[test]
fn a_full_backlog_leaves_the_rest_with_the_engine() {
    let (_dir, path) = temp_db();
    drop(KlineStore::open(&path).unwrap());
    let lock = WriteLock::take(&path);
    let options = SinkOptions {
        max_backlog: 100,
        ..fast_options()
    };
    let (source, stop, sink) = start_sink(&path, options);
    for batch in 0..3 {
        let closed: Vec<KlineRecord> = (batch * 100..(batch + 1) * 100)
            .map(|i| record(0, kline(i * MINUTE, i)))
            .collect();
        source.push(&closed, &[]);
    }
    let stats = Arc::clone(&sink.stats);
    wait_until("a full backlog", || {
        stats.unwritten_backlog() == 100 && stats.errors() > 1
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(source.queued(), 2, "the sink kept pulling past max_backlog");
    lock.release();
    wait_until("everything written", || stats.klines_written() == 300);
    stop.store(true, Ordering::Release);
    assert!(sink.join().error.is_none());
}

#[test]
fn the_sink_stores_open_klines_and_closed_ones_replace_them() {
    let (_dir, path) = temp_db();
    let options = SinkOptions {
        open_every: Some(Duration::ZERO),
        ..fast_options()
    };
    let (source, stop, sink) = start_sink(&path, options);
    let stats = Arc::clone(&sink.stats);
    let partial = kline(5 * MINUTE, 3);
    source.push(&[record(0, kline(4 * MINUTE, 4))], &[record(0, partial)]);
    wait_until("the open kline", || {
        stats.open_written() == 1 && stats.klines_written() == 1
    });
    let store = KlineStore::open(&path).unwrap();
    assert_eq!(store.latest("BTCUSDT", m1()).unwrap(), Some(partial));

    // The period closes and is then corrected; the open state of the next period arrives with
    // the close and is written at stop.
    let closed = kline(5 * MINUTE, 5);
    let corrected = KlineRecord {
        correction: true,
        ..record(0, kline(5 * MINUTE, 6))
    };
    source.push(&[record(0, closed)], &[record(0, kline(6 * MINUTE, 1))]);
    source.push(&[corrected], &[]);
    wait_until("the sink to pull everything", || source.queued() == 0);
    stop.store(true, Ordering::Release);
    let report = sink.join();
    assert!(report.error.is_none());
    assert_eq!(report.klines_written, 3);
    let stored = store.klines("BTCUSDT", m1(), None, None, 10).unwrap();
    assert_eq!(
        stored,
        [kline(4 * MINUTE, 4), corrected.kline, kline(6 * MINUTE, 1)]
    );
}

#[test]
fn a_disconnected_engine_ends_the_sink_after_a_final_write() {
    let (_dir, path) = temp_db();
    let (source, _stop, sink) = start_sink(&path, fast_options());
    source.push_error(PullError::Timeout);
    // Open klines are not stored with `open_every: None`, and do not hold up the stop.
    source.push(&[record(1, kline(0, 1))], &[record(1, kline(MINUTE, 2))]);
    source.push_error(PullError::Disconnected);
    let started = Instant::now();
    let report = sink.join();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(report.error.is_none());
    assert!(!report.panicked);
    assert_eq!(report.klines_written, 1);
    let store = KlineStore::open(&path).unwrap();
    assert_eq!(store.latest("ETHUSDT", m1()).unwrap(), Some(kline(0, 1)));
}
