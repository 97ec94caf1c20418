//! Two `klagg run` processes on the same simulator symbols publish to one real nats-server;
//! one is killed mid-run (SIGKILL) and started again. The closed-kline stream then holds every
//! closed kline once: no message id twice, every period of every symbol and interval present,
//! and the last message of each kline equal to the kline the oracle rebuilds from the trades
//! the simulator published. The core subject meanwhile carried the closing events of both
//! hosts, so the stream's single copies come from JetStream's de-duplication.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use klagg::aggregator::KlineRecord;
use klagg::interval::Interval;
use klagg::nats::event::parse_kline_event;
use klagg::nats::streams::closed_stream;
use klagg::oracle::{Completeness, verify};
use klagg::pipeline::now_ms;
use klagg::sim::MarketSource;
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::ServerConfig;
use klagg::sim::simulation::Simulation;
use klagg::sim::{SimTrade, SymbolSpec};
use rustix::process::{Pid, Signal, kill_process};

#[path = "support/nats_server.rs"]
mod nats_server;
#[path = "support/python_env.rs"]
mod python_env;
#[path = "support/run_config.rs"]
mod run_config;

use nats_server::NatsServer;
use run_config::{INTERVALS, write_run_config};

const NON_ASCII: &str = "币安人生USDT";

/// A `klagg run` child publishing to NATS, its output in its folder.
fn start_klagg(config: &Path, dir: &Path, round: u32) -> Child {
    let log = |what: &str| File::create(dir.join(format!("{what}-{round}.log"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_klagg"))
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log("stdout"))
        .stderr(log("stderr"))
        .spawn()
        .expect("start klagg run")
}

fn terminate(child: &mut Child) {
    let pid = Pid::from_raw(child.id() as i32).expect("pid");
    kill_process(pid, Signal::TERM).expect("SIGTERM");
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("klagg run did not stop within 10 s of SIGTERM");
}

/// Counts the closing events (`"x":true`) on the core subjects, by message.
fn count_closing_events(url: String, seen: Arc<Mutex<HashMap<String, u32>>>) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let client = async_nats::connect(url).await.unwrap();
            let mut sub = client.subscribe("klagg.kline.>").await.unwrap();
            while let Some(message) = sub.next().await {
                let Ok(event) = parse_kline_event(&message.payload) else {
                    continue;
                };
                if event.closed {
                    let key = format!(
                        "{}/{}/{}",
                        event.symbol, event.interval, event.kline.open_time
                    );
                    *seen.lock().unwrap().entry(key).or_default() += 1;
                }
            }
        });
    });
}

/// Every message of the closed stream: (message id, payload), in stream order.
fn read_closed_stream(url: &str) -> Vec<(String, Vec<u8>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream(closed_stream("klagg")).await.unwrap();
        let state = stream.info().await.unwrap().state.clone();
        let mut out = Vec::new();
        for seq in state.first_sequence..=state.last_sequence {
            let message = stream.get_raw_message(seq).await.unwrap();
            let id = message
                .headers
                .get("Nats-Msg-Id")
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default();
            out.push((id, message.payload.to_vec()));
        }
        out
    })
}

