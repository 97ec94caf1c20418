//! The simulator in process, the real engine, consumers pulling deltas: under every fault the
//! simulator can inject, each closed kline equals the kline rebuilt from the simulator's own
//! record of the trades (less those the engine reports as gaps), and the engine's counters
//! match the faults injected.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use klagg::aggregator::{Gap, GapFillConfig, KlineRecord, ShardConfig, ShardStats};
use klagg::backfill::{self, BackfillConfig, BackfillHandle};
use klagg::config::Market;
use klagg::idle::IdleStrategy;
use klagg::ingress::connection::ConnectionOptions;
use klagg::interval::Interval;
use klagg::oracle::{Completeness, verify};
use klagg::pipeline::{Engine, EngineConsumer, EngineSpec, now_ms};
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::{ServerConfig, SimServerStats};
use klagg::sim::simulation::Simulation;
use klagg::sim::{Faults, MarketSource, SimTrade, SymbolSpec};

const INTERVALS: &str = "1s,1m,5m,1h";

/// A symbol as Binance has listed them since October 2025: every [`Run`]'s market trades it
/// next to BTCUSDT (at index 1), so every scenario checks its klines as well, and the listing
/// of [`list_mid_run`] carries this name.
const NON_ASCII: &str = "币安人生USDT";

/// These tests run one at a time: each is a simulator and an engine with timing rules (a stale
/// timeout, a close grace), and several at once on a 2-core machine would measure the
/// scheduler rather than the engine.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How a run's engine recovers the trades a dropped connection missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recovery {
    /// Not at all: gaps are reported.
    None,
    /// From the simulator's REST `aggTrades`, by the backfill thread.
    Backfill,
    /// From a second connection carrying the same streams.
    Redundant,
    /// The backfill, which also rebuilds every open kline at start from REST klines and
    /// trades; the market has traded for a while when the engine starts.
    WarmStart,
}

/// How long the market of a [`Recovery::WarmStart`] run has traded when the engine starts.
const HISTORY_MS: i64 = 150_000;

/// A running simulator and engine, and the consumers pulling from it.
struct Run {
    sim: Simulation,
    engine: Engine,
    /// Filling the engine's gaps from the simulator's REST `aggTrades`, when started so.
    backfill: Option<(BackfillHandle, Arc<AtomicBool>)>,
    consumers: Vec<EngineConsumer>,
    closed: Vec<Vec<KlineRecord>>,
    /// The latest open klines each consumer was given, by (symbol, interval, open time).
    open: Vec<BTreeMap<(u32, u16, i64), KlineRecord>>,
}

/// What a finished run saw.
struct Outcome {
    trades: Vec<SimTrade>,
    closed: Vec<Vec<KlineRecord>>,
    open: Vec<BTreeMap<(u32, u16, i64), KlineRecord>>,
    gaps: Vec<Gap>,
    shards: ShardStats,
    /// The simulator's counters when the market stopped (later ones include the wind-down).
    sim_while_trading: SimServerStats,
    sim: SimServerStats,
    bad_frames: u64,
    reconnects: u64,
    connection_errors: u64,
}

fn connection_options() -> ConnectionOptions {
    ConnectionOptions {
        read_tick: Duration::from_millis(20),
        ping_interval: Duration::from_millis(150),
        stale_timeout: Duration::from_millis(500),
        backoff_min: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        ..ConnectionOptions::default()
    }
}

impl Run {
    /// Serves `symbols` symbols at `rate` trades/s with `server`, starts an engine with
    /// `consumers` consumers, waits for it to subscribe, then starts the market.
    fn start(
        symbols: usize,
        rate: u32,
        server: ServerConfig,
        options: ConnectionOptions,
        consumers: usize,
    ) -> Run {
        Run::start_with(symbols, rate, server, options, consumers, Recovery::None)
    }

