//! `exchange.partition = "I/N"`: three `klagg run` engines with partitions 0/3, 1/3 and 2/3
//! against one loopback simulator together follow every symbol exactly once, a symbol listed
//! mid-run included, and each follows exactly the symbols whose FNV-1a hash falls in its
//! partition; the config checks and `check-config`'s lines about partitions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use klagg::aggregator::KlineRecord;
use klagg::config::{Partition, Plan, partition_of};
use klagg::interval::Interval;
use klagg::live::{self, RunOptions};
use klagg::oracle::{Completeness, verify};
use klagg::pipeline::now_ms;
use klagg::sim::MarketSource;
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::ServerConfig;
use klagg::sim::simulation::Simulation;
use klagg::store::KlineStore;

const PARTITIONS: u32 = 3;
const INTERVALS: [&str; 2] = ["1s", "1m"];

/// A config for the simulator at `sim` following partition `index` of [`PARTITIONS`] of every
/// symbol it lists, one unpinned shard, no gateway, klines stored in `dir/pI.sqlite`.
fn write_config(dir: &Path, sim: std::net::SocketAddr, index: u32) -> (PathBuf, PathBuf) {
    let config = dir.join(format!("p{index}.toml"));
    let database = dir.join(format!("p{index}.sqlite"));
    let intervals = INTERVALS.map(|i| format!("\"{i}\"")).join(", ");
    std::fs::write(
        &config,
        format!(
            "[exchange]\nsymbols = \"all\"\nws_url = \"ws://{sim}/market/stream\"\n\
             rest_url = \"http://{sim}\"\nmax_symbols = 32\npartition = \"{index}/{PARTITIONS}\"\n\
             [klines]\nintervals = [{intervals}]\ndatabase = \"{db}\"\n\
             [threads]\nio_cores = []\naggregator_cores = []\naggregator_shards = 1\n\
             consumer_cores = []\n[gateway]\nbind = \"\"\n[latency]\nsample_every = 0\n",
            db = database.display()
        ),
    )
    .expect("write a config");
    (config, database)
}

#[test]
fn three_partitions_follow_every_symbol_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut market = SyntheticConfig::new(15, 1_500, 5, now_ms());
    market.quiet_fraction = 0.0;
    market.names = vec!["BTCUSDT".into(), "ETHUSDT".into(), "SOLUSDT".into()];
    market.new_listing_after = Some(Duration::from_millis(1_500));
    market.listing_name = Some("币安人生USDT".into());
    let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
    let listed_later: Vec<&str> = specs
        .iter()
        .filter(|s| s.listed_at_ms.is_some())
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(listed_later, ["币安人生USDT"]);
    let mut sim = Simulation::serve(ServerConfig::default(), specs.clone()).unwrap();
    let runs: Vec<_> = (0..PARTITIONS)
        .map(|index| {
            let (config, database) = write_config(dir.path(), sim.addr(), index);
            let options = RunOptions {
                config,
                status_every: Duration::from_secs(60),
                duration: Some(Duration::from_secs(6)),
                stamps: None,
            };
            let run = std::thread::spawn(move || live::run(&options, &AtomicBool::new(false)));
            (run, database)
        })
        .collect();
    assert!(
        sim.wait_for_clients(u64::from(PARTITIONS), Duration::from_secs(15)),
        "the three engines connect"
    );
    market.start_ms = now_ms();
    sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
        .unwrap();
    let mut followed: BTreeMap<String, u32> = BTreeMap::new();
    let mut databases = Vec::new();
    for (index, (run, database)) in (0..).zip(runs) {
        let status = run.join().unwrap().expect("klagg run");
        assert!(status.klines_stored.unwrap_or(0) > 0, "{}", status.line());
        let store = KlineStore::open(&database).unwrap();
        for symbol in store.symbols().unwrap() {
            assert_eq!(
                partition_of(&symbol, PARTITIONS),
                index,
                "{symbol} followed by partition {index}"
            );
            if let Some(other) = followed.insert(symbol.clone(), index) {
                panic!("{symbol} followed by partitions {other} and {index}");
            }
        }
        databases.push(database);
    }
    let trades = sim.stop().trades;
    let all: BTreeSet<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let covered: BTreeSet<&str> = followed.keys().map(String::as_str).collect();
    assert_eq!(covered, all, "every symbol followed once");
    // The spread is the hash's: each host got some of the 16 symbols.
    for index in 0..PARTITIONS {
        assert!(followed.values().any(|&p| p == index), "{followed:?}");
    }
    assert_stored_klines_exact(&databases, &specs, &trades);
}

