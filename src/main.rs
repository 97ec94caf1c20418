//! The `klagg` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use klagg::interval::Interval;
use klagg::live::{self, RunOptions};
use klagg::replay::{self, ReplayOptions};

/// Exact, live Binance klines for every symbol and interval, from aggTrade streams.
#[derive(Debug, Parser)]
#[command(name = "klagg", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the live engine: connect to the exchange and keep every kline of every symbol live.
    Run(RunArgs),
    /// Check a config file and print the plan: which thread on which core, which symbols on
    /// which connection and shard.
    CheckConfig(CheckConfigArgs),
    /// Rebuild klines offline from Data Vision aggTrades files (.csv or .zip) or WebSocket
    /// captures, writing Data Vision kline CSVs (DIR/SYMBOL-INTERVAL.csv).
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The engine's TOML config.
    #[arg(long, value_name = "FILE", default_value = "config/default.toml")]
    config: PathBuf,
    /// Seconds between status lines.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    status_every: u64,
    /// Stop after this many seconds instead of at Ctrl-C.
    #[arg(long, value_name = "SECONDS")]
    duration: Option<u64>,
}

#[derive(Debug, Args)]
struct CheckConfigArgs {
    /// The engine's TOML config.
    #[arg(long, value_name = "FILE", default_value = "config/default.toml")]
    config: PathBuf,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// Symbol of the trades, e.g. BTCUSDT; names the outputs and selects trades in captures.
    #[arg(long)]
    symbol: String,
    /// Comma-separated intervals, e.g. 1m,5m,1w,1M [default: all 16 Binance intervals].
    #[arg(long)]
    intervals: Option<String>,
    /// Directory for the kline files; created if missing.
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// Skip unparseable rows (counted, the first few shown) instead of stopping at the first.
    #[arg(long)]
    skip_bad: bool,
    /// Input files, read in this order as one stream of trades.
    #[arg(value_name = "INPUT")]
    inputs: Vec<PathBuf>,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run_live(&args),
        Command::CheckConfig(args) => klagg::config::check_config(&args.config)
            .map(|plan| print!("{plan}"))
            .map_err(Into::into),
        Command::Replay(args) => run_replay(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Installs the process-wide TLS crypto provider once, then runs until Ctrl-C (a second
/// Ctrl-C exits at once).
fn run_live(args: &RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    // Another provider may be installed already (never by klagg); either way TLS works.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = Arc::clone(&stop);
    ctrlc::set_handler(move || {
        if handler_stop.swap(true, Ordering::AcqRel) {
            std::process::exit(130);
        }
        eprintln!("stopping (Ctrl-C again to exit at once)");
    })?;
    let options = RunOptions {
        config: args.config.clone(),
        status_every: Duration::from_secs(args.status_every.max(1)),
        duration: args.duration.map(Duration::from_secs),
    };
    let status = live::run(&options, &stop)?;
    println!("stopped: {}", status.line());
    Ok(())
}

fn run_replay(args: ReplayArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = ReplayOptions::new(&args.symbol, args.out_dir, args.inputs);
    if let Some(list) = &args.intervals {
        options.intervals = Interval::parse_list(list)?;
    }
    options.skip_bad = args.skip_bad;
    let summary = replay::run(&options)?;
    print!("{summary}");
    Ok(())
}
