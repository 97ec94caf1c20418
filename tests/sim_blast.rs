//! `klagg blast`, the load generator of `scripts/throughput.sh`: `klagg run` started against it
//! (symbols from its exchangeInfo, streams from its combined-stream path) takes every trade it
//! sends, and every kline stored in SQLite equals the oracle's klines of the trades regenerated
//! from the blast record (`klagg check-store`'s check), none missing, none lost. And the
//! generator alone, into a reader that discards, sends exactly its count.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use klagg::check_store::{CheckOptions, check};
use klagg::interval::Interval;
use klagg::live::{self, RunOptions};
use klagg::sim::blast::{
    BlastConfig, BlastOptions, BlastServer, RECORD_FILE, Record, run as blast_run,
};

/// Trades one run sends: a second or two on a small machine.
const COUNT: u64 = 300_000;

/// The config of a `klagg run` following every symbol the generator lists, storing 1s, 1m and
/// 1h klines, all stages on one thread that parks when idle. The close grace is a minute: on a
/// loaded machine frames can reach the engine more than the default 1.5 s after their trade
/// time, and the engine then drops them as late by design; this test is about exactness.
fn write_config(
    dir: &Path,
    addr: std::net::SocketAddr,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let config = dir.join("klagg.toml");
    let database = dir.join("klines.sqlite");
    std::fs::write(
        &config,
        format!(
            "[exchange]\nsymbols = \"all\"\nws_url = \"ws://{addr}/market/stream\"\n\
             rest_url = \"http://{addr}\"\nmax_symbols = 64\n\
             [klines]\nintervals = [\"1s\", \"1m\", \"1h\"]\ndatabase = \"{db}\"\n\
             close_grace_ms = 60000\n\
             [threads]\nio_cores = [0]\naggregator_cores = [0]\nconsumer_cores = [0]\n\
             idle = \"park\"\n[gateway]\nbind = \"127.0.0.1:0\"\n[backfill]\nenabled = false\n",
            db = database.display()
        ),
    )
    .unwrap();
    (config, database)
}

/// Waits, sleeping, until `done` or `limit`; true if done.
fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn klagg_run_stores_exactly_the_klines_of_every_trade_blast_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = BlastServer::start(BlastConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        symbols: 40,
        seed: 5,
        count: Some(COUNT),
        write_bytes: 64 * 1024,
        cores: Vec::new(),
    })
    .unwrap();
    let (config, database) = write_config(dir.path(), server.addr());
    let stop = Arc::new(AtomicBool::new(false));
    let engine_stop = Arc::clone(&stop);
    let engine = std::thread::spawn(move || {
        let options = RunOptions {
            config,
            status_every: Duration::from_secs(60),
            duration: Some(Duration::from_secs(60)),
            stamps: None,
        };
        live::run(&options, &engine_stop)
    });
    assert!(
        wait_until(Duration::from_secs(40), || server.finished()),
        "blast sent its {COUNT} trades: {:?}",
        server.stats()
    );
    // The engine takes in what is still in the socket, then stops and stores its open klines.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Release);
    let status = engine.join().unwrap().expect("klagg run");
    let (record, _) = server.stop();
    assert_eq!(record.trades_sent(), COUNT);
    assert_eq!(
        status.shards.trades,
        COUNT,
        "every trade applied: {}",
        status.line()
    );
    assert_eq!(status.shards.gaps, 0, "{}", status.line());
    assert_eq!(status.shards.late_dropped, 0, "{}", status.line());
    record.save(dir.path()).unwrap();
    assert!(dir.path().join(RECORD_FILE).exists());

    let intervals: Vec<Interval> = ["1s", "1m", "1h"]
        .iter()
        .map(|i| Interval::parse(i).unwrap())
        .collect();
    let report = check(&CheckOptions {
        trades: dir.path().to_path_buf(),
        database,
        intervals,
    })
    .unwrap();
    assert_eq!(report.symbols, 40);
    assert!(report.klines >= 40 * 3, "{report:?}");
    assert!(report.is_exact(), "{report:?}");
}

#[test]
fn the_generator_alone_sends_its_count_to_a_discarding_reader() {
    let dir = tempfile::tempdir().unwrap();
    let options = BlastOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        symbols: 250,
        seed: 1,
        count: Some(COUNT),
        duration: Some(Duration::from_secs(30)),
        record: Some(dir.path().to_path_buf()),
        cores: Vec::new(),
        write_bytes: 256 * 1024,
        discard: true,
        discard_core: None,
    };
    let report = blast_run(&options, &AtomicBool::new(false)).unwrap();
    assert_eq!(report.sent, COUNT, "{report}");
    assert_eq!(report.read, Some(COUNT), "{report}");
    assert_eq!(
        report.clients, 2,
        "250 symbols take two connections: {report}"
    );
    assert_eq!(report.streams_refused, 0);
    let record = Record::load(dir.path()).unwrap().unwrap();
    assert_eq!(record.trades_sent(), COUNT);
    // Ids are consecutive per symbol from the first, over both connections.
    let market = record.market().unwrap();
    let mut total = 0;
    for symbol in [0, 199, 200, 249] {
        let trades = record.trades_of(&market, symbol);
        assert!(!trades.is_empty());
        for (n, trade) in trades.iter().enumerate() {
            assert_eq!(trade.agg_id, klagg::sim::blast::FIRST_AGG_ID + n as i64);
        }
        assert!(trades.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
        total += trades.len();
    }
    assert!(total > 0);
}
