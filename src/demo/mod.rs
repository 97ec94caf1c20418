//! `klagg demo`: the simulator and the real engine in one process, with a live view and a
//! self-check at the end. No network and no config needed.

mod view;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::aggregator::{KlineRecord, ShardConfig, ShardStats};
use crate::idle::IdleStrategy;
use crate::ingress::connection::ConnectionOptions;
use crate::interval::Interval;
use crate::latency::{Latencies, Sampling, Span};
use crate::oracle::{Completeness, Verification, verify};
use crate::pipeline::{ConnectionSpec, Engine, EngineError, EngineSpec, ProbeCollector, now_ms};
use crate::sim::MarketSource;
use crate::sim::market::{SyntheticConfig, SyntheticMarket};
use crate::sim::server::ServerConfig;
use crate::sim::simulation::Simulation;

pub use view::{Row, StatusLine};

/// What to demonstrate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// How long to run; `None` runs until Ctrl-C.
    pub duration: Option<Duration>,
    /// Symbols the simulated market trades.
    pub symbols: usize,
    /// Target trades per second over all symbols.
    pub rate: u32,
    /// Draw the table (a terminal) or print plain lines.
    pub terminal: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            duration: None,
            symbols: 50,
            rate: 20_000,
            terminal: std::io::stdout().is_terminal(),
        }
    }
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    /// Trades the simulator published.
    pub published: u64,
    /// Trades the engine applied.
    pub applied: u64,
    /// Shard counters summed.
    pub shards: ShardStats,
    /// Closed klines received.
    pub klines_closed: u64,
    /// Socket-to-kline latency over the whole run, µs: p50, p99, p99.9.
    pub latency_us: Option<(f64, f64, f64)>,
    /// The self-check.
    pub verification: Verification,
}

impl std::fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "published {} trades, engine applied {}",
            self.published, self.applied
        )?;
        writeln!(
            f,
            "klines closed {} (empty {}), duplicates {}, gaps {}, late dropped {}",
            self.klines_closed,
            self.shards.empty_klines,
            self.shards.duplicates,
            self.shards.gaps,
            self.shards.late_dropped
        )?;
        if let Some((p50, p99, p999)) = self.latency_us {
            writeln!(
                f,
                "socket-to-kline latency: p50 {p50:.1} µs, p99 {p99:.1} µs, p99.9 {p999:.1} µs"
            )?;
        }
        for example in &self.verification.examples {
            writeln!(f, "mismatch: {example}")?;
        }
        write!(
            f,
            "verified {} klines, {} mismatches, {} missing, {} lost trades",
            self.verification.verified,
            self.verification.mismatches,
            self.verification.missing,
            self.verification.lost_trades
        )
    }
}

