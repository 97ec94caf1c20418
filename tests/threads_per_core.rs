//! One thread per core: the engine's stages that share a core (two connections, a shard, the
//! gateway) run in one pinned thread, exactly, under faults, and a spinning core never sleeps.
//! Each test checks every kline a consumer holds at the end, open ones included, against the
//! independent oracle of every trade the simulator published.

use std::collections::BTreeMap;
use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use klagg::aggregator::{GapFillConfig, KlineRecord, ShardConfig, ShardStats};
use klagg::backfill::{self, BackfillConfig};
use klagg::config::Market;
use klagg::gateway::{Catalog, Gateway, GatewayConfig, SPINNING_SOCKET_POLL};
use klagg::idle::IdleStrategy;
use klagg::ingress::connection::ConnectionOptions;
use klagg::interval::Interval;
use klagg::oracle::{Completeness, verify};
use klagg::pipeline::{EngineBuilder, EngineSpec, Stage, now_ms};
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::ServerConfig;
use klagg::sim::simulation::Simulation;
use klagg::sim::{Faults, MarketSource};

const INTERVALS: &str = "1s,1m,5m,1h";

/// Engines in one test binary share the machine's cores: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The highest core this machine has: every stage of a test engine is pinned there.
fn core() -> usize {
    core_affinity::get_core_ids()
        .and_then(|ids| ids.iter().map(|c| c.id).max())
        .unwrap_or(0)
}

/// Names the engine gives the threads that run its stages.
const ENGINE_THREADS: [&str; 5] = [
    "klagg-core",
    "klagg-io",
    "klagg-shard",
    "klagg-stage",
    "klagg-gateway",
];

/// The engine's stage threads, by name, with their voluntary context switches so far.
fn engine_threads() -> Vec<(String, u64)> {
    let mut threads = Vec::new();
    for entry in fs::read_dir("/proc/self/task").unwrap().flatten() {
        let name = fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        let status = fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        let switches = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let name = name.trim().to_owned();
        if ENGINE_THREADS.iter().any(|prefix| name.starts_with(prefix)) {
            threads.push((name, switches));
        }
    }
    threads.sort();
    threads
}

/// What a run gives to check.
struct Outcome {
    held: Vec<KlineRecord>,
    trades: Vec<klagg::sim::SimTrade>,
    shards: ShardStats,
    threads: Vec<(String, u64)>,
    /// The core thread's voluntary context switches while the market traded.
    switches_while_trading: u64,
    /// Reconnects and rotations of all connections.
    reconnects: u64,
    rotations: u64,
}