    /// [`Run::start`] with gaps filled as `recovery` says.
    fn start_with(
        symbols: usize,
        rate: u32,
        server: ServerConfig,
        options: ConnectionOptions,
        consumers: usize,
        recovery: Recovery,
    ) -> Run {
        let mut market = SyntheticConfig::new(symbols, rate, 7, now_ms());
        market.quiet_fraction = 0.0;
        market.names = vec!["BTCUSDT".into(), NON_ASCII.into()];
        let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
        let exchange = server.market;
        let mut sim = Simulation::serve(server, specs.clone()).expect("simulator");
        if recovery == Recovery::WarmStart {
            // Trades from before the engine, published at once with nobody connected: only
            // REST knows them.
            market.start_ms = now_ms() - HISTORY_MS;
            sim.start_market(Box::new(SyntheticMarket::new(market.clone())), None, true)
                .unwrap();
            let published = |sim: &Simulation| sim.stats().trades_published;
            let deadline = Instant::now() + Duration::from_secs(10);
            while published(&sim) < u64::from(rate) * (HISTORY_MS as u64 / 1_000)
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            // The simulator's REST klines take in closed periods once a second.
            std::thread::sleep(Duration::from_millis(1_500));
        }
        let mut shard =
            ShardConfig::new(Interval::parse_list(INTERVALS).unwrap(), specs.len() as u32);
        let mut connections = klagg::demo::sim_connections(&sim, 1_024);
        if recovery != Recovery::None {
            shard.gap_fill = GapFillConfig::LIVE;
        }
        if recovery == Recovery::Redundant {
            connections.extend(connections.clone());
        }
        let spec = EngineSpec {
            shard,
            max_symbols: specs.len() as u32,
            shard_cores: vec![None, None],
            connections,
            idle: IdleStrategy::Park(Duration::from_micros(100)),
            ring_capacity: 4096,
            connection: options,
            consumers,
            probe: None,
            restore: Vec::new(),
        };
        let (mut engine, consumers) = Engine::start(spec).expect("engine");
        let backfill = matches!(recovery, Recovery::Backfill | Recovery::WarmStart).then(|| {
            let mut config = BackfillConfig::new(&format!("http://{}", sim.addr()), exchange);
            // The simulator does not meter weight; a test need not wait a minute for pages.
            config.weight_per_minute = 600_000;
            if recovery == Recovery::WarmStart {
                config.intervals = Interval::parse_list(INTERVALS).unwrap();
                config.warm = (0..specs.len() as u32).collect();
            }
            let names = specs.iter().map(|s| s.name.clone()).collect();
            let stop = Arc::new(AtomicBool::new(false));
            let links = engine.take_fill_links().expect("fill links");
            let handle = backfill::spawn(
                config,
                links,
                Arc::new(RwLock::new(names)),
                Arc::clone(&stop),
            )
            .expect("backfill thread");
            (handle, stop)
        });
        let clients = if recovery == Recovery::Redundant {
            2
        } else {
            1
        };
        assert!(
            sim.wait_for_clients(clients, Duration::from_secs(10)),
            "the engine connects"
        );
        if recovery != Recovery::WarmStart {
            market.start_ms = now_ms();
            sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
                .unwrap();
        }
        let closed = vec![Vec::new(); consumers.len()];
        let open = vec![BTreeMap::new(); consumers.len()];
        Run {
            sim,
            engine,
            backfill,
            consumers,
            closed,
            open,
        }
    }

    /// Lets the market run for `duration`, consumer 0 pulling every 50 ms.
    fn run_for(&mut self, duration: Duration) {
        let end = Instant::now() + duration;
        while Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
            self.pull(0);
        }
    }

    /// Lets the market run until the shards have made `count` warm starts, or `limit` passed.
    fn run_until_warm_starts(&mut self, count: u64, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self
            .engine
            .shard_stats()
            .iter()
            .map(|s| s.warm_starts)
            .sum::<u64>()
            < count
            && Instant::now() < deadline
        {
            self.run_for(Duration::from_millis(50));
        }
    }

    fn pull(&mut self, consumer: usize) {
        if let Ok(delta) = self.consumers[consumer].pull(Duration::from_millis(200)) {
            self.closed[consumer].extend_from_slice(&delta.closed);
            for record in &delta.open {
                let key = (record.symbol, record.interval, record.kline.open_time);
                self.open[consumer].insert(key, *record);
            }
            assert_eq!(delta.missed_closed, 0, "consumer {consumer} missed klines");
        }
    }

    /// Stops the market, waits for the engine to take in everything it can still get, pulls
    /// every consumer a last time and stops everything.
    fn finish(mut self) -> Outcome {
        let sim_while_trading = self.sim.stats();
        let published = self.sim.stop_market().published;
        let mut gaps = Vec::new();
        let missing = |gaps: &[Gap]| {
            gaps.iter()
                .map(|g| (g.to_agg_id - g.from_agg_id + 1) as u64)
                .sum::<u64>()
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            gaps.extend(self.engine.take_gaps());
            let applied: ShardStats = self.engine.shard_stats().iter().sum();
            // A gap is accounted for once reported, or, when backfilled, filled or given up.
            let lost = missing(&gaps) + applied.gap_ids_unfilled;
            if applied.trades + lost >= published || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the shards' clock close what the last trades opened, so there is something to check.
        std::thread::sleep(Duration::from_millis(1_700));
        for consumer in 0..self.consumers.len() {
            self.pull(consumer);
        }
        gaps.extend(self.engine.take_gaps());
        let io = std::sync::Arc::clone(&self.engine.io_stats()[0]);
        // Connection counters before the wind-down below, which closes the connection.
        let reconnects = io.reconnects();
        let connection_errors = io.disconnects_error.load(Relaxed);
        // Stop the server first so nothing more is sent, then let the engine read what was.
        let sim = self.sim.stop();
        let deadline = Instant::now() + Duration::from_secs(2);
        while io.bad_frames.load(Relaxed) < sim.server.garbage_sent && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let bad_frames = io.bad_frames.load(Relaxed);
        if let Some((handle, stop)) = self.backfill.take() {
            stop.store(true, Relaxed);
            handle.join(Duration::from_secs(2));
        }
        let report = self.engine.stop();
        Outcome {
            trades: sim.trades,
            closed: self.closed,
            open: self.open,
            gaps,
            shards: report.shards.iter().sum(),
            sim_while_trading,
            sim: sim.server,
            bad_frames,
            reconnects,
            connection_errors,
        }
    }
}

