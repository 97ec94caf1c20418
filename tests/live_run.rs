//! `klagg run` end to end: a config file pointing at the loopback simulator (symbols = "all"
//! resolved through its REST exchangeInfo), the live engine for a few seconds, and every closed
//! kline in the SQLite database equal to the kline rebuilt from the simulator's trades, and
//! `--stamps` writing a latency stamp of every trade at every stage.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use klagg::aggregator::KlineRecord;
use klagg::demo::verify;
use klagg::interval::Interval;
use klagg::latency::{Stage, StampFile};
use klagg::live::{self, RunOptions};
use klagg::pipeline::now_ms;
use klagg::sim::MarketSource;
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::ServerConfig;
use klagg::sim::simulation::Simulation;
use klagg::store::KlineStore;

const INTERVALS: [&str; 3] = ["1s", "1m", "1h"];

#[test]
fn klagg_run_keeps_every_closed_kline_exact_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut market = SyntheticConfig::new(5, 2_000, 3, now_ms());
    market.quiet_fraction = 0.0;
    let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
    let mut sim = Simulation::serve(ServerConfig::default(), specs.clone()).unwrap();
    let database = dir.path().join("klines.sqlite");
    let stamps = dir.path().join("stamps.csv");
    let config = dir.path().join("klagg.toml");
    std::fs::write(
        &config,
        format!(
            "[exchange]\nsymbols = \"all\"\nws_url = \"ws://{addr}/market/stream\"\nrest_url = \"http://{addr}\"\nmax_symbols = 16\n\
             [klines]\nintervals = [\"1s\", \"1m\", \"1h\"]\ndatabase = \"{db}\"\n\
             [threads]\nio_cores = []\naggregator_cores = []\naggregator_shards = 2\nconsumer_cores = []\n[gateway]\nbind = \"127.0.0.1:0\"\n[latency]\nsample_every = 1\n",
            addr = sim.addr(),
            db = database.display()
        ),
    )
    .unwrap();
    let options = RunOptions {
        config,
        status_every: Duration::from_secs(60),
        duration: Some(Duration::from_secs(5)),
        stamps: Some(stamps.clone()),
    };
    let run = std::thread::spawn(move || live::run(&options, &AtomicBool::new(false)));
    assert!(
        sim.wait_for_clients(1, Duration::from_secs(10)),
        "the engine connects"
    );
    market.start_ms = now_ms();
    sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
        .unwrap();
    let status = run.join().unwrap().expect("klagg run");
    let trades = sim.stop().trades;
    assert!(status.klines_stored.unwrap_or(0) > 0, "{}", status.line());

    // Rows whose period ended well before the last trade are closed; newer ones may be the
    // open kline the sink also stores.
    let last_trade = trades.iter().map(|t| t.time_ms).max().unwrap();
    let store = KlineStore::open(&database).unwrap();
    let intervals: Vec<Interval> = INTERVALS
        .iter()
        .map(|i| Interval::parse(i).unwrap())
        .collect();
    let mut closed = Vec::new();
    for (symbol, spec) in specs.iter().enumerate() {
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
    let outcome = verify(&intervals, specs.len() as u32, &trades, &closed);
    assert_eq!(outcome.mismatches, 0, "{:?}", outcome.examples);

    let stamps = StampFile::read(&stamps).unwrap();
    assert_eq!(stamps.dropped, 0);
    assert!(stamps.trades > 1_000, "trades applied: {}", stamps.trades);
    let count = |stage| stamps.stamps.iter().filter(|s| s.stage == stage).count() as u64;
    for stage in [Stage::FrameRead, Stage::Pushed, Stage::Updated] {
        assert_eq!(count(stage), stamps.trades, "{stage:?} stamps");
    }
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
