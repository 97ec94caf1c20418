//! `klagg run` stopped by a signal while trades flow: it exits 0 within 2 s, and the SQLite
//! database then holds every kline of every symbol and interval, the open ones included,
//! exactly as rebuilt from the trades it had read. A second signal exits at once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use klagg::aggregator::KlineRecord;
use klagg::interval::Interval;
use klagg::latency::{Stage, StampFile};
use klagg::oracle::{Completeness, verify};
use klagg::pipeline::now_ms;
use klagg::sim::market::{SyntheticConfig, SyntheticMarket};
use klagg::sim::server::ServerConfig;
use klagg::sim::simulation::Simulation;
use klagg::sim::{MarketSource, SimTrade, SymbolSpec};
use klagg::store::KlineStore;
use rustix::process::{Pid, Signal, kill_process};

#[path = "support/run_config.rs"]
mod run_config;
use run_config::{INTERVALS, RunFiles, write_run_config};

/// What the issue asks of a graceful stop.
const STOP_WITHIN: Duration = Duration::from_secs(2);
/// Longest wait for anything else a test waits for.
const WAIT: Duration = Duration::from_secs(20);

/// A simulator trading `symbols` symbols and `klagg run` connected to it, its kline database
/// and stamp file in `dir`.
struct Run {
    sim: Simulation,
    specs: Vec<SymbolSpec>,
    klagg: Child,
    database: PathBuf,
    stamps: PathBuf,
}

impl Run {
    fn start(dir: &Path, symbols: usize) -> Run {
        let mut market = SyntheticConfig::new(symbols, 3_000, 11, now_ms());
        market.quiet_fraction = 0.0;
        let specs = SyntheticMarket::new(market.clone()).symbols().to_vec();
        let mut sim = Simulation::serve(ServerConfig::default(), specs.clone()).expect("serve");
        let RunFiles {
            config,
            database,
            stamps,
        } = write_run_config(dir, sim.addr(), "");
        let klagg = Command::new(env!("CARGO_BIN_EXE_klagg"))
            .args(["run", "--config"])
            .arg(&config)
            .arg("--stamps")
            .arg(&stamps)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start klagg run");
        assert!(sim.wait_for_clients(1, WAIT), "klagg connects");
        market.start_ms = now_ms();
        sim.start_market(Box::new(SyntheticMarket::new(market)), None, true)
            .expect("market");
        Run {
            sim,
            specs,
            klagg,
            database,
            stamps,
        }
    }

    /// Sends `signal` to klagg.
    fn signal(&self, signal: Signal) {
        let pid = i32::try_from(self.klagg.id())
            .ok()
            .and_then(Pid::from_raw)
            .expect("klagg's pid");
        kill_process(pid, signal).expect("signal klagg");
    }

    /// Waits for klagg to exit; returns how long that took and what it printed.
    fn wait_exit(
        mut self,
    ) -> (
        Duration,
        Output,
        Simulation,
        Vec<SymbolSpec>,
        PathBuf,
        PathBuf,
    ) {
        let since = Instant::now();
        while self.klagg.try_wait().expect("try_wait").is_none() {
            if since.elapsed() > WAIT {
                let _ = self.klagg.kill();
                panic!("klagg did not exit within {WAIT:?} of the signal");
            }
            thread::sleep(Duration::from_millis(5));
        }
        let took = since.elapsed();
        let output = self.klagg.wait_with_output().expect("output");
        (
            took,
            output,
            self.sim,
            self.specs,
            self.database,
            self.stamps,
        )
    }
}

/// Every kline the database holds, closed or open, as records with the simulator's indices.
fn stored_klines(
    database: &Path,
    specs: &[SymbolSpec],
    intervals: &[Interval],
) -> Vec<KlineRecord> {
    let store = KlineStore::open(database).expect("open the database");
    let mut all = Vec::new();
    for (symbol, spec) in specs.iter().enumerate() {
        for (interval, iv) in intervals.iter().enumerate() {
            for kline in store
                .klines(&spec.name, *iv, None, None, 100_000)
                .expect("klines")
            {
                all.push(KlineRecord {
                    symbol: symbol as u32,
                    interval: interval as u16,
                    correction: false,
                    kline,
                });
            }
        }
    }
    all
}