impl Outcome {
    /// Every closed kline of every consumer equals the rebuilt one, over the trades the engine
    /// could see: all published trades less the reported gaps and, per symbol, those after the
    /// last it received (lost with no later trade to show it). Returns how many were checked.
    fn assert_exact(&self) -> u64 {
        let lost: HashSet<(u32, i64)> = self
            .gaps
            .iter()
            .flat_map(|g| (g.from_agg_id..=g.to_agg_id).map(move |a| (g.symbol, a)))
            .collect();
        // Trades after the last one a symbol's klines hold were lost with no later trade to
        // reveal them (a drop or stall just before the market stopped): without a backfill
        // nothing can know of them, so they are not judged here; the backfill's tail checks
        // find them (see the backfill scenarios and tests/tail_gaps.rs).
        let mut received: HashMap<u32, i64> = HashMap::new();
        for record in self
            .closed
            .iter()
            .flatten()
            .chain(self.open.iter().flat_map(|o| o.values()))
        {
            if record.kline.count > 0 {
                let last = received.entry(record.symbol).or_insert(i64::MIN);
                *last = (*last).max(record.kline.last_trade_id);
            }
        }
        let seen: Vec<SimTrade> = self
            .trades
            .iter()
            .filter(|t| !lost.contains(&(t.symbol, t.agg_id)))
            .filter(|t| {
                received
                    .get(&t.symbol)
                    .is_some_and(|&last| t.last_trade_id <= last)
            })
            .copied()
            .collect();
        let intervals = Interval::parse_list(INTERVALS).unwrap();
        let mut checked = 0;
        for (consumer, closed) in self.closed.iter().enumerate() {
            let outcome = verify(&intervals, &seen, closed, Completeness::Given).unwrap();
            assert_eq!(
                outcome.mismatches, 0,
                "consumer {consumer}: {:?}",
                outcome.examples
            );
            assert!(outcome.verified > 0, "consumer {consumer} checked nothing");
            checked = outcome.verified;
        }
        assert_eq!(self.shards.late_dropped, 0, "no late trades expected");
        checked
    }
}

impl Outcome {
    /// With trades recovered: the klines each consumer holds in the end (a correction
    /// replacing what it had for that period), closed and open, equal those rebuilt from
    /// every trade published. Returns how many were checked.
    fn assert_exact_with_every_trade(&self) -> u64 {
        let intervals = Interval::parse_list(INTERVALS).unwrap();
        let mut checked = 0;
        for (consumer, closed) in self.closed.iter().enumerate() {
            let mut held: BTreeMap<(u32, u16, i64), KlineRecord> = BTreeMap::new();
            for record in closed {
                held.insert(
                    (record.symbol, record.interval, record.kline.open_time),
                    *record,
                );
            }
            // A period that closed after its last open state came is in `held` already.
            for (key, record) in &self.open[consumer] {
                held.entry(*key).or_insert(*record);
            }
            let held: Vec<KlineRecord> = held.into_values().collect();
            let outcome = verify(&intervals, &self.trades, &held, Completeness::Every).unwrap();
            assert!(outcome.is_exact(), "consumer {consumer}: {outcome:?}");
            assert!(outcome.verified > 0, "consumer {consumer} checked nothing");
            checked = outcome.verified;
        }
        checked
    }
}

/// Lets a run trade for `duration`, finishes it and checks every closed kline.
fn exact(mut run: Run, duration: Duration) -> Outcome {
    run.run_for(duration);
    let out = run.finish();
    out.assert_exact();
    out
}

/// Ten symbols at `rate` trades/s under `faults` for `duration`, checked.
fn scenario(rate: u32, faults: Faults, duration: Duration) -> Outcome {
    let server = ServerConfig {
        faults,
        ..ServerConfig::default()
    };
    exact(
        Run::start(10, rate, server, connection_options(), 1),
        duration,
    )
}

#[test]
fn normal_flow_is_exact_with_nothing_dropped() {
    let _serial = one_at_a_time();
    let out = exact(
        Run::start(20, 5_000, ServerConfig::default(), connection_options(), 1),
        Duration::from_secs(3),
    );
    assert!(out.gaps.is_empty(), "{:?}", out.gaps);
    assert_eq!(
        (out.shards.duplicates, out.reconnects, out.bad_frames),
        (0, 0, 0)
    );
    assert_eq!(out.shards.trades, out.trades.len() as u64);
    assert!(
        out.closed[0]
            .iter()
            .any(|r| r.symbol == 1 && r.kline.count > 0),
        "{NON_ASCII} traded and followed"
    );
}

