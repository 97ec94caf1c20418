//! Measures the NATS publisher against a real nats-server on loopback (docs/nats.md):
//!
//! * the publish rate: kline events and closed klines published per second;
//! * the latency it adds: from the moment the engine hands a changed kline to a consumer (a
//!   reference consumer with held pulls on its own thread) to the moment a NATS subscriber in
//!   this process receives the same kline state, p50/p99;
//! * the engine's own socket-to-kline latency (its probe) in alternating phases with the
//!   publisher off and on, in the same run.
//!
//! `cargo run --release --example nats_latency -- NATS_SERVER_BINARY [PHASES] [SECONDS]`
//! (scripts/nats_latency.sh provisions the pinned nats-server and runs it).
//!
//! `NATS_LATENCY_SUBSCRIBER=off` leaves the NATS subscriber out (no added latency is measured
//! then): it parses every event beside the simulator, and on a 2-core host that load moves the
//! simulator's timing, which the engine's on/off comparison would otherwise count.
//!
//! With `ENGINE_CORE=N` the engine's io and shard stages run in one thread pinned to core N
//! (spinning when `ENGINE_IDLE=spin`, the default then; else parked), as a deployment gives
//! the engine its own cores; start the process on the other cores (`taskset`) so the
//! simulator, nats-server, the publisher and the subscriber stay off the engine's core.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use klagg::aggregator::ShardConfig;
use klagg::aggregator::routing::global_index;
use klagg::config::{Market, NatsSettings};
use klagg::egress::Decimals;
use klagg::idle::IdleStrategy;
use klagg::ingress::connection::ConnectionOptions;
use klagg::interval::Interval;
use klagg::latency::{Sampling, Span, monotonic_ns};
use klagg::nats::event::parse_kline_event;
use klagg::nats::{PublisherConfig, spawn_publisher};
use klagg::pipeline::{Engine, EngineConsumer, EngineSpec, ProbeCollector, now_ms};
use klagg::sim::MarketSource;
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::ServerConfig;
use klagg::sim::simulation::Simulation;

const SYMBOLS: usize = 100;
const RATE: u32 = 20_000;

/// A kline state: symbol name, interval, open time, trade count.
type Key = (String, String, i64, i64);

fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * q) as usize]
}

/// The reference consumer: held pulls, woken by unpark; stamps every kline state it gets.
fn reference(
    consumer: EngineConsumer,
    names: Vec<String>,
    intervals: Vec<Interval>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<HashMap<Key, u64>> {
    std::thread::spawn(move || {
        let me = std::thread::current();
        let wake = klagg::aggregator::Wake(Arc::new(move || me.unpark()));
        let (mut shards, _) = consumer.into_parts();
        let n = shards.len();
        for s in &mut shards {
            s.hold_until_changed(wake.clone());
        }
        let mut asked = vec![false; n];
        let mut seen = HashMap::new();
        while !stop.load(Ordering::Acquire) {
            for (i, s) in shards.iter_mut().enumerate() {
                if !asked[i] && s.request().is_ok() {
                    asked[i] = true;
                }
            }
            std::thread::park_timeout(Duration::from_millis(10));
            let now = monotonic_ns();
            for (i, s) in shards.iter_mut().enumerate() {
                if let Some(delta) = s.take_late() {
                    asked[i] = false;
                    for r in delta.open.iter().chain(&delta.closed) {
                        let name = names[global_index(i, r.symbol, n) as usize].clone();
                        let key = (
                            name,
                            intervals[usize::from(r.interval)].to_string(),
                            r.kline.open_time,
                            r.kline.count,
                        );
                        seen.entry(key).or_insert(now);
                    }
                    s.recycle(delta);
                }
            }
        }
        seen
    })
}

/// The NATS subscriber: stamps every kline state it receives.
fn subscriber(
    url: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(HashMap<Key, u64>, u64)> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let client = async_nats::connect(url).await.unwrap();
            let mut sub = client.subscribe("klagg.kline.>").await.unwrap();
            let mut seen = HashMap::new();
            let mut count = 0;
            while !stop.load(Ordering::Acquire) {
                let Ok(Some(message)) =
                    tokio::time::timeout(Duration::from_millis(100), sub.next()).await
                else {
                    continue;
                };
                let now = monotonic_ns();
                count += 1;
                if let Ok(e) = parse_kline_event(&message.payload) {
                    seen.entry((
                        e.symbol,
                        e.interval.to_string(),
                        e.kline.open_time,
                        e.kline.count,
                    ))
                    .or_insert(now);
                }
            }
            (seen, count)
        })
    })
}

/// Where the engine runs: its core, if pinned, and how it idles.
#[derive(Clone, Copy)]
struct Placement {
    core: Option<usize>,
    idle: IdleStrategy,
}

impl Placement {
    /// From `ENGINE_CORE` and `ENGINE_IDLE` (`spin` or `park`).
    fn from_env() -> Placement {
        let core = std::env::var("ENGINE_CORE").ok().map(|c| {
            c.parse()
                .unwrap_or_else(|_| panic!("ENGINE_CORE: expected a core number, got '{c}'"))
        });
        let park = IdleStrategy::Park(Duration::from_micros(20));
        let idle = match std::env::var("ENGINE_IDLE").as_deref() {
            Ok("spin") => IdleStrategy::Spin,
            Ok("park") => park,
            Ok(other) => panic!("ENGINE_IDLE: expected spin or park, got '{other}'"),
            Err(_) if core.is_some() => IdleStrategy::Spin,
            Err(_) => park,
        };
        Placement { core, idle }
    }
}

