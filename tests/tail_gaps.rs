//! Trailing gaps end to end: the simulator makes a symbol's last trades without sending them,
//! drops the connection right after them, and the symbol trades no more, so no later agg id
//! ever shows the engine the loss. The backfill's tail check after the reconnect finds it
//! within seconds, and every kline (every field, every interval, open ones included) equals
//! the oracle's over every trade the exchange made.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use klagg::aggregator::{GapFillConfig, KlineRecord, ShardConfig, ShardStats};
use klagg::backfill::{self, BackfillConfig, BackfillHandle, BackfillStats};
use klagg::config::Market;
use klagg::idle::IdleStrategy;
use klagg::ingress::connection::ConnectionOptions;
use klagg::interval::Interval;
use klagg::oracle::{Completeness, verify};
use klagg::pipeline::{Engine, EngineConsumer, EngineSpec, now_ms};
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::ServerConfig;
use klagg::sim::simulation::Simulation;
use klagg::sim::{Faults, MarketSource, SimTrade, TailLoss};

const INTERVALS: &str = "1s,1m,5m,1h";

/// One simulator and engine at a time: their timing rules would otherwise measure the
/// scheduler of a 2-core machine.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn intervals() -> Vec<Interval> {
    Interval::parse_list(INTERVALS).unwrap()
}

/// Which tail checks the backfill makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tails {
    /// After reconnects only.
    Reconnects,
    /// After reconnects and on a sweep of every symbol once per this.
    Sweep(Duration),
    /// None: the trailing losses stay.
    Off,
}

/// A simulator, the engine on one connection to it, its backfill, and a consumer folding the
/// klines it is given.
struct Run {
    sim: Simulation,
    engine: Engine,
    backfill: BackfillHandle,
    backfill_stop: Arc<AtomicBool>,
    consumer: EngineConsumer,
    /// Every kline held, by (symbol, interval, open time): corrections replace what they
    /// correct, open klines come after the closed ones of the same period.
    held: BTreeMap<(u32, u16, i64), KlineRecord>,
    /// Trades the market published, once it stopped.
    published: Option<u64>,
}

/// What the consumer held at the end, and every trade the exchange made.
struct Outcome {
    trades: Vec<SimTrade>,
    held: Vec<KlineRecord>,
    shards: ShardStats,
}

impl Run {
    /// `symbols` symbols at `rate` trades/s under `faults`; the backfill spends at most
    /// `weight_per_minute`, and checks tails as `tails` says.
    fn start(
        symbols: usize,
        rate: u32,
        faults: Faults,
        weight_per_minute: u32,
        tails: Tails,
    ) -> Run {
        let mut market = SyntheticConfig::new(symbols, rate, 11, now_ms());
        market.quiet_fraction = 0.0;
        let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
        let server = ServerConfig {
            faults,
            ..ServerConfig::default()
        };
        let mut sim = Simulation::serve(server, specs.clone()).expect("simulator");
        let mut shard = ShardConfig::new(intervals(), specs.len() as u32);
        shard.gap_fill = GapFillConfig::LIVE;
        let spec = EngineSpec {
            shard,
            max_symbols: specs.len() as u32,
            shard_cores: vec![None, None],
            connections: klagg::demo::sim_connections(&sim, 1_024),
            idle: IdleStrategy::Park(Duration::from_micros(100)),
            ring_capacity: 4096,
            connection: ConnectionOptions {
                read_tick: Duration::from_millis(20),
                ping_interval: Duration::from_millis(150),
                stale_timeout: Duration::from_millis(500),
                backoff_min: Duration::from_millis(20),
                backoff_max: Duration::from_millis(100),
                ..ConnectionOptions::default()
            },
            consumers: 1,
            probe: None,
            restore: Vec::new(),
        };
        let (mut engine, mut consumers) = Engine::start(spec).expect("engine");
        let mut config = BackfillConfig::new(&format!("http://{}", sim.addr()), Market::Usdm);
        config.weight_per_minute = weight_per_minute;
        config.intervals = intervals();
        config.tail_checks = tails != Tails::Off;
        config.tail_check_every = match tails {
            Tails::Sweep(every) => Some(every),
            // Reconnects only: the sweep would find the losses too, but later.
            _ => None,
        };
        let names = specs.iter().map(|s| s.name.clone()).collect();
        let backfill_stop = Arc::new(AtomicBool::new(false));
        let links = engine.take_fill_links().expect("fill links");
        let backfill = backfill::spawn(
            config,
            links,
            Arc::new(RwLock::new(names)),
            Arc::clone(&backfill_stop),
        )
        .expect("backfill thread");
        assert!(
            sim.wait_for_clients(1, Duration::from_secs(10)),
            "the engine connects"
        );
        market.start_ms = now_ms();
        sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
            .expect("market");
        Run {
            sim,
            engine,
            backfill,
            backfill_stop,
            consumer: consumers.remove(0),
            held: BTreeMap::new(),
            published: None,
        }
    }