#[test]
fn dropped_connections_reconnect_and_gaps_are_counted() {
    let _serial = one_at_a_time();
    let faults = Faults {
        drop_every: Some(Duration::from_millis(800)),
        drop_with_close_frame: true,
        ..Faults::default()
    };
    let out = scenario(4_000, faults, Duration::from_secs(3));
    assert!(out.sim.disconnects_by_fault >= 2, "{:?}", out.sim);
    assert!(
        out.reconnects >= out.sim.disconnects_by_fault - 1,
        "reconnects {}",
        out.reconnects
    );
    assert_eq!(
        out.shards.gaps,
        out.gaps.len() as u64,
        "every gap was handed over"
    );
}

/// Every connection dropped (with a close frame) 0.7 s after it opened.
fn drops_every_700_ms() -> Faults {
    Faults {
        drop_every: Some(Duration::from_millis(700)),
        drop_with_close_frame: true,
        ..Faults::default()
    }
}

#[test]
fn gaps_from_dropped_connections_are_backfilled_and_every_kline_is_exact() {
    let _serial = one_at_a_time();
    let server = ServerConfig {
        faults: drops_every_700_ms(),
        ..ServerConfig::default()
    };
    let mut run = Run::start_with(
        10,
        4_000,
        server,
        connection_options(),
        1,
        Recovery::Backfill,
    );
    // The market stops wherever the drops happen to be: trades lost with a drop just before
    // the end have no later trade to reveal them, and the backfill's tail checks after the
    // reconnect find and fill them while `finish` waits.
    run.run_for(Duration::from_secs(3));
    let out = run.finish();
    assert!(out.sim.disconnects_by_fault >= 2, "{:?}", out.sim);
    assert!(out.shards.gaps > 0, "the drops made gaps");
    // Jumps that came while a gap of the same symbol was pending were filled with it.
    assert!(out.shards.gaps_filled > 0 && out.shards.gaps_filled <= out.shards.gaps);
    assert_eq!(
        (out.shards.gaps_unfilled, out.shards.gap_ids_unfilled),
        (0, 0),
        "every gap filled: {:?}",
        out.shards
    );
    assert_eq!(out.shards.gap_trades_filled, out.shards.missing_agg_ids);
    assert_eq!(out.shards.trades, out.trades.len() as u64, "no trade lost");
    let checked = out.assert_exact_with_every_trade();
    assert!(checked >= 20, "klines checked: {checked}");
}

#[test]
fn gaps_the_exchange_no_longer_has_are_given_up_and_counted() {
    let _serial = one_at_a_time();
    let server = ServerConfig {
        faults: drops_every_700_ms(),
        // REST keeps only each symbol's last few trades, fewer than a drop misses.
        history_per_symbol: 3,
        ..ServerConfig::default()
    };
    let mut run = Run::start_with(
        10,
        4_000,
        server,
        connection_options(),
        1,
        Recovery::Backfill,
    );
    run.run_for(Duration::from_secs(2));
    let out = run.finish();
    assert!(out.shards.gaps > 0, "the drops made gaps");
    assert!(out.shards.gaps_unfilled > 0, "{:?}", out.shards);
    assert!(out.shards.gap_ids_unfilled > 0, "{:?}", out.shards);
    assert_eq!(
        out.shards.gap_trades_filled + out.shards.gap_ids_unfilled,
        out.shards.missing_agg_ids,
        "every missing trade is either merged or counted lost"
    );
}

#[test]
fn redundant_connections_lose_nothing_when_either_is_killed() {
    let _serial = one_at_a_time();
    let mut run = Run::start_with(
        10,
        4_000,
        ServerConfig::default(),
        connection_options(),
        1,
        Recovery::Redundant,
    );
    // Kill the older of the two connections, again and again, each time once the one killed
    // before is back.
    const KILLS: u64 = 8;
    for _ in 0..KILLS {
        run.run_for(Duration::from_millis(250));
        let accepted = run.sim.stats().connections_accepted;
        assert!(run.sim.drop_oldest_connection());
        let deadline = Instant::now() + Duration::from_secs(3);
        while run.sim.stats().connections_accepted == accepted && Instant::now() < deadline {
            run.run_for(Duration::from_millis(10));
        }
    }
    run.run_for(Duration::from_millis(250));
    let out = run.finish();
    assert!(out.sim.disconnects_by_fault >= KILLS, "{:?}", out.sim);
    assert_eq!(
        (out.shards.gaps_unfilled, out.shards.gap_ids_unfilled),
        (0, 0),
        "{:?}",
        out.shards
    );
    assert_eq!(out.shards.trades, out.trades.len() as u64, "no trade lost");
    assert!(
        out.shards.duplicates > out.trades.len() as u64 / 2,
        "both connections carried the trades: {:?}",
        out.shards
    );
    out.assert_exact_with_every_trade();
}

