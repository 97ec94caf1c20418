//! `klagg run`: the live engine driven from a config file until Ctrl-C.
//!
//! Start-up resolves the symbols (REST exchangeInfo for `symbols = "all"`), plans connections
//! and shards, starts the engine, then this thread keeps it company: it pulls deltas as a
//! consumer (so closed klines are counted and the shards' backlogs stay empty), prints a status
//! line, and manages symbols that come and go.

mod consumers;
mod refused;
mod spec;
mod status;
mod symbol_manager;
mod symbols;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::backfill::{self, BackfillConfig, BackfillHandle};
use crate::config::{self, ConfigError, Plan};
use crate::ingress::exchange_info::ExchangeInfoError;
use crate::latency::StampFile;
use crate::pipeline::{Engine, EngineBuilder, EngineError, ProbeCollector};
use crate::store::StoreError;

pub use refused::RefusedSymbols;
pub use spec::engine_spec;
pub use status::Status;
pub use symbol_manager::SymbolManager;

/// How `klagg run` was asked to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The config file.
    pub config: PathBuf,
    /// How often a status line is printed.
    pub status_every: Duration,
    /// Stop after this long (for tests and demos); `None` runs until Ctrl-C.
    pub duration: Option<Duration>,
    /// Write every latency stamp to this file at the end (`scripts/latency.sh`); needs
    /// `[latency] sample_every` > 0.
    pub stamps: Option<PathBuf>,
}