    fn pull(&mut self) {
        if let Ok(delta) = self.consumer.pull(Duration::from_millis(200)) {
            assert_eq!(delta.missed_closed, 0, "the consumer missed klines");
            for record in &delta.closed {
                let key = (record.symbol, record.interval, record.kline.open_time);
                self.held.insert(key, *record);
            }
            for record in &delta.open {
                let key = (record.symbol, record.interval, record.kline.open_time);
                self.held.insert(key, *record);
            }
        }
    }

    /// Pulls every 50 ms for `duration`.
    fn run_for(&mut self, duration: Duration) {
        let end = Instant::now() + duration;
        while Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
            self.pull();
        }
    }

    /// Pulls until `done` holds or `timeout` passes; returns how long it took, if it held.
    fn run_until(&mut self, timeout: Duration, done: impl Fn(&Run) -> bool) -> Option<Duration> {
        let started = Instant::now();
        while !done(self) {
            if started.elapsed() > timeout {
                return None;
            }
            self.run_for(Duration::from_millis(20));
        }
        Some(started.elapsed())
    }

    fn shards(&self) -> ShardStats {
        self.engine.shard_stats().iter().sum()
    }

    fn backfill(&self, counter: impl Fn(&BackfillStats) -> &std::sync::atomic::AtomicU64) -> u64 {
        counter(&self.backfill.stats).load(Relaxed)
    }

    /// Stages `loss` and, if it drops the connection, waits for the engine's to come back;
    /// returns the lost trades and when the connection was back.
    fn lose_tail(&mut self, loss: TailLoss) -> (Vec<SimTrade>, Instant) {
        let accepted = self.sim.stats().connections_accepted;
        let lost = self
            .sim
            .lose_tail(loss, Duration::from_secs(3))
            .expect("the market staged the loss");
        if loss.drop_connection {
            let back = self.run_until(Duration::from_secs(5), |run| {
                run.sim.stats().connections_accepted > accepted
            });
            assert!(back.is_some(), "the engine reconnects");
        }
        (lost, Instant::now())
    }

    /// Stops the market (the server stays up), waits for the engine to account for every
    /// trade, lets the clock close what the last trades opened, and stops everything.
    fn finish(mut self) -> Outcome {
        let published = self
            .published
            .unwrap_or_else(|| self.sim.stop_market().published);
        self.run_until(Duration::from_secs(10), |run| {
            let shards = run.shards();
            shards.trades + shards.gap_ids_unfilled >= published && shards.gaps_pending == 0
        });
        self.run_for(Duration::from_millis(1_700));
        self.backfill_stop.store(true, Relaxed);
        self.backfill.join(Duration::from_secs(2));
        let shards = self.engine.stop().shards.iter().sum();
        let trades = self.sim.stop().trades;
        Outcome {
            trades,
            held: self.held.into_values().collect(),
            shards,
        }
    }
}

impl Outcome {
    /// Every kline the consumer holds equals the oracle's over every trade the exchange
    /// made, and none is missing.
    fn assert_exact(&self) {
        let outcome = verify(&intervals(), &self.trades, &self.held, Completeness::Every).unwrap();
        assert!(outcome.is_exact(), "{outcome:?}");
        assert!(
            outcome.verified >= 20,
            "klines checked: {}",
            outcome.verified
        );
    }
}

#[test]
fn a_quiet_symbols_last_trades_lost_with_a_drop_are_merged_within_seconds() {
    let _serial = one_at_a_time();
    let mut run = Run::start(8, 2_000, Faults::default(), 600_000, Tails::Reconnects);
    run.run_for(Duration::from_millis(1_500));
    let (lost, back) = run.lose_tail(TailLoss {
        symbol: 3,
        unsent: 5,
        silence_all: false,
        drop_connection: true,
    });
    assert_eq!(lost.len(), 5, "symbol 3 had traded");
    let took = run.run_until(Duration::from_secs(10), |run| {
        run.shards().tail_trades_filled >= 5
    });
    let took = took.expect("the tail check merged the lost trades");
    let since_back = back.elapsed();
    println!("symbol 3's lost trades merged {since_back:?} after the reconnect");
    assert!(
        since_back < Duration::from_secs(6),
        "merged {since_back:?} after the reconnect ({took:?} of waiting)"
    );
    assert!(run.backfill(|s| &s.tail_checks) >= 1);
    assert!(run.backfill(|s| &s.tail_suspected) >= 1);
    run.run_for(Duration::from_millis(500));
    let out = run.finish();
    assert!(out.shards.tail_gaps >= 1, "{:?}", out.shards);
    assert_eq!(out.shards.gap_ids_unfilled, 0, "{:?}", out.shards);
    out.assert_exact();
}

#[test]
fn without_tail_checks_the_lost_trades_stay_lost() {
    let _serial = one_at_a_time();
    let mut run = Run::start(8, 2_000, Faults::default(), 600_000, Tails::Off);
    run.run_for(Duration::from_millis(1_500));
    let (lost, _) = run.lose_tail(TailLoss {
        symbol: 3,
        unsent: 5,
        silence_all: false,
        drop_connection: true,
    });
    run.run_for(Duration::from_secs(4));
    // The engine never hears of them: they are not waited for.
    run.published = Some(run.sim.stop_market().published - lost.len() as u64);
    let out = run.finish();
    let outcome = verify(&intervals(), &out.trades, &out.held, Completeness::Every).unwrap();
    assert_eq!(outcome.lost_trades, 5, "{outcome:?}");
    assert_eq!(out.shards.tail_gaps, 0);
}