/// Spot end to end: the simulator speaks spot (`/stream`, spot aggTrade frames with `M` and 8
/// decimals, `/api/v3/klines` and `/api/v3/aggTrades`), the engine starts on a market that has
/// traded for a while (its open klines warmed from spot REST), connections drop every 0.7 s
/// (gaps filled from spot REST), and every kline held at the end is exact.
#[test]
fn spot_warm_start_and_gap_fill_leave_every_kline_exact() {
    let _serial = one_at_a_time();
    let server = ServerConfig {
        faults: drops_every_700_ms(),
        ..ServerConfig::spot()
    };
    assert_eq!(server.max_incoming_per_s, 5, "spot's message limit");
    let options = ConnectionOptions {
        // Spot counts pings among its 5 messages a second.
        ping_interval: Duration::from_millis(300),
        ..connection_options()
    };
    let mut run = Run::start_with(5, 2_000, server, options, 1, Recovery::WarmStart);
    assert_eq!(run.sim.market(), Market::Spot);
    assert!(run.sim.stream_url().ends_with("/stream"));
    run.run_until_warm_starts(5, Duration::from_secs(20));
    run.run_for(Duration::from_secs(3));
    let out = run.finish();
    assert_eq!(
        (out.shards.warm_starts, out.shards.warm_starts_failed),
        (5, 0),
        "{:?}",
        out.shards
    );
    assert!(out.sim.disconnects_by_fault >= 2, "{:?}", out.sim);
    assert_eq!(out.sim.disconnects_rate_limit, 0, "{:?}", out.sim);
    assert_eq!(
        (out.shards.gaps_unfilled, out.shards.gap_ids_unfilled),
        (0, 0),
        "every gap filled: {:?}",
        out.shards
    );
    assert_eq!(out.bad_frames, 0, "spot frames parse");
    let checked = out.assert_exact_with_every_trade();
    assert!(checked >= 20, "klines checked: {checked}");
}

#[test]
fn an_engine_started_mid_period_warms_every_open_kline_exactly() {
    let _serial = one_at_a_time();
    let mut run = Run::start_with(
        5,
        2_000,
        ServerConfig::default(),
        connection_options(),
        1,
        Recovery::WarmStart,
    );
    run.run_until_warm_starts(5, Duration::from_secs(20));
    run.run_for(Duration::from_secs(2));
    let out = run.finish();
    assert_eq!(
        (out.shards.warm_starts, out.shards.warm_starts_failed),
        (5, 0),
        "{:?}",
        out.shards
    );
    assert!(
        out.trades.len() as u64 > 2_000 * 140,
        "the market traded before the engine"
    );
    // The 1h and 5m klines open at the start hold the trades from before it.
    let checked = out.assert_exact_with_every_trade();
    assert!(checked >= 20, "klines checked: {checked}");
}

#[test]
fn garbage_frames_are_counted_and_good_frames_stay_exact() {
    let _serial = one_at_a_time();
    let faults = Faults {
        garbage_per_s: 50,
        ..Faults::default()
    };
    let out = scenario(3_000, faults, Duration::from_secs(2));
    assert!(out.sim.garbage_sent > 50, "{:?}", out.sim);
    assert_eq!(
        out.bad_frames, out.sim.garbage_sent,
        "every garbage frame counted as bad"
    );
    assert_eq!(out.reconnects, 0, "garbage does not cost the connection");
}

#[test]
fn an_oversized_frame_ends_its_connection_and_nothing_else() {
    let _serial = one_at_a_time();
    let faults = Faults {
        oversized_every: Some(Duration::from_millis(1_000)),
        ..Faults::default()
    };
    let out = scenario(3_000, faults, Duration::from_secs(3));
    assert!(out.sim.oversized_sent >= 2, "{:?}", out.sim);
    assert_eq!(
        out.connection_errors, out.sim.oversized_sent,
        "each oversized frame ends its connection"
    );
}

#[test]
fn duplicated_frames_are_counted_not_double_counted() {
    let _serial = one_at_a_time();
    let faults = Faults {
        duplicate_every: 7,
        ..Faults::default()
    };
    let out = scenario(4_000, faults, Duration::from_secs(2));
    assert!(out.sim.duplicates_sent > 100);
    assert_eq!(out.shards.duplicates, out.sim.duplicates_sent);
}

#[test]
fn a_stalled_server_is_left_for_a_fresh_connection() {
    let _serial = one_at_a_time();
    let faults = Faults {
        stall_every: Some(Duration::from_millis(900)),
        stall_for: Duration::from_millis(1_000),
        ..Faults::default()
    };
    let out = scenario(2_000, faults, Duration::from_secs(3));
    assert!(out.sim.stalls >= 1);
    assert!(out.reconnects >= 1, "stale reconnects after stalls");
}

#[test]
fn rotation_before_the_age_limit_loses_nothing() {
    let _serial = one_at_a_time();
    let server = ServerConfig {
        max_connection_age: Some(Duration::from_millis(1_500)),
        ..ServerConfig::default()
    };
    let options = ConnectionOptions {
        rotate_after: Duration::from_millis(700),
        ..connection_options()
    };
    let out = exact(
        Run::start(10, 3_000, server, options, 1),
        Duration::from_secs(3),
    );
    assert!(
        out.gaps.is_empty(),
        "make-before-break leaves no gap: {:?}",
        out.gaps
    );
    // Once the market stops, a rotation cannot complete (it waits for the replacement's first
    // trade), so only the trading part of the run is judged.
    let trading = &out.sim_while_trading;
    assert_eq!(
        trading.disconnects_age, 0,
        "rotated before the exchange's age limit: {trading:?}"
    );
    assert!(
        trading.connections_accepted >= 3,
        "rotations happened: {trading:?}"
    );
}