/// Why `klagg run` could not run.
#[derive(Debug)]
pub enum RunError {
    /// The config file is wrong.
    Config(ConfigError),
    /// `symbols = "all"` could not be resolved.
    ExchangeInfo(ExchangeInfoError),
    /// The exchange lists no symbol that matches.
    NoSymbols(String),
    /// The engine did not start.
    Engine(EngineError),
    /// The kline database could not be opened.
    Store(StoreError),
    /// The gateway could not bind its address.
    Gateway(std::io::Error),
    /// Latency stamps were asked for and cannot be taken or written.
    Stamps(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Config(e) => write!(f, "{e}"),
            RunError::ExchangeInfo(e) => write!(f, "cannot resolve symbols = \"all\": {e}"),
            RunError::NoSymbols(why) => write!(f, "no symbols to follow: {why}"),
            RunError::Engine(e) => write!(f, "{e}"),
            RunError::Store(e) => write!(f, "{e}"),
            RunError::Gateway(e) => write!(f, "cannot serve klines (gateway.bind): {e}"),
            RunError::Stamps(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Runs the engine until `stop` is set (Ctrl-C) or the duration passes; returns the final
/// status.
pub fn run(options: &RunOptions, stop: &AtomicBool) -> Result<Status, RunError> {
    let settings = config::load(&options.config)
        .and_then(|c| c.resolve(&config::available_cores()))
        .map_err(RunError::Config)?;
    let symbols::Resolved {
        symbols,
        described,
        refused,
    } = symbols::resolve(&settings)?;
    let plan = Plan::new(&settings, Some(&symbols)).map_err(RunError::Config)?;
    log::info!("plan:\n{plan}");
    // The status line's consumer first, then the sink's and the gateway's if configured.
    let mut spec = engine_spec(&plan, 1 + consumers::wanted(&settings));
    if let Some(path) = &settings.database {
        spec.restore = stored_open_klines(&plan, path);
    }
    if options.stamps.is_some() && spec.probe.is_none() {
        return Err(RunError::Stamps(format!(
            "--stamps needs latency stamps: set [latency] sample_every to 1 (every trade) or \
             another power of two in {}",
            options.config.display()
        )));
    }
    let mut builder = EngineBuilder::new(spec).map_err(RunError::Engine)?;
    let mut engine_consumers = builder.take_consumers();
    let keep = if options.stamps.is_some() {
        MAX_KEPT_STAMPS
    } else {
        0
    };
    let collector = builder
        .engine_mut()
        .take_probe()
        .map(|probe| ProbeCollector::spawn(probe, keep))
        .transpose()
        .map_err(|e| RunError::Engine(EngineError::Spawn(e)))?;
    let mut consumer = engine_consumers.remove(0);
    let names = Arc::new(RwLock::new(symbols::names(&plan)));
    let consumers_stop = Arc::new(AtomicBool::new(false));
    // The backfill first, so /metrics can show its counters.
    let backfill_stop = Arc::new(AtomicBool::new(false));
    let backfill = start_backfill(&plan, builder.engine_mut(), &names, &backfill_stop)?;
    let observed = consumers::Observed {
        latencies: collector.as_ref().map(ProbeCollector::latencies),
        backfill: backfill.as_ref().map(|b| Arc::clone(&b.stats)),
    };
    let threads = consumers::start(
        &settings,
        &mut builder,
        engine_consumers,
        &names,
        described,
        observed,
        &consumers_stop,
    )?;
    let mut engine = builder.start().map_err(RunError::Engine)?;
    let mut manager = SymbolManager::new(&plan, Arc::clone(&names)).with_refused(refused);
    if let Some(backfill) = &backfill {
        manager.warm_new_symbols(backfill.warm_requests());
    }
    let mut status = Status::new();
    let started = Instant::now();
    let mut last_status = Instant::now();
    while !stop.load(Ordering::Acquire) {
        if options.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        if let Ok(delta) = consumer.pull(Duration::from_millis(200)) {
            status.absorb(delta);
        }
        manager.handle(&engine, Instant::now());
        if last_status.elapsed() >= options.status_every {
            last_status = Instant::now();
            status.observe(&engine);
            status.symbols_refused = manager.refused();
            println!("{}", status.line());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // A graceful stop: nothing read is lost. Reading stops and the rings drain; then every
    // consumer pulls once more from the still running shards (the sink writes what it got),
    // and only then do the shards end.
    let stopping = Instant::now();
    backfill_stop.store(true, Ordering::Release);
    let ingress = engine.stop_ingress(INGRESS_STOP_WAIT);
    if !ingress.shards_drained {
        log::warn!(
            "the shards had not applied every trade read when the consumers' final pulls began"
        );
    }
    consumers_stop.store(true, Ordering::Release);
    if let Some(gateway) = threads.gateway
        && gateway.join().is_err()
    {
        log::error!("the gateway thread panicked");
    }
    if let Some(nats) = threads.nats {
        nats.join();
    }
    if let Some(sink) = threads.sink {
        let stored = sink.join();
        if let Some(e) = &stored.error {
            log::error!("klines not written: {e}");
        }
        status.klines_stored = Some(stored.klines_written);
    }
    if let Ok(delta) = consumer.pull(FINAL_PULL_WAIT) {
        status.absorb(delta);
    }
    if let Some(backfill) = backfill {
        backfill.join(FINAL_PULL_WAIT);
    }
    // The last line shows the connections' final counters too.
    status.observe(&engine);
    status.symbols_refused = manager.refused();
    let report = engine.stop();
    log::info!("stopped in {} ms", stopping.elapsed().as_millis());
    status.finish(&report);
    if let (Some(collector), Some(path)) = (collector, &options.stamps) {
        let kept = collector.stop();
        let file = StampFile {
            names: names.read().map(|n| n.clone()).unwrap_or_default(),
            stamps: kept.stamps,
            dropped: kept.dropped,
            trades: report.shards.iter().map(|s| s.trades).sum(),
        };
        file.write(path).map_err(|e| {
            RunError::Stamps(format!("cannot write stamps to {}: {e}", path.display()))
        })?;
        println!(
            "wrote {} latency stamps to {} ({} dropped)",
            file.stamps.len(),
            path.display(),
            file.dropped
        );
    }
    Ok(status)
}

/// Starts the gap backfill the settings ask for, on the engine's fill links; it begins by
/// rebuilding the open klines of every planned symbol (the exact warm start), and warms the
/// symbols listed later when the symbol manager sends them.
fn start_backfill(
    plan: &Plan,
    engine: &mut Engine,
    names: &Arc<RwLock<Vec<String>>>,
    stop: &Arc<AtomicBool>,
) -> Result<Option<BackfillHandle>, RunError> {
    let settings = &plan.settings;
    let (Some(weight), Some(links)) = (
        settings.backfill_weight_per_minute,
        engine.take_fill_links(),
    ) else {
        return Ok(None);
    };
    let mut config = BackfillConfig::new(&settings.rest_url, settings.market);
    config.weight_per_minute = weight;
    config.intervals = settings.intervals.clone();
    config.warm = plan.symbol_indices().map(|(_, index)| index).collect();
    config.tail_check_every = settings.tail_check_every;
    backfill::spawn(config, links, Arc::clone(names), Arc::clone(stop))
        .map(Some)
        .map_err(|e| RunError::Engine(EngineError::Spawn(e)))
}

/// How long a stop waits for the io threads to end and the shards to apply what they read: an
/// io thread ends within its read tick (100 ms by default) unless it is stuck connecting.
const INGRESS_STOP_WAIT: Duration = Duration::from_millis(500);

/// How long the status line's final pull waits for the shards' answers.
const FINAL_PULL_WAIT: Duration = Duration::from_millis(200);

/// Most stamps `--stamps` keeps (32 bytes each, 128 MiB, written once at start so the run
/// takes no page faults for them): about 80 s of 25k trades/s at four stamps a trade.
const MAX_KEPT_STAMPS: usize = 4_000_000;

/// The open klines a previous run saved whose period is still the current one, so a restart in
/// mid-period resumes them (trades missed while down are the backfill's job). A database that
/// cannot be read is logged and the run starts from nothing.
fn stored_open_klines(
    plan: &Plan,
    path: &std::path::Path,
) -> Vec<(u32, usize, crate::kline::Kline)> {
    if !path.exists() {
        return Vec::new();
    }
    let store = match crate::store::KlineStore::open(path) {
        Ok(store) => store,
        Err(e) => {
            log::warn!("not restoring open klines: {e}");
            return Vec::new();
        }
    };
    let now = crate::pipeline::now_ms();
    let mut restored = Vec::new();
    for (name, global) in plan.symbol_indices() {
        for (index, interval) in plan.settings.intervals.iter().enumerate() {
            if let Ok(Some(kline)) = store.latest(name, *interval)
                && kline.open_time == interval.open_time(now)
            {
                restored.push((global, index, kline));
            }
        }
    }
    if !restored.is_empty() {
        log::info!(
            "restored {} open klines from {}",
            restored.len(),
            path.display()
        );
    }
    restored
}
