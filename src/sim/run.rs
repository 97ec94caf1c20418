//! `klagg sim` as a command: build the source and server from the options, print where to
//! connect, report now and then, stop at Ctrl-C, at the duration, or when a replay ends.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::market::{
    FileInput, FileReplay, FileReplayConfig, Speed, SyntheticConfig, SyntheticMarket,
};
use super::server::ServerConfig;
use super::simulation::{Simulation, SimulationReport};
use super::types::{Faults, MarketSource};
use super::write_stamps::WriteStamps;
use crate::latency::Sampling;
use crate::pipeline::now_ms;

/// Where the trades come from.
#[derive(Debug, Clone)]
pub enum SourceOptions {
    /// A synthetic market.
    Synthetic {
        /// Number of symbols.
        symbols: usize,
        /// Target trades per second over all symbols.
        rate: u32,
        /// Random seed.
        seed: u64,
        /// List one new symbol after this long.
        new_listing_after: Option<Duration>,
        /// Names of the first symbols (the rest are generated).
        names: Vec<String>,
    },
    /// Data Vision files or captures, replayed.
    Replay {
        /// The files, in order.
        files: Vec<PathBuf>,
        /// Symbol of Data Vision files (captures name their own).
        symbol: Option<String>,
        /// `max` or a speed factor.
        speed: String,
    },
}

/// Everything `klagg sim` takes.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Listen address (port 0: any free port).
    pub addr: SocketAddr,
    /// The Binance API spoken.
    pub market: crate::config::Market,
    /// Trade source.
    pub source: SourceOptions,
    /// Record every trade sent into this directory.
    pub record: Option<PathBuf>,
    /// Server ping interval.
    pub ping_every: Duration,
    /// Disconnect after this long without a pong.
    pub pong_timeout: Duration,
    /// Disconnect connections at this age.
    pub max_age: Duration,
    /// Faults to inject.
    pub faults: Faults,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop trading after this long but go on serving REST and connections until stopped, so
    /// a client can still fetch what it missed.
    pub trade_for: Option<Duration>,
    /// Cores to pin the simulator's threads to (empty: not pinned).
    pub cores: Vec<usize>,
    /// Start trading only once this many WebSocket clients have connected (0: at once).
    pub wait_for_clients: u64,
    /// Stop once this many trades were sent to connections.
    pub count: Option<u64>,
    /// Write when each trade was sent to this stamp file at the end (latency scripts).
    pub stamps: Option<PathBuf>,
    /// With `stamps`: stamp one trade in this many (a power of two; 1 = every trade).
    pub sample_every: u64,
}