#[test]
fn a_vanishing_and_a_slow_consumer_lose_nothing() {
    let _serial = one_at_a_time();
    let mut run = Run::start(10, 3_000, ServerConfig::default(), connection_options(), 3);
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
        run.pull(0);
        // Consumer 1 gives up at once on every pull: its answers arrive late or not at all.
        if let Ok(delta) = run.consumers[1].pull(Duration::ZERO) {
            run.closed[1].extend_from_slice(&delta.closed);
        }
        // Consumer 2 never pulls until the end.
    }
    let out = run.finish();
    out.assert_exact();
    let key = |r: &KlineRecord| (r.symbol, r.interval, r.kline.open_time);
    let sets: Vec<HashSet<_>> = out
        .closed
        .iter()
        .map(|c| c.iter().map(key).collect())
        .collect();
    assert_eq!(
        sets[0], sets[1],
        "the consumer that gave up got everything in the end"
    );
    assert_eq!(sets[0], sets[2], "the slow consumer got everything");
    assert_eq!(out.closed[1].len(), sets[1].len(), "nothing twice");
}

/// A run of `klagg run`'s symbol manager over six symbols, one of them listed 0.8 s after the
/// market opened.
struct MidRunListing {
    /// The simulator's symbols.
    specs: Vec<SymbolSpec>,
    /// The new listing's simulator index.
    new_symbol: u32,
    /// The new listing's engine index: the next free one, the count of those listed at start.
    engine_index: u32,
    /// Symbols followed at the end.
    active: usize,
    /// Every closed kline the consumer got, in order.
    closed: Vec<KlineRecord>,
    /// Every trade the simulator published.
    trades: Vec<SimTrade>,
    /// The shards' counters at the end.
    shards: ShardStats,
}

/// Runs the market of [`MidRunListing`] for 4 s; with `warm`, a backfill warms new symbols.
fn list_mid_run(warm: bool) -> MidRunListing {
    let mut market = SyntheticConfig::new(6, 3_000, 11, now_ms());
    market.quiet_fraction = 0.0;
    market.new_listing_after = Some(Duration::from_millis(800));
    market.listing_name = Some(NON_ASCII.into());
    let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
    let new_symbol = specs
        .iter()
        .position(|s| s.listed_at_ms.is_some())
        .expect("a new listing") as u32;
    let mut sim = Simulation::serve(ServerConfig::default(), specs.clone()).expect("simulator");
    let text = format!(
        "[exchange]\nsymbols = \"all\"\nws_url = \"ws://{addr}/market/stream\"\nrest_url = \"http://{addr}\"\nmax_symbols = 32\n\
         [klines]\nintervals = [\"1s\", \"1m\", \"5m\", \"1h\"]\n[threads]\nio_cores = []\naggregator_cores = []\naggregator_shards = 2\nconsumer_cores = []\n",
        addr = sim.addr()
    );
    let settings = klagg::config::parse(&text, "e2e.toml")
        .unwrap()
        .resolve(&[0, 1])
        .unwrap();
    let listed: Vec<String> = specs
        .iter()
        .filter(|s| s.listed_at_ms.is_none())
        .map(|s| s.name.clone())
        .collect();
    let plan = klagg::config::Plan::new(&settings, Some(&listed)).unwrap();
    let mut spec = klagg::live::engine_spec(&plan, 1);
    spec.connection = connection_options();
    let (mut engine, mut consumers) = Engine::start(spec).expect("engine");
    let mut names = vec![String::new(); listed.len()];
    for (name, index) in plan.symbol_indices() {
        names[index as usize] = name.to_owned();
    }
    let names = Arc::new(RwLock::new(names));
    let mut manager = klagg::live::SymbolManager::new(&plan, Arc::clone(&names));
    let stop = Arc::new(AtomicBool::new(false));
    let backfill = warm.then(|| {
        let mut config = BackfillConfig::new(&format!("http://{}", sim.addr()), Market::Usdm);
        config.weight_per_minute = 600_000;
        config.intervals = Interval::parse_list(INTERVALS).unwrap();
        let links = engine.take_fill_links().expect("fill links");
        let handle = backfill::spawn(config, links, names, Arc::clone(&stop)).expect("backfill");
        manager.warm_new_symbols(handle.warm_requests());
        handle
    });
    assert!(
        sim.wait_for_clients(1, Duration::from_secs(10)),
        "the engine connects"
    );
    market.start_ms = now_ms();
    sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
        .unwrap();
    let mut closed = Vec::new();
    let end = Instant::now() + Duration::from_secs(4);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
        manager.handle(&engine, Instant::now());
        if let Ok(delta) = consumers[0].pull(Duration::from_millis(200)) {
            closed.extend_from_slice(&delta.closed);
        }
    }
    sim.stop_market();
    std::thread::sleep(Duration::from_millis(1_700));
    if let Ok(delta) = consumers[0].pull(Duration::from_millis(500)) {
        closed.extend_from_slice(&delta.closed);
    }
    stop.store(true, Relaxed);
    if let Some(backfill) = backfill {
        backfill.join(Duration::from_secs(5));
    }
    let report = engine.stop();
    MidRunListing {
        engine_index: listed.len() as u32,
        new_symbol,
        active: manager.active(),
        closed,
        trades: sim.stop().trades,
        shards: report.shards.iter().sum(),
        specs,
    }
}

