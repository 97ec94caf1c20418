//! `klagg run` end to end: a config file pointing at the loopback simulator (symbols = "all"
//! resolved through its REST exchangeInfo), the live engine for a few seconds, and every closed
//! kline in the SQLite database equal to the kline rebuilt from the simulator's trades, and
//! `--stamps` writing a latency stamp of every trade at every stage.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use klagg::aggregator::KlineRecord;
use klagg::interval::Interval;
use klagg::latency::{Stage, StampFile};
use klagg::live::{self, RunOptions, Status};
use klagg::oracle::{Completeness, verify};
use klagg::pipeline::now_ms;
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::ServerConfig;
use klagg::sim::simulation::Simulation;
use klagg::sim::{MarketSource, SimTrade, SymbolSpec};
use klagg::store::KlineStore;

#[path = "support/run_config.rs"]
mod run_config;
use run_config::{INTERVALS, RunFiles, write_run_config};

/// What a `klagg run` against the simulator left behind.
struct Finished {
    trades: Vec<SimTrade>,
    status: Status,
    database: PathBuf,
    specs: Vec<SymbolSpec>,
}

/// Runs `klagg run` for 5 s against a simulator of 5 symbols at 2,000 trades/s with `extra`
/// config lines in `[exchange]`, stamps written to `stamps`; `during` gets the simulator once
/// trades flow.
fn run_klagg(dir: &Path, extra: &str, clients: u64, during: impl FnOnce(&Simulation)) -> Finished {
    let mut market = SyntheticConfig::new(5, 2_000, 3, now_ms());
    market.quiet_fraction = 0.0;
    let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
    let mut sim = Simulation::serve(ServerConfig::default(), specs.clone()).unwrap();
    let RunFiles {
        config,
        database,
        stamps,
    } = write_run_config(dir, sim.addr(), extra);
    let options = RunOptions {
        config,
        status_every: Duration::from_secs(60),
        duration: Some(Duration::from_secs(5)),
        stamps: Some(stamps),
    };
    let run = std::thread::spawn(move || live::run(&options, &AtomicBool::new(false)));
    assert!(
        sim.wait_for_clients(clients, Duration::from_secs(10)),
        "the engine connects"
    );
    market.start_ms = now_ms();
    sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
        .unwrap();
    during(&sim);
    let status = run.join().unwrap().expect("klagg run");
    Finished {
        trades: sim.stop().trades,
        status,
        database,
        specs,
    }
}

impl Finished {
    /// Checks every closed kline in the database against the klines rebuilt from every trade
    /// the simulator published; returns how many were checked.
    fn assert_closed_klines_exact(&self) -> usize {
        assert!(
            self.status.klines_stored.unwrap_or(0) > 0,
            "{}",
            self.status.line()
        );
        // Rows whose period ended well before the last trade are closed; newer ones may be the
        // open kline the sink also stores.
        let last_trade = self.trades.iter().map(|t| t.time_ms).max().unwrap();
        let store = KlineStore::open(&self.database).unwrap();
        let intervals: Vec<Interval> = INTERVALS
            .iter()
            .map(|i| Interval::parse(i).unwrap())
            .collect();
        let mut closed = Vec::new();
        for (symbol, spec) in self.specs.iter().enumerate() {
            for (interval, iv) in intervals.iter().enumerate() {
                for kline in store.klines(&spec.name, *iv, None, None, 100_000).unwrap() {
                    if kline.close_time < last_trade - 2_000 {
                        closed.push(KlineRecord {
                            symbol: symbol as u32,
                            interval: interval as u16,
                            correction: false,
                            kline,
                        });
                    }
                }
            }
        }
        assert!(closed.len() >= 10, "closed klines stored: {}", closed.len());
        let outcome = verify(&intervals, &self.trades, &closed, Completeness::Given).unwrap();
        assert_eq!(outcome.mismatches, 0, "{:?}", outcome.examples);
        closed.len()
    }
}

#[test]
fn klagg_run_keeps_every_closed_kline_exact_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_klagg(dir.path(), "", 1, |_| {});
    run.assert_closed_klines_exact();
    let (trades, specs) = (run.trades, run.specs);
    let stamps = dir.path().join("stamps.csv");
    let stamps = StampFile::read(&stamps).unwrap();
    assert_eq!(stamps.dropped, 0);
    assert!(stamps.trades > 1_000, "trades applied: {}", stamps.trades);
    let count = |stage| stamps.stamps.iter().filter(|s| s.stage == stage).count() as u64;
    // Trades from before klagg subscribed came from REST (the warm start), not from frames;
    // a frame whose trade REST had brought first updated nothing.
    let read = count(Stage::FrameRead);
    assert!(read <= stamps.trades);
    assert_eq!(count(Stage::Pushed), read, "Pushed stamps");
    let updated = count(Stage::Updated);
    assert!(
        updated <= read && updated * 100 >= read * 99,
        "{updated} of {read} updated"
    );
    assert!(count(Stage::Delivered) > 0);
    let sent: HashSet<(&str, i64)> = trades
        .iter()
        .map(|t| (specs[t.symbol as usize].name.as_str(), t.last_trade_id))
        .collect();
    for s in &stamps.stamps {
        let name = stamps.names[s.symbol as usize].as_str();
        assert!(sent.contains(&(name, s.trade_id)), "{s:?} of {name}");
    }
}

#[test]
fn with_redundant_connections_killing_either_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_klagg(dir.path(), "redundancy = 2", 2, |sim| {
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(800));
            assert!(sim.drop_oldest_connection());
        }
    });
    // Each trade came in twice and is kept once, whichever connection was down.
    let line = run.status.line();
    assert!(
        !line.contains(" dup 0 ") && !line.contains("reconnects 0 "),
        "{line}"
    );
    run.assert_closed_klines_exact();
}