/// Checks the closed stream against the trades: no message id twice, one message per kline
/// (no gap was made, so nothing needed a correction), every period from each symbol's first
/// trade to 2 s before its last present, and each kline equal to the oracle's. Returns how
/// many klines were checked and how many messages the stream holds.
fn check_closed_stream(url: &str, specs: &[SymbolSpec], trades: &[SimTrade]) -> (usize, usize) {
    let last_trade = trades.iter().map(|t| t.time_ms).max().unwrap();
    let cutoff = last_trade - 2_000;
    let intervals: Vec<Interval> = INTERVALS
        .iter()
        .map(|i| Interval::parse(i).unwrap())
        .collect();
    let messages = read_closed_stream(url);
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (id, _) in &messages {
        *ids.entry(id.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "message ids stored twice: {twice:?}");
    // Each kline's versions in stream order: the last one is what a reader keeps.
    let mut versions: BTreeMap<(u32, u16, i64), Vec<(String, klagg::kline::Kline)>> =
        BTreeMap::new();
    for (id, payload) in &messages {
        let event = parse_kline_event(payload).unwrap();
        let symbol = specs.iter().position(|s| s.name == event.symbol).unwrap() as u32;
        let interval = intervals.iter().position(|i| *i == event.interval).unwrap() as u16;
        versions
            .entry((symbol, interval, event.kline.open_time))
            .or_default()
            .push((id.clone(), event.kline));
    }
    let mut latest = Vec::new();
    for ((symbol, interval, _), list) in &versions {
        let (id, kline) = list.last().unwrap();
        if kline.close_time >= cutoff {
            continue;
        }
        // No gap was made, so no kline needed a correction: one message each.
        assert_eq!(list.len(), 1, "several versions of one kline: {list:?}");
        assert!(!id.ends_with(".c"), "{id}");
        latest.push(KlineRecord {
            symbol: *symbol,
            interval: *interval,
            correction: false,
            kline: *kline,
        });
    }
    // Every period from each symbol's first trade to the cutoff, in the fixed intervals.
    for (symbol, spec) in specs.iter().enumerate() {
        let first = trades
            .iter()
            .filter(|t| t.symbol as usize == symbol)
            .map(|t| t.time_ms)
            .min();
        let Some(first) = first else { continue };
        for (index, interval) in intervals.iter().enumerate() {
            let mut open = interval.open_time(first);
            while interval.close_time(open) < cutoff {
                assert!(
                    versions.contains_key(&(symbol as u32, index as u16, open)),
                    "{} {interval} {open} missing from the stream",
                    spec.name
                );
                open = interval.next_open(open);
            }
        }
    }
    assert!(
        latest.len() >= 20,
        "closed klines in the stream: {}",
        latest.len()
    );
    assert!(
        latest
            .iter()
            .any(|r| specs[r.symbol as usize].name == NON_ASCII),
        "the non-ASCII symbol's klines are in the stream"
    );
    let outcome = verify(&intervals, trades, &latest, Completeness::Given).unwrap();
    assert_eq!(outcome.mismatches, 0, "{:?}", outcome.examples);
    (latest.len(), messages.len())
}

#[test]
fn two_hosts_one_killed_and_restarted_store_every_closed_kline_once() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path());
    let (mut sim, mut market, specs, configs) = setup(dir.path(), &nats, &["a", "b"]);
    let seen = Arc::new(Mutex::new(HashMap::new()));
    count_closing_events(nats.url(), Arc::clone(&seen));
    let mut a = start_klagg(&configs[0].0, &configs[0].1, 0);
    let mut b = start_klagg(&configs[1].0, &configs[1].1, 0);
    assert!(
        sim.wait_for_clients(2, Duration::from_secs(30)),
        "both klagg processes connect (logs in {})",
        dir.path().display()
    );
    market.start_ms = now_ms();
    sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    b.kill().unwrap();
    b.wait().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let mut b = start_klagg(&configs[1].0, &configs[1].1, 1);
    std::thread::sleep(Duration::from_secs(6));
    sim.stop_market();
    std::thread::sleep(Duration::from_millis(1_500));
    terminate(&mut a);
    terminate(&mut b);
    let trades = sim.stop().trades;
    let (checked, stored) = check_closed_stream(&nats.url(), &specs, &trades);
    // Both hosts published the closing events the stream holds once.
    let seen = seen.lock().unwrap();
    let twice_on_core = seen.values().filter(|n| **n >= 2).count();
    assert!(
        twice_on_core * 2 >= checked,
        "{twice_on_core} of {checked} klines closed by both hosts on the core subject"
    );
    eprintln!(
        "{stored} messages, {checked} closed klines checked, {twice_on_core} closed by both hosts"
    );
}

/// A simulator of three symbols (one non-ASCII) and `hosts` configs publishing to `nats`.
fn setup(
    dir: &Path,
    nats: &NatsServer,
    hosts: &[&str],
) -> (
    Simulation,
    SyntheticConfig,
    Vec<SymbolSpec>,
    Vec<(PathBuf, PathBuf)>,
) {
    let mut market = SyntheticConfig::new(3, 600, 5, now_ms());
    market.quiet_fraction = 0.0;
    market.names = vec!["BTCUSDT".into(), NON_ASCII.into()];
    let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
    let sim = Simulation::serve(ServerConfig::default(), specs.clone()).unwrap();
    let configs = hosts
        .iter()
        .map(|host| {
            let host_dir = dir.join(host);
            std::fs::create_dir_all(&host_dir).unwrap();
            let files = write_run_config(&host_dir, sim.addr(), "");
            let mut text = std::fs::read_to_string(&files.config).unwrap();
            text.push_str(&format!("[nats]\nservers = [\"{}\"]\n", nats.url()));
            std::fs::write(&files.config, text).unwrap();
            (files.config, host_dir)
        })
        .collect();
    (sim, market, specs, configs)
}

#[test]
fn closed_klines_made_while_the_server_is_down_are_published_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::start(dir.path());
    let (mut sim, mut market, specs, configs) = setup(dir.path(), &nats, &["a"]);
    let mut a = start_klagg(&configs[0].0, &configs[0].1, 0);
    assert!(
        sim.wait_for_clients(1, Duration::from_secs(30)),
        "klagg connects"
    );
    market.start_ms = now_ms();
    sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let port = nats.addr.port();
    nats.stop();
    std::thread::sleep(Duration::from_secs(3));
    let nats = NatsServer::start_on(dir.path(), port);
    std::thread::sleep(Duration::from_secs(4));
    sim.stop_market();
    std::thread::sleep(Duration::from_millis(1_500));
    terminate(&mut a);
    let trades = sim.stop().trades;
    let (checked, stored) = check_closed_stream(&nats.url(), &specs, &trades);
    eprintln!("{stored} messages, {checked} closed klines checked across a 3 s outage");
}