impl MidRunListing {
    /// `trades` with the new listing under its engine index.
    fn as_engine_saw(&self, trades: impl Iterator<Item = SimTrade>) -> Vec<SimTrade> {
        trades
            .map(|t| SimTrade {
                symbol: if t.symbol == self.new_symbol {
                    self.engine_index
                } else {
                    t.symbol
                },
                ..t
            })
            .collect()
    }

    /// Asserts that `closed` equals the klines rebuilt from `trades` (engine indices).
    #[track_caller]
    fn assert_exact(&self, trades: &[SimTrade], closed: &[KlineRecord]) {
        let outcome = verify(
            &Interval::parse_list(INTERVALS).unwrap(),
            trades,
            closed,
            Completeness::Given,
        )
        .unwrap();
        assert_eq!(outcome.mismatches, 0, "{:?}", outcome.examples);
        assert!(
            closed
                .iter()
                .filter(|r| r.symbol == self.engine_index)
                .count()
                >= 2,
            "klines of the new symbol"
        );
    }
}

#[test]
fn a_symbol_listed_mid_run_is_followed_from_its_first_seen_trade() {
    let _serial = one_at_a_time();
    let run = list_mid_run(false);
    assert_eq!(run.active, run.specs.len(), "the new listing is followed");
    let first_seen = run
        .closed
        .iter()
        .filter(|r| r.symbol == run.engine_index && !r.kline.is_empty())
        .map(|r| r.kline.first_trade_id)
        .min()
        .expect("klines of the new symbol");
    // The new symbol's trades from before its subscription went to nobody.
    let seen = run.as_engine_saw(
        run.trades
            .iter()
            .filter(|t| t.symbol != run.new_symbol || t.first_trade_id >= first_seen)
            .copied(),
    );
    run.assert_exact(&seen, &run.closed);
}

#[test]
fn a_symbol_listed_mid_run_is_warmed_with_its_trades_from_before_the_subscription() {
    let _serial = one_at_a_time();
    let run = list_mid_run(true);
    assert_eq!(run.active, run.specs.len(), "the new listing is followed");
    assert_eq!(
        (run.shards.warm_starts, run.shards.warm_starts_failed),
        (1, 0)
    );
    // The ticker names a symbol only once it has traded: its first trades came before the
    // subscription, and only REST had them.
    let first_trade = run
        .trades
        .iter()
        .filter(|t| t.symbol == run.new_symbol)
        .map(|t| t.first_trade_id)
        .min();
    let first_in_klines = run
        .closed
        .iter()
        .filter(|r| r.symbol == run.engine_index && !r.kline.is_empty())
        .map(|r| r.kline.first_trade_id)
        .min();
    assert_eq!(
        first_in_klines, first_trade,
        "the warm start brought the first trades"
    );
    // Later versions replace earlier ones, as a consumer keeps them.
    let latest: BTreeMap<(u32, u16, i64), KlineRecord> = run
        .closed
        .iter()
        .map(|r| ((r.symbol, r.interval, r.kline.open_time), *r))
        .collect();
    let latest: Vec<KlineRecord> = latest.into_values().collect();
    run.assert_exact(&run.as_engine_saw(run.trades.iter().copied()), &latest);
}

/// `GET target` on the gateway at `addr`: the body of its answer, as JSON.
fn http_get_json(addr: std::net::SocketAddr, target: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{target}: {answer}");
    serde_json::from_str(body).unwrap()
}