/// Why the simulator could not run.
#[derive(Debug)]
pub enum SimError {
    /// A bad option, named with what is valid.
    Options(String),
    /// A file or socket failed.
    Io(std::io::Error),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::Options(e) => f.write_str(e),
            SimError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SimError {}

/// How often a status line is printed.
const STATUS_EVERY: Duration = Duration::from_secs(5);

/// Runs the simulator until `stop`, the duration, or the end of a replay.
pub fn run(options: &SimOptions, stop: &AtomicBool) -> Result<SimulationReport, SimError> {
    check_cores(&options.cores, &crate::config::available_cores())?;
    let source = source(&options.source)?;
    let server = ServerConfig {
        bind: options.addr,
        ping_every: options.ping_every,
        pong_timeout: options.pong_timeout,
        max_connection_age: Some(options.max_age),
        faults: options.faults.clone(),
        cores: options.cores.clone(),
        ..ServerConfig::for_market(options.market)
    };
    let mut sim = Simulation::serve(server, source.symbols().to_vec()).map_err(SimError::Io)?;
    let addr = sim.addr();
    println!("klagg sim listening on {addr}");
    let (stream, raw, rest) = match options.market {
        crate::config::Market::Usdm => ("/market/stream", "/market/ws", "/fapi/v1"),
        crate::config::Market::Spot => ("/stream", "/ws", "/api/v3"),
    };
    println!(
        "  streams: ws://{addr}{stream}?streams=<symbol>@aggTrade/...  and  ws://{addr}{raw}/<stream>"
    );
    println!(
        "  REST:    http://{addr}{rest}/exchangeInfo  {rest}/aggTrades  {rest}/klines  {rest}/time"
    );
    println!(
        "  symbols: {}",
        sim.symbols()
            .iter()
            .map(|s| s.name.as_str())
            .take(10)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let source = if options.wait_for_clients > 0 {
        wait_for_clients(&sim, options.wait_for_clients, stop)?;
        // A market made now starts trading now, not with the backlog of the wait.
        self::source(&options.source)?
    } else {
        source
    };
    if options.stamps.is_some() {
        sim.stamp_writes(WriteStamps::new(
            Sampling::one_in(options.sample_every),
            MAX_WRITE_STAMPS,
        ));
    }
    if let Some(count) = options.count {
        sim.stop_after_sent(count);
    }
    sim.start_market(source, options.record.clone(), false)
        .map_err(SimError::Io)?;
    let started = Instant::now();
    let mut last_status = Instant::now();
    let mut traded = None;
    while !stop.load(Ordering::Acquire)
        && options.duration.is_none_or(|d| started.elapsed() < d)
        && !sim.finished()
    {
        std::thread::sleep(Duration::from_millis(50));
        if options.wait_for_clients > 0 && sim.stats().connections_open == 0 {
            eprintln!("every client disconnected: stopping");
            break;
        }
        if last_status.elapsed() >= STATUS_EVERY {
            last_status = Instant::now();
            println!("{:>6.0}s  {}", started.elapsed().as_secs_f64(), sim.stats());
        }
        if traded.is_none() && options.trade_for.is_some_and(|d| started.elapsed() >= d) {
            traded = Some(sim.stop_market());
            println!("trading stopped; still serving REST and connections until stopped");
        }
    }
    let market = traded.unwrap_or_else(|| sim.stop_market());
    if !sim.wait_until_written(Duration::from_secs(10)) {
        log::warn!("frames still queued to slow connections were not written");
    }
    let names: Vec<String> = sim.symbols().iter().map(|s| s.name.clone()).collect();
    let mut report = sim.stop();
    report.market = market;
    if let (Some(path), Some(stamps)) = (&options.stamps, report.market.write_stamps.take()) {
        let file = stamps.into_file(names);
        file.write(path).map_err(|e| {
            SimError::Options(format!("cannot write stamps to {}: {e}", path.display()))
        })?;
        println!(
            "wrote {} write stamps of {} trades sent to {} ({} dropped)",
            file.stamps.len(),
            file.trades,
            path.display(),
            file.dropped
        );
    }
    Ok(report)
}

/// Most write stamps kept (32 bytes each, reserved up front and touched only as used).
const MAX_WRITE_STAMPS: usize = 8_000_000;

/// How long `--wait-for-clients` waits before giving up.
const CLIENT_WAIT: Duration = Duration::from_secs(120);

/// After the clients connected, time for their SUBSCRIBE requests to land.
const SUBSCRIBE_GRACE: Duration = Duration::from_secs(1);

/// Waits until `clients` WebSocket clients connected (plus time to subscribe), or fails.
fn wait_for_clients(sim: &Simulation, clients: u64, stop: &AtomicBool) -> Result<(), SimError> {
    println!("waiting for {clients} client(s) to connect before trading");
    let deadline = Instant::now() + CLIENT_WAIT;
    while !sim.wait_for_clients(clients, Duration::from_millis(200)) {
        if stop.load(Ordering::Acquire) || Instant::now() >= deadline {
            return Err(SimError::Options(format!(
                "--wait-for-clients {clients}: only {} connected within {} s",
                sim.stats().connections_accepted,
                CLIENT_WAIT.as_secs()
            )));
        }
    }
    std::thread::sleep(SUBSCRIBE_GRACE);
    Ok(())
}

fn source(options: &SourceOptions) -> Result<Box<dyn MarketSource>, SimError> {
    match options {
        SourceOptions::Synthetic {
            symbols,
            rate,
            seed,
            new_listing_after,
            names,
        } => {
            let mut config =
                SyntheticConfig::new((*symbols).max(1), (*rate).max(1), *seed, now_ms());
            config.new_listing_after = *new_listing_after;
            config.names.clone_from(names);
            Ok(Box::new(SyntheticMarket::new(config)))
        }
        SourceOptions::Replay {
            files,
            symbol,
            speed,
        } => {
            let speed = parse_speed(speed)?;
            let inputs = files
                .iter()
                .map(|path| match symbol {
                    Some(symbol) => FileInput::csv(path, symbol),
                    None => FileInput::capture(path),
                })
                .collect();
            let replay = FileReplay::open(FileReplayConfig {
                inputs,
                speed,
                start_ms: now_ms(),
            })
            .map_err(SimError::Io)?;
            Ok(Box::new(replay))
        }
    }
}

/// Every core id must be one this machine has (and below the libc limit the config also checks).
fn check_cores(cores: &[usize], available: &[usize]) -> Result<(), SimError> {
    match cores
        .iter()
        .find(|c| **c >= crate::config::CORE_ID_LIMIT || !available.contains(c))
    {
        Some(bad) => Err(SimError::Options(format!(
            "--cores {bad}: no such core; this machine has cores {}",
            crate::config::format_cores(available)
        ))),
        None => Ok(()),
    }
}

/// `max` or a positive factor.
fn parse_speed(text: &str) -> Result<Speed, SimError> {
    if text == "max" {
        return Ok(Speed::AsFastAsPossible);
    }
    match text.parse::<f64>() {
        Ok(factor) if factor > 0.0 && factor.is_finite() => Ok(Speed::Factor(factor)),
        _ => Err(SimError::Options(format!(
            "invalid --speed {text:?}: expected `max` or a positive factor such as 1 (real time) or 10"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_must_exist() {
        assert!(check_cores(&[0, 1], &[0, 1]).is_ok());
        let err = check_cores(&[0, 7], &[0, 1]).unwrap_err().to_string();
        assert_eq!(err, "--cores 7: no such core; this machine has cores 0, 1");
        assert!(
            check_cores(&[4096], &[4096]).is_err(),
            "ids past the libc limit are refused"
        );
    }

    #[test]
    fn speeds() {
        assert!(matches!(parse_speed("max"), Ok(Speed::AsFastAsPossible)));
        assert!(matches!(parse_speed("2.5"), Ok(Speed::Factor(f)) if f == 2.5));
        for bad in ["0", "-1", "fast", "inf"] {
            assert!(
                parse_speed(bad)
                    .unwrap_err()
                    .to_string()
                    .contains("expected `max`"),
                "{bad}"
            );
        }
    }
}
