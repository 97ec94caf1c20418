//! The `klagg` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use klagg::interval::Interval;
use klagg::replay::{self, ReplayError, ReplayOptions};

/// Exact, live Binance klines for every symbol and interval, from aggTrade streams.
#[derive(Debug, Parser)]
#[command(name = "klagg", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Rebuild klines offline from Data Vision aggTrades files (.csv or .zip) or WebSocket
    /// captures, writing Data Vision kline CSVs (DIR/SYMBOL-INTERVAL.csv).
    Replay(ReplayArgs),
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

fn run_replay(args: ReplayArgs) -> Result<(), ReplayError> {
    let mut options = ReplayOptions::new(&args.symbol, args.out_dir, args.inputs);
    if let Some(list) = &args.intervals {
        options.intervals = Interval::parse_list(list)?;
    }
    options.skip_bad = args.skip_bad;
    let summary = replay::run(&options)?;
    print!("{summary}");
    Ok(())
}