#[test]
fn a_non_ascii_symbol_is_stored_and_served_like_btcusdt() {
    use klagg::egress::Decimals;
    use klagg::gateway::{Catalog, Gateway, GatewayConfig};
    use klagg::store::{KlineStore, SinkOptions, spawn_sink};
    use serde_json::Value;
    use tungstenite::Message;
    use tungstenite::stream::MaybeTlsStream;

    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("klines.sqlite");
    let mut run = Run::start(4, 2_000, ServerConfig::default(), connection_options(), 3);
    let specs = run.sim.symbols().to_vec();
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    assert_eq!(names[..2], ["BTCUSDT", NON_ASCII]);
    let intervals = Interval::parse_list(INTERVALS).unwrap();
    // Consumers 1 and 2 become the SQLite sink and the gateway, as in `klagg run`.
    let stop = Arc::new(AtomicBool::new(false));
    let gateway_consumer = run.consumers.pop().unwrap();
    let sink_consumer = run.consumers.pop().unwrap();
    run.closed.truncate(1);
    run.open.truncate(1);
    let sink = spawn_sink(
        sink_consumer,
        database.clone(),
        Arc::new(RwLock::new(names)),
        intervals.clone(),
        SinkOptions::default(),
        Arc::clone(&stop),
    )
    .expect("sink");
    let catalog = Catalog {
        symbols: specs
            .iter()
            .map(|s| {
                let decimals = Decimals::new(s.price_decimals, s.quantity_decimals);
                (s.name.clone(), decimals)
            })
            .collect(),
        intervals: intervals.clone(),
        live: None,
    };
    let config = GatewayConfig {
        database: Some(database.clone()),
        ..GatewayConfig::default()
    };
    let gateway =
        Gateway::spawn(config, gateway_consumer, catalog, Arc::clone(&stop)).expect("gateway");
    let addr = gateway.addr();
    // A URL carries ASCII only: clients send the name percent-encoded.
    let encoded = "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9F";
    let url = format!("ws://{addr}/market/stream?streams={encoded}usdt@kline_1s/btcusdt@kline_1s");
    let (mut client, _) = tungstenite::connect(url).expect("streams named in the URL");
    if let MaybeTlsStream::Plain(stream) = client.get_ref() {
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
    }
    run.run_for(Duration::from_secs(4));
    // Events of both streams, the name raw in the JSON, the stream name lower-cased as Binance
    // does it (ASCII letters only).
    let mut seen = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.len() < 2 && Instant::now() < deadline {
        if let Ok(Message::Text(text)) = client.read() {
            let event: Value = serde_json::from_str(&text).unwrap();
            let data = &event["data"];
            assert_eq!(data["s"], data["k"]["s"], "{text}");
            let stream = event["stream"].as_str().unwrap_or_default().to_owned();
            seen.insert((stream, data["s"].as_str().unwrap_or_default().to_owned()));
        }
    }
    let want: HashSet<(String, String)> = [
        ("币安人生usdt@kline_1s", NON_ASCII),
        ("btcusdt@kline_1s", "BTCUSDT"),
    ]
    .iter()
    .map(|(stream, symbol)| ((*stream).to_owned(), (*symbol).to_owned()))
    .collect();
    assert_eq!(seen, want);
    // The 1s klines the engine had closed by now are final; a push interval later the gateway
    // has them too, and the sink writes them before it stops. Younger ones may still change.
    run.pull(0);
    let final_by: Vec<i64> = (0..2)
        .map(|symbol| {
            run.closed[0]
                .iter()
                .filter(|r| r.symbol == symbol && r.interval == 0)
                .map(|r| r.kline.open_time)
                .max()
                .unwrap_or(i64::MIN)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let served = [
        http_get_json(
            addr,
            "/fapi/v1/klines?symbol=BTCUSDT&interval=1s&limit=1500",
        ),
        http_get_json(
            addr,
            &format!("/fapi/v1/klines?symbol={encoded}USDT&interval=1s&limit=1500"),
        ),
    ];
    stop.store(true, Relaxed);
    gateway.join().expect("gateway thread");
    let stored = sink.join();
    assert!(stored.error.is_none(), "{:?}", stored.error);
    let out = run.finish();
    out.assert_exact();
    // What the database and the gateway hold equals the klines just checked, for both names.
    let exact: BTreeMap<(u32, u16, i64), klagg::kline::Kline> = out.closed[0]
        .iter()
        .map(|r| ((r.symbol, r.interval, r.kline.open_time), r.kline))
        .collect();
    let store = KlineStore::open(&database).unwrap();
    for (index, (name, served)) in ["BTCUSDT", NON_ASCII].iter().zip(&served).enumerate() {
        let index = index as u32;
        let rows = store
            .klines(name, intervals[0], None, None, 100_000)
            .unwrap();
        let is_final = |open_time: i64| open_time <= final_by[index as usize];
        let mut checked = 0;
        for kline in rows.iter().filter(|k| is_final(k.open_time)) {
            let want = &exact[&(index, 0, kline.open_time)];
            assert_eq!(kline, want, "{name} in the database");
            checked += usize::from(kline.count > 0);
        }
        assert!(checked >= 2, "{name}: {checked} stored klines with trades");
        let mut checked = 0;
        for row in served.as_array().unwrap() {
            let open_time = row[0].as_i64().unwrap();
            if !is_final(open_time) {
                continue;
            }
            let want = &exact[&(index, 0, open_time)];
            let close = row[4].as_str().unwrap();
            assert_eq!(
                klagg::decimal::parse_fixed(close.as_bytes()),
                Ok(want.close),
                "{name}: {row}"
            );
            assert_eq!(row[6].as_i64(), Some(want.close_time), "{name}: {row}");
            assert_eq!(row[8].as_i64(), Some(want.count), "{name}: {row}");
            checked += usize::from(want.count > 0);
        }
        assert!(checked >= 2, "{name}: {checked} served klines with trades");
    }
}