/// Runs 8 symbols at `rate` trades/s for `trading` with two connections and one shard all on
/// one core, idling as `idle`, the simulator injecting `faults`; a backfill fills gaps.
fn run(
    idle: IdleStrategy,
    faults: Faults,
    options: ConnectionOptions,
    rate: u32,
    trading: Duration,
) -> Outcome {
    let mut market = SyntheticConfig::new(8, rate, 11, now_ms());
    market.quiet_fraction = 0.0;
    let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
    let server = ServerConfig {
        faults,
        ..ServerConfig::default()
    };
    let mut sim = Simulation::serve(server, specs.clone()).expect("simulator");
    let core = Some(core());
    let mut connections = klagg::demo::sim_connections(&sim, 4);
    for connection in &mut connections {
        connection.core = core;
    }
    let mut shard = ShardConfig::new(Interval::parse_list(INTERVALS).unwrap(), specs.len() as u32);
    shard.gap_fill = GapFillConfig::LIVE;
    let spec = EngineSpec {
        shard,
        max_symbols: specs.len() as u32,
        shard_cores: vec![core],
        connections,
        idle,
        ring_capacity: 4096,
        connection: options,
        consumers: 1,
        probe: None,
        restore: Vec::new(),
    };
    let mut builder = EngineBuilder::new(spec).expect("engine");
    let mut consumer = builder.take_consumers().remove(0);
    let mut engine = builder.start().expect("threads");
    let stop = Arc::new(AtomicBool::new(false));
    let mut config = BackfillConfig::new(&format!("http://{}", sim.addr()), Market::Usdm);
    config.weight_per_minute = 600_000;
    config.intervals = Interval::parse_list(INTERVALS).unwrap();
    let names = specs.iter().map(|s| s.name.clone()).collect();
    let backfill = backfill::spawn(
        config,
        engine.take_fill_links().expect("fill links"),
        Arc::new(RwLock::new(names)),
        Arc::clone(&stop),
    )
    .expect("backfill");
    assert!(
        sim.wait_for_clients(2, Duration::from_secs(10)),
        "the engine connects"
    );
    market.start_ms = now_ms();
    sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
        .unwrap();
    let switches = |threads: &[(String, u64)]| {
        threads
            .iter()
            .filter(|(name, _)| name.starts_with("klagg-core"))
            .map(|(_, s)| *s)
            .sum::<u64>()
    };
    let before = switches(&engine_threads());
    let mut held: BTreeMap<(u32, u16, i64), KlineRecord> = BTreeMap::new();
    let mut pull = |held: &mut BTreeMap<_, _>| {
        if let Ok(delta) = consumer.pull(Duration::from_millis(200)) {
            for r in delta.open.iter().chain(&delta.closed) {
                held.insert((r.symbol, r.interval, r.kline.open_time), *r);
            }
        }
    };
    let end = Instant::now() + trading;
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
        pull(&mut held);
    }
    let threads = engine_threads();
    let switches_while_trading = switches(&threads) - before;
    let published = sim.stop_market().published;
    // Everything published is applied, lost trades included once the backfill has them.
    let deadline = Instant::now() + Duration::from_secs(8);
    while Instant::now() < deadline {
        let applied: ShardStats = engine.shard_stats().iter().sum();
        if applied.trades >= published && applied.gaps_pending == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1_700));
    pull(&mut held);
    stop.store(true, Ordering::Relaxed);
    backfill.join(Duration::from_secs(2));
    let io = engine.io_stats();
    let reconnects = io.iter().map(|s| s.reconnects()).sum();
    let rotations = io.iter().map(|s| s.rotations.load(Ordering::Relaxed)).sum();
    let report = engine.stop();
    Outcome {
        held: held.into_values().collect(),
        trades: sim.stop().trades,
        shards: report.shards.iter().sum(),
        threads,
        switches_while_trading,
        reconnects,
        rotations,
    }
}

impl Outcome {
    fn assert_exact(&self) {
        let intervals = Interval::parse_list(INTERVALS).unwrap();
        let found = verify(&intervals, &self.trades, &self.held, Completeness::Every).unwrap();
        assert!(found.is_exact(), "{found:?}");
        assert!(found.verified > 20, "{found:?}");
        assert_eq!(
            self.shards.trades,
            self.trades.len() as u64,
            "{:?}",
            self.shards
        );
    }

    /// One engine thread, on the test's core, and no thread per stage.
    fn assert_one_thread(&self) {
        let names: Vec<&str> = self.threads.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, [format!("klagg-core{}", core())], "{names:?}");
    }
}

#[test]
fn two_connections_and_a_shard_on_one_core_run_in_one_thread_and_stay_exact() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = run(
        IdleStrategy::Park(Duration::from_millis(1)),
        Faults::default(),
        ConnectionOptions::default(),
        2_000,
        Duration::from_secs(3),
    );
    out.assert_one_thread();
    out.assert_exact();
    // It sleeps when idle: between the trades (2,000/s) it waits in its poll.
    assert!(out.switches_while_trading > 0);
}

#[test]
fn a_spinning_core_never_sleeps_and_stays_exact() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Spinning is opt-in: a short run, on one core.
    let trading = Duration::from_secs(2);
    let rate = 5_000;
    let out = run(
        IdleStrategy::Spin,
        Faults::default(),
        ConnectionOptions::default(),
        rate,
        trading,
    );
    out.assert_one_thread();
    out.assert_exact();
    let messages = u64::from(rate) * trading.as_secs();
    assert!(
        out.switches_while_trading * 100 < messages,
        "{} voluntary context switches for {messages} trades",
        out.switches_while_trading
    );
}