fn phase(url: &str, publish: bool, seconds: u64, placement: Placement) {
    let mut market = SyntheticConfig::new(SYMBOLS, RATE, 13, now_ms());
    market.quiet_fraction = 0.0;
    let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
    let mut sim = Simulation::serve(ServerConfig::default(), specs.clone()).unwrap();
    let intervals = Interval::parse_list("1s,1m,1h").unwrap();
    let spec = EngineSpec {
        shard: ShardConfig::new(intervals.clone(), specs.len() as u32),
        max_symbols: specs.len() as u32,
        shard_cores: vec![placement.core],
        connections: klagg::demo::sim_connections(&sim, 1_024)
            .into_iter()
            .map(|c| klagg::pipeline::ConnectionSpec {
                core: placement.core,
                ..c
            })
            .collect(),
        idle: placement.idle,
        ring_capacity: 1 << 16,
        connection: ConnectionOptions::default(),
        consumers: if publish { 2 } else { 1 },
        probe: Some(Sampling::EVERY_TRADE),
        restore: Vec::new(),
    };
    let (mut engine, mut consumers) = Engine::start(spec).unwrap();
    let collector = ProbeCollector::spawn(engine.take_probe().unwrap(), 0).unwrap();
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let reference = reference(
        consumers.pop().unwrap(),
        names.clone(),
        intervals.clone(),
        Arc::clone(&stop),
    );
    let publisher = publish.then(|| {
        let config = PublisherConfig {
            settings: NatsSettings {
                servers: vec![url.to_owned()],
                subject_prefix: "klagg".to_owned(),
                open: true,
                // NATS_LATENCY_OPEN_ONLY=1 measures without the closed stream's acknowledgements.
                closed: std::env::var("NATS_LATENCY_OPEN_ONLY").as_deref() != Ok("1"),
                latest: true,
                duplicate_window: Duration::from_secs(120),
                max_pending: 200_000,
            },
            market: Market::Usdm,
            intervals: intervals.clone(),
            names: Arc::new(RwLock::new(names.clone())),
            decimals: Arc::new(|_: &str| Decimals::new(2, 3)),
        };
        spawn_publisher(consumers.pop().unwrap(), config, Arc::clone(&stop)).unwrap()
    });
    let subscribe = std::env::var("NATS_LATENCY_SUBSCRIBER").as_deref() != Ok("off");
    let subscriber = (publish && subscribe).then(|| subscriber(url.to_owned(), Arc::clone(&stop)));
    sim.wait_for_clients(1, Duration::from_secs(10));
    // Let the publisher connect and make its streams before trades flow.
    std::thread::sleep(Duration::from_millis(500));
    market.start_ms = now_ms();
    sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    collector.latencies().lock().unwrap().reset();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let elapsed = started.elapsed().as_secs_f64();
    let engine_latency = collector
        .latencies()
        .lock()
        .unwrap()
        .summary(Span::FrameToKline);
    stop.store(true, Ordering::Release);
    let seen = reference.join().unwrap();
    let mut line = format!(
        "publisher {:3}: engine socket-to-kline p50 {:.1} µs p99 {:.1} µs",
        if publish { "on" } else { "off" },
        engine_latency.p50 as f64 / 1e3,
        engine_latency.p99 as f64 / 1e3
    );
    if let Some(publisher) = publisher {
        let stats = Arc::clone(&publisher.stats);
        publisher.join();
        let open = stats.open_published.load(Ordering::Relaxed);
        let closed = stats.closed_acked.load(Ordering::Relaxed);
        line.push_str(&format!(
            "; published {:.0} events/s + {:.0} closed/s",
            open as f64 / elapsed,
            closed as f64 / elapsed,
        ));
    }
    if let Some(subscriber) = subscriber {
        let (received, count) = subscriber.join().unwrap();
        let mut added: Vec<u64> = received
            .iter()
            .filter_map(|(key, at)| seen.get(key).map(|from| at.saturating_sub(*from)))
            .collect();
        added.sort_unstable();
        line.push_str(&format!(
            " (received {count}); added latency consumer -> NATS subscriber p50 {:.1} µs p99 \
             {:.1} µs over {} matched",
            percentile(&added, 0.5) as f64 / 1e3,
            percentile(&added, 0.99) as f64 / 1e3,
            added.len()
        ));
    }
    println!("{line}");
    engine.stop();
    let _ = sim.stop();
}

fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .expect("usage: nats_latency NATS_SERVER_BINARY [PHASES] [SECONDS]");
    let phases: usize = args.next().map_or(4, |a| a.parse().unwrap());
    let seconds: u64 = args.next().map_or(8, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server");
    std::thread::sleep(Duration::from_millis(500));
    let url = format!("nats://127.0.0.1:{port}");
    let placement = Placement::from_env();
    println!(
        "{SYMBOLS} symbols, {RATE} trades/s, intervals 1s,1m,1h, {seconds} s a phase; engine {}, {:?}",
        placement
            .core
            .map_or("unpinned".to_owned(), |c| format!("on core {c}")),
        placement.idle
    );
    // Off, on, on, off, ...: each state comes first as often as second, so a drift over the
    // run (the host warming, the simulator's history growing) does not favour either.
    for i in 0..phases {
        phase(&url, matches!(i % 4, 1 | 2), seconds, placement);
    }
    let _ = server.kill();
    let _ = server.wait();
}