/// Why the demo could not run.
#[derive(Debug)]
pub enum DemoError {
    /// The simulator did not start.
    Simulator(std::io::Error),
    /// The engine did not start.
    Engine(crate::pipeline::EngineError),
}

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DemoError::Simulator(e) => write!(f, "cannot start the simulator: {e}"),
            DemoError::Engine(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DemoError {}

/// Symbols per engine connection (Binance's default plan, well under its 1024 limit).
const SYMBOLS_PER_CONNECTION: usize = 200;

/// How often the view is refreshed and the consumer pulls.
const REFRESH: Duration = Duration::from_millis(250);

/// Runs the demo until the duration passes or `stop` is set.
pub fn run(options: &DemoOptions, stop: &AtomicBool) -> Result<DemoSummary, DemoError> {
    let mut market = SyntheticConfig {
        symbols: options.symbols.max(1),
        msgs_per_s: options.rate.max(1),
        start_ms: now_ms(),
        ..SyntheticConfig::default()
    };
    let server = ServerConfig {
        history_per_symbol: 100_000,
        ..ServerConfig::default()
    };
    let mut sim = Simulation::serve(
        server,
        SyntheticMarket::new(market.clone()).symbols().to_vec(),
    )
    .map_err(DemoError::Simulator)?;
    let symbols = sim.symbols().to_vec();
    let intervals = Interval::standard().to_vec();
    let (mut engine, mut consumers) =
        Engine::start(engine_spec(&sim, &intervals)).map_err(DemoError::Engine)?;
    let mut consumer = consumers.pop().expect("one consumer was asked for");
    let collector = engine
        .take_probe()
        .map(|probe| ProbeCollector::spawn(probe, 0))
        .transpose()
        .map_err(|e| DemoError::Engine(EngineError::Spawn(e)))?;
    // Trades start once every connection has subscribed, so the engine sees the market whole.
    let connections = symbols.len().div_ceil(SYMBOLS_PER_CONNECTION) as u64;
    sim.wait_for_clients(connections, Duration::from_secs(10));
    market.start_ms = now_ms();
    sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
        .map_err(DemoError::Simulator)?;
    let title = format!(
        "klagg demo: {} symbols, {} trades/s target, simulator ws://{} (Ctrl-C stops)",
        symbols.len(),
        options.rate,
        sim.addr()
    );
    if options.terminal {
        print!("\x1b[2J");
    }
    let (minute, hour) = (1u16, 6u16);
    let mut rows = vec![Row::default(); symbols.len()];
    let mut closed: Vec<KlineRecord> = Vec::new();
    // The latest state of each symbol's and interval's open kline, for the final check.
    let mut open: HashMap<(u32, u16), KlineRecord> = HashMap::new();
    let mut all_latencies = Latencies::new(&[]);
    let started = Instant::now();
    let mut last_frames = 0u64;
    let mut last_refresh = Instant::now();
    let mut last_plain = Instant::now();
    while !stop.load(Ordering::Acquire) && options.duration.is_none_or(|d| started.elapsed() < d) {
        std::thread::sleep(REFRESH.saturating_sub(last_refresh.elapsed()));
        let seconds = last_refresh.elapsed().as_secs_f64();
        last_refresh = Instant::now();
        if let Ok(delta) = consumer.pull(Duration::from_millis(100)) {
            closed.extend_from_slice(&delta.closed);
            for r in &delta.open {
                open.insert((r.symbol, r.interval), *r);
                let Some(row) = rows.get_mut(r.symbol as usize) else {
                    continue;
                };
                if r.interval == minute {
                    row.minute = Some(r.kline);
                } else if r.interval == hour {
                    row.hour = Some(r.kline);
                }
            }
        }
        let mut status = status_line(&engine, started, closed.len() as u64);
        let frames: u64 = engine
            .io_stats()
            .iter()
            .map(|s| s.frames.load(Ordering::Relaxed))
            .sum();
        status.msgs_per_s = frames.saturating_sub(last_frames) as f64 / seconds.max(1e-3);
        last_frames = frames;
        if let Some(collector) = &collector {
            let window = take_window(&collector.latencies());
            let socket_to_kline = window.summary(Span::FrameToKline);
            if socket_to_kline.count > 0 {
                status.p50_us = Some(us(socket_to_kline.p50));
                status.p99_us = Some(us(socket_to_kline.p99));
            }
            all_latencies.merge(&window);
        }
        if options.terminal {
            print!("{}", view::screen(&title, &symbols, &rows, &status));
        } else if last_plain.elapsed() >= Duration::from_secs(1) {
            last_plain = Instant::now();
            println!("{status}");
        }
    }
    // Stop the market, let the engine take in what was sent, then stop both.
    let published = sim.stop_market().published;
    let deadline = Instant::now() + Duration::from_secs(3);
    while applied(&engine) < published && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Ok(delta) = consumer.pull(Duration::from_millis(500)) {
        closed.extend_from_slice(&delta.closed);
        for r in &delta.open {
            open.insert((r.symbol, r.interval), *r);
        }
    }
    let engine_report = engine.stop();
    if let Some(collector) = collector {
        let latencies = collector.latencies();
        collector.stop();
        all_latencies.merge(&take_window(&latencies));
    }
    let report = sim.stop();
    let shards = engine_report.shards.iter().sum::<ShardStats>();
    // Every kline of every symbol, open ones included, against the oracle built from every
    // trade the simulator published: a trade the engine never applied shows as lost.
    let verification = verify(
        &intervals,
        &report.trades,
        open.values().chain(&closed),
        Completeness::Every,
    )
    .unwrap_or_else(|e| Verification {
        mismatches: 1,
        examples: vec![e],
        ..Verification::default()
    });
    let socket_to_kline = all_latencies.summary(Span::FrameToKline);
    let latency_us = (socket_to_kline.count > 0).then(|| {
        (
            us(socket_to_kline.p50),
            us(socket_to_kline.p99),
            us(socket_to_kline.p999),
        )
    });
    Ok(DemoSummary {
        published,
        applied: shards.trades,
        shards,
        klines_closed: closed.len() as u64,
        latency_us,
        verification,
    })
}

/// The demo engine: one connection per 200 symbols to the simulator, one shard, latency probe
/// on. Idle threads park 20 µs: far from spinning on a 2-core machine (about 13% of one core at
/// 20,000 trades/s), yet short enough that the latency shown is the engine's, not the sleep's.
fn engine_spec(sim: &Simulation, intervals: &[Interval]) -> EngineSpec {
    let symbols = sim.symbols();
    let connections = sim_connections(sim, SYMBOLS_PER_CONNECTION);
    EngineSpec {
        shard: ShardConfig::new(intervals.to_vec(), symbols.len() as u32),
        max_symbols: symbols.len() as u32,
        shard_cores: vec![None],
        connections,
        idle: IdleStrategy::Park(Duration::from_micros(20)),
        ring_capacity: 1 << 16,
        connection: ConnectionOptions::default(),
        consumers: 1,
        probe: Some(Sampling::EVERY_TRADE),
        restore: Vec::new(),
    }
}

/// Connections carrying every symbol of the simulator, `per_connection` to a connection, global
/// index = the simulator's symbol index.
pub fn sim_connections(sim: &Simulation, per_connection: usize) -> Vec<ConnectionSpec> {
    let url = sim.stream_url();
    sim.symbols()
        .chunks(per_connection)
        .enumerate()
        .map(|(chunk, specs)| ConnectionSpec {
            core: None,
            url: url.clone(),
            symbols: specs
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name.clone(), (chunk * per_connection + i) as u32))
                .collect(),
            extra_streams: Vec::new(),
        })
        .collect()
}

fn status_line(engine: &Engine, started: Instant, klines_closed: u64) -> StatusLine {
    let shards = engine.shard_stats().iter().sum::<ShardStats>();
    let reconnects = engine.io_stats().iter().map(|s| s.reconnects()).sum();
    let dropped: u64 = engine
        .io_stats()
        .iter()
        .map(|s| s.dropped_abandoned.load(Ordering::Relaxed))
        .sum();
    StatusLine {
        elapsed_s: started.elapsed().as_secs_f64(),
        trades: shards.trades,
        klines_closed,
        drops: shards.late_dropped + shards.invalid + shards.closed_missed + dropped,
        reconnects,
        ..StatusLine::default()
    }
}

fn applied(engine: &Engine) -> u64 {
    engine.shard_stats().iter().sum::<ShardStats>().trades
}

/// The latencies recorded since the last window.
fn take_window(latencies: &std::sync::Mutex<Latencies>) -> Latencies {
    latencies
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take_window()
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1_000.0
}