/// The simulator's trades klagg should hold: each symbol's up to the last one its stamp file
/// says it read (the ones before its first read came from REST, by the warm start).
fn trades_read(stamps: &StampFile, specs: &[SymbolSpec], trades: Vec<SimTrade>) -> Vec<SimTrade> {
    let mut last_read: HashMap<&str, i64> = HashMap::new();
    for s in stamps.stamps.iter().filter(|s| s.stage == Stage::FrameRead) {
        let last = last_read
            .entry(stamps.names[s.symbol as usize].as_str())
            .or_insert(i64::MIN);
        *last = (*last).max(s.trade_id);
    }
    trades
        .into_iter()
        .filter(|t| {
            last_read
                .get(specs[t.symbol as usize].name.as_str())
                .is_some_and(|&last| t.last_trade_id <= last)
        })
        .collect()
}

#[test]
fn a_signal_while_trades_flow_stops_within_two_seconds_and_loses_nothing_read() {
    let intervals: Vec<Interval> = INTERVALS
        .iter()
        .map(|i| Interval::parse(i).expect("interval"))
        .collect();
    for (signal, name) in [(Signal::INT, "INT"), (Signal::TERM, "TERM")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = Run::start(dir.path(), 4);
        // Long enough for 1s klines to close and the sink to have written some.
        thread::sleep(Duration::from_millis(2_500));
        run.signal(signal);
        let (took, output, sim, specs, database, stamps) = run.wait_exit();
        let printed = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "SIG{name}: klagg exited with {}: {printed}",
            output.status
        );
        assert!(
            took < STOP_WITHIN,
            "SIG{name}: klagg took {took:?} to stop: {printed}"
        );

        let trades = sim.stop().trades;
        let stamps = StampFile::read(&stamps).expect("stamp file");
        assert_eq!(stamps.dropped, 0);
        let read = trades_read(&stamps, &specs, trades);
        assert!(read.len() > 1_000, "SIG{name}: trades read: {}", read.len());
        assert_eq!(
            stamps.trades,
            read.len() as u64,
            "SIG{name}: every trade up to the last read was applied"
        );
        let stored = stored_klines(&database, &specs, &intervals);
        let outcome = verify(&intervals, &read, &stored, Completeness::Every).unwrap();
        assert!(outcome.is_exact(), "SIG{name}: {outcome:?}");
        // The kline holding each symbol's last trade read is stored with it, in every
        // interval: the final pull delivered the open klines as they were at the stop.
        for (symbol, spec) in specs.iter().enumerate() {
            let Some(last) = read.iter().rfind(|t| t.symbol == symbol as u32) else {
                continue;
            };
            for (interval, iv) in intervals.iter().enumerate() {
                let stored_up_to = stored
                    .iter()
                    .filter(|r| r.symbol == symbol as u32 && r.interval == interval as u16)
                    .map(|r| r.kline.last_trade_id)
                    .max();
                assert_eq!(
                    stored_up_to,
                    Some(last.last_trade_id),
                    "SIG{name}: {} {iv}: the stored klines end at another trade than the last read",
                    spec.name,
                );
            }
        }
    }
}

#[test]
fn a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = Run::start(dir.path(), 2);
    thread::sleep(Duration::from_millis(500));
    run.signal(Signal::INT);
    // Two signals of one kind that arrive together are one: the kernel does not queue them.
    thread::sleep(Duration::from_millis(50));
    run.signal(Signal::INT);
    let (_, output, _sim, ..) = run.wait_exit();
    assert_eq!(
        output.status.code(),
        Some(130),
        "the second signal's exit code"
    );
}
