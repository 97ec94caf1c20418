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
use super::simulation::{Simulation, SimulationConfig, SimulationReport};
use super::types::{Faults, MarketSource};
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
    /// Cores to pin the simulator's threads to (empty: not pinned).
    pub cores: Vec<usize>,
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
        ..ServerConfig::default()
    };
    let sim = Simulation::start(SimulationConfig {
        server,
        source,
        record: options.record.clone(),
        keep_trades: false,
    })
    .map_err(SimError::Io)?;
    let addr = sim.addr();
    println!("klagg sim listening on {addr}");
    println!(
        "  streams: ws://{addr}/market/stream?streams=<symbol>@aggTrade/...  and  ws://{addr}/market/ws/<stream>"
    );
    println!(
        "  REST:    http://{addr}/fapi/v1/exchangeInfo  /fapi/v1/aggTrades  /fapi/v1/klines  /fapi/v1/time"
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
    let started = Instant::now();
    let mut last_status = Instant::now();
    while !stop.load(Ordering::Acquire)
        && options.duration.is_none_or(|d| started.elapsed() < d)
        && !sim.finished()
    {
        std::thread::sleep(Duration::from_millis(50));
        if last_status.elapsed() >= STATUS_EVERY {
            last_status = Instant::now();
            println!("{:>6.0}s  {}", started.elapsed().as_secs_f64(), sim.stats());
        }
    }
    Ok(sim.stop())
}

fn source(options: &SourceOptions) -> Result<Box<dyn MarketSource>, SimError> {
    match options {
        SourceOptions::Synthetic {
            symbols,
            rate,
            seed,
            new_listing_after,
        } => {
            let mut config =
                SyntheticConfig::new((*symbols).max(1), (*rate).max(1), *seed, now_ms());
            config.new_listing_after = *new_listing_after;
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