#[test]
fn tail_claims_and_gaps_of_a_dropping_connection_leave_every_kline_exact() {
    let _serial = one_at_a_time();
    let faults = Faults {
        drop_every: Some(Duration::from_millis(700)),
        drop_with_close_frame: true,
        ..Faults::default()
    };
    let mut run = Run::start(10, 4_000, faults, 600_000, Tails::Reconnects);
    run.run_for(Duration::from_millis(2_500));
    // The last drop of all: every symbol stops trading with it, symbol 4 losing its last
    // trades; the connection goes on dropping every 0.7 s.
    let (lost, _) = run.lose_tail(TailLoss {
        symbol: 4,
        unsent: 7,
        silence_all: true,
        drop_connection: true,
    });
    assert_eq!(lost.len(), 7);
    run.published = Some(run.sim.stop_market().published);
    let merged = run.run_until(Duration::from_secs(12), |run| {
        run.shards().tail_trades_filled >= 7
    });
    assert!(merged.is_some(), "{:?}", run.shards());
    let out = run.finish();
    assert!(
        out.shards.gaps_filled > out.shards.tail_gaps,
        "{:?}",
        out.shards
    );
    assert_eq!(
        (out.shards.gaps_unfilled, out.shards.gap_ids_unfilled),
        (0, 0),
        "{:?}",
        out.shards
    );
    assert_eq!(out.shards.trades, out.trades.len() as u64, "no trade lost");
    out.assert_exact();
}

#[test]
fn the_sweep_finds_a_loss_no_reconnect_announced() {
    let _serial = one_at_a_time();
    // Eight symbols in 2 s: one every 250 ms.
    let sweep = Tails::Sweep(Duration::from_secs(2));
    let mut run = Run::start(8, 2_000, Faults::default(), 600_000, sweep);
    run.run_for(Duration::from_millis(1_500));
    let (lost, at) = run.lose_tail(TailLoss {
        symbol: 5,
        unsent: 4,
        silence_all: false,
        drop_connection: false,
    });
    assert_eq!(lost.len(), 4);
    let merged = run.run_until(Duration::from_secs(10), |run| {
        run.shards().tail_trades_filled >= 4
    });
    assert!(merged.is_some(), "{:?}", run.backfill.stats);
    println!(
        "symbol 5's lost trades merged by the sweep {:?} after the loss",
        at.elapsed()
    );
    assert_eq!(run.sim.stats().connections_accepted, 1, "no reconnect");
    let out = run.finish();
    assert_eq!(out.shards.tail_trades_filled, 4);
    out.assert_exact();
}

/// The REST weight a reconnect of 200 symbols costs, all of them quiet (the worst case: a
/// symbol that trades on is not checked) and one with lost trades: one klines page each, and
/// a page of aggTrades for the loss, within Binance's budget at klagg's default share.
#[test]
fn a_reconnect_of_200_quiet_symbols_costs_a_klines_call_each() {
    let _serial = one_at_a_time();
    const SYMBOLS: usize = 200;
    let mut run = Run::start(SYMBOLS, 8_000, Faults::default(), 1_200, Tails::Reconnects);
    let all_traded = run.run_until(Duration::from_secs(15), |run| {
        let traded: std::collections::HashSet<u32> =
            run.sim.trades().iter().map(|t| t.symbol).collect();
        traded.len() == SYMBOLS
    });
    assert!(all_traded.is_some(), "every symbol traded");
    let (lost, back) = run.lose_tail(TailLoss {
        symbol: 17,
        unsent: 3,
        silence_all: true,
        drop_connection: true,
    });
    assert_eq!(lost.len(), 3);
    run.published = Some(run.sim.stop_market().published);
    let checked = run.run_until(Duration::from_secs(15), |run| {
        run.backfill(|s| &s.tail_checks) + run.backfill(|s| &s.tail_skipped) >= SYMBOLS as u64
            && run.shards().tail_trades_filled >= 3
    });
    assert!(checked.is_some(), "{:?}", run.backfill.stats);
    let checks = run.backfill(|s| &s.tail_checks);
    let weight = run.backfill(|s| &s.tail_rest_weight);
    let pages = (weight - checks) / 20;
    println!(
        "a reconnect of {SYMBOLS} quiet symbols, one with lost trades: {checks} klines calls \
         and {pages} aggTrades page(s), REST weight {weight}, all done {:?} after the reconnect",
        back.elapsed()
    );
    assert_eq!(checks, SYMBOLS as u64, "{:?}", run.backfill.stats);
    assert_eq!(weight, checks + 20 * pages);
    assert!(pages >= 1);
    let out = run.finish();
    assert_eq!(out.shards.tail_trades_filled, 3);
    out.assert_exact();
}