#[test]
fn shared_core_connections_reconnect_rotate_and_lose_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let faults = Faults {
        drop_every: Some(Duration::from_millis(1_000)),
        spread: true,
        ..Faults::default()
    };
    let options = ConnectionOptions {
        rotate_after: Duration::from_millis(800),
        ..ConnectionOptions::default()
    };
    let out = run(
        IdleStrategy::Park(Duration::from_millis(1)),
        faults,
        options,
        2_000,
        Duration::from_secs(4),
    );
    out.assert_one_thread();
    out.assert_exact();
    assert!(
        out.reconnects >= 2 && out.rotations >= 1,
        "{} reconnects, {} rotations",
        out.reconnects,
        out.rotations
    );
}

#[test]
fn the_gateway_shares_the_core_of_the_connections_and_the_shard() {
    gateway_on_the_shared_core(IdleStrategy::Park(Duration::from_millis(1)), Duration::ZERO);
}

#[test]
fn a_spinning_gateway_polls_its_sockets_less_often_and_still_serves_its_clients() {
    gateway_on_the_shared_core(IdleStrategy::Spin, SPINNING_SOCKET_POLL);
}

/// Connections, a shard and the gateway (polling its clients' sockets every
/// `socket_poll_every`) on one core idling as `idle`: a WebSocket client of the gateway gets
/// kline events, and the core has one thread.
fn gateway_on_the_shared_core(idle: IdleStrategy, socket_poll_every: Duration) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let market = SyntheticConfig::new(2, 500, 3, now_ms());
    let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
    let mut sim = Simulation::serve(ServerConfig::default(), specs.clone()).expect("simulator");
    let id = core();
    let core = Some(id);
    let mut connections = klagg::demo::sim_connections(&sim, 16);
    connections[0].core = core;
    let intervals = Interval::parse_list("1s,1m").unwrap();
    let spec = EngineSpec {
        shard: ShardConfig::new(intervals.clone(), specs.len() as u32),
        max_symbols: specs.len() as u32,
        shard_cores: vec![core],
        connections,
        idle,
        ring_capacity: 4096,
        connection: ConnectionOptions::default(),
        consumers: 1,
        probe: None,
        restore: Vec::new(),
    };
    let mut builder = EngineBuilder::new(spec).expect("engine");
    let consumer = builder.take_consumers().remove(0);
    let stop = Arc::new(AtomicBool::new(false));
    let mut handle = None;
    let catalog = Catalog {
        symbols: specs
            .iter()
            .map(|s| {
                let decimals = klagg::egress::Decimals::new(s.price_decimals, s.quantity_decimals);
                (s.name.clone(), decimals)
            })
            .collect(),
        intervals,
        live: None,
    };
    let config = GatewayConfig {
        push_interval: Duration::ZERO,
        socket_poll_every,
        ..GatewayConfig::default()
    };
    let gateway_stop = Arc::clone(&stop);
    builder
        .add_stage(core, |wake| {
            let (stage, gateway) = Gateway::stage(config, consumer, catalog, gateway_stop, wake)?;
            handle = Some(gateway);
            Ok(Box::new(stage) as Box<dyn Stage>)
        })
        .unwrap();
    let gateway = handle.unwrap();
    let engine = builder.start().expect("threads");
    assert!(sim.wait_for_clients(1, Duration::from_secs(10)));
    sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
        .unwrap();
    // A WebSocket client of the gateway gets kline events as trades come.
    let url = format!(
        "ws://{}/market/ws/{}@kline_1s",
        gateway.addr(),
        specs[0].name.to_ascii_lowercase()
    );
    let (mut socket, _) = tungstenite::connect(url.as_str()).expect("gateway websocket");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut events = 0;
    while events < 5 && Instant::now() < deadline {
        if let Ok(tungstenite::Message::Text(text)) = socket.read() {
            assert!(text.as_str().contains("\"e\":\"kline\""), "{text}");
            events += 1;
        }
    }
    assert_eq!(events, 5, "kline events from the shared core");
    let names: Vec<String> = engine_threads().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, [format!("klagg-core{id}")], "{names:?}");
    let _ = socket.close(None);
    let mut engine = engine;
    engine.stop_ingress(Duration::from_secs(1));
    stop.store(true, Ordering::Release);
    gateway.join().unwrap();
    engine.stop();
    sim.stop();
}