/// Every closed kline each engine stored equals the kline rebuilt from the simulator's trades.
fn assert_stored_klines_exact(
    databases: &[PathBuf],
    specs: &[klagg::sim::SymbolSpec],
    trades: &[klagg::sim::SimTrade],
) {
    let intervals: Vec<Interval> = INTERVALS
        .iter()
        .map(|i| Interval::parse(i).unwrap())
        .collect();
    let last_trade = trades.iter().map(|t| t.time_ms).max().unwrap();
    let mut closed = Vec::new();
    for database in databases {
        let store = KlineStore::open(database).unwrap();
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
    }
    assert!(closed.len() >= 16, "closed klines stored: {}", closed.len());
    let outcome = verify(&intervals, trades, &closed, Completeness::Given).unwrap();
    assert_eq!(outcome.mismatches, 0, "{:?}", outcome.examples);
}

fn settings(text: &str) -> Result<klagg::config::Settings, klagg::config::ConfigError> {
    klagg::config::parse(text, "p.toml")?.resolve(&[0, 1])
}

#[test]
fn invalid_partitions_name_the_input_and_what_is_valid() {
    for (bad, why) in [
        (
            "3/3",
            "I must be below N (partitions of 3 are numbered 0 to 2)",
        ),
        ("0/0", "N must be 1 to 1024"),
        ("a/b", "I and N must be whole numbers"),
    ] {
        let error = settings(&format!("[exchange]\npartition = \"{bad}\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!(
                "p.toml: exchange.partition = \"{bad}\": {why}; write \"I/N\""
            )),
            "{error}"
        );
    }
}

#[test]
fn listed_symbols_are_partitioned_in_the_plan_and_check_config() {
    let names = [
        "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT",
    ];
    let list = names.map(|n| format!("{n:?}")).join(", ");
    let mut planned = BTreeSet::new();
    for index in 0..PARTITIONS {
        let text = format!(
            "[exchange]\nsymbols = [{list}]\npartition = \"{index}/{PARTITIONS}\"\n\
             [threads]\nio_cores = []\naggregator_cores = []\nconsumer_cores = []\n"
        );
        let settings = settings(&text).unwrap();
        assert_eq!(
            settings.partition,
            Partition::new(index, PARTITIONS).unwrap()
        );
        let plan = Plan::new(&settings, None).unwrap();
        let mine: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| partition_of(n, PARTITIONS) == index)
            .collect();
        // Global indices are dense within the partition, in list order.
        let indices: Vec<(&str, u32)> = plan.symbol_indices().collect();
        assert_eq!(indices, mine.iter().copied().zip(0..).collect::<Vec<_>>());
        assert!(mine.iter().all(|n| planned.insert(*n)));
        let shown = plan.to_string();
        assert!(
            shown.contains(&format!(
                "partition  {index}/3: the symbols whose FNV-1a 64 hash h of the name gives \
                 (h * 3) >> 64 = {index}; {} of the 6 selected",
                mine.len()
            )),
            "{shown}"
        );
    }
    assert_eq!(planned.len(), names.len());
    // A list none of whose symbols falls in the partition is refused up front.
    let error = settings("[exchange]\nsymbols = [\"BTCUSDT\"]\npartition = \"1/3\"\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "p.toml: exchange.partition = \"1/3\": none of the 1 symbols listed in exchange.symbols \
         falls in this partition; list more symbols, use fewer partitions or symbols = \"all\""
    );
}

#[test]
fn check_config_names_the_partition_and_the_cpu_affinity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.toml");
    std::fs::write(
        &path,
        "[exchange]\npartition = \"2/4\"\n[threads]\nio_cores = []\naggregator_cores = []\n\
         consumer_cores = []\n",
    )
    .unwrap();
    let text = klagg::config::check_config(&path).unwrap();
    assert!(
        text.contains(
            "partition  2/4: the symbols whose FNV-1a 64 hash h of the name gives (h * 4) >> 64 \
             = 2; about 1 in 4 of those exchangeInfo lists at start, and of new listings"
        ),
        "{text}"
    );
    assert!(
        text.contains("systemd (deploy/klagg.service)\n  CPUAffinity="),
        "{text}"
    );
}
