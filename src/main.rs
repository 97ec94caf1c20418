//! The `klagg` command line: each subcommand parses its arguments and hands over to the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use klagg::demo::{self, DemoOptions};
use klagg::duration_arg::parse_duration;
use klagg::interval::Interval;
use klagg::latency::{self, RUN_FORM, RunSpec};
use klagg::live::{self, RunOptions};
use klagg::replay::{self, ReplayOptions};
use klagg::sim::blast::BlastOptions;
use klagg::sim::{self, Faults, SimOptions, SourceOptions};

/// Exact, live Binance klines for every symbol and interval, from aggTrade streams.
#[derive(Debug, Parser)]
#[command(name = "klagg", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// See klagg work on this machine, no network needed: a simulated exchange and the real
    /// engine, a live view, and a self-check of every closed kline at the end.
    Demo(DemoArgs),
    /// Run the live engine: connect to the exchange and keep every kline of every symbol live.
    Run(RunArgs),
    /// Check a config file and print the plan: which thread on which core, which symbols on
    /// which connection and shard.
    CheckConfig(CheckConfigArgs),
    /// Rebuild klines offline from Data Vision aggTrades files (.csv or .zip) or WebSocket
    /// captures, writing Data Vision kline CSVs (DIR/SYMBOL-INTERVAL.csv).
    Replay(ReplayArgs),
    /// Run a Binance-compatible market-data exchange on loopback (WebSocket streams and REST),
    /// with a synthetic market or replayed files, and faults on demand.
    Sim(Box<SimArgs>),
    /// A load generator for throughput runs: Binance USD-M's combined streams and
    /// exchangeInfo on loopback, one thread per connection writing pre-encoded aggTrade frames
    /// as fast as the reader takes them; records what it sent for `check-store`.
    Blast(BlastArgs),
    /// Join the stamp files of measured runs (a simulator's and an engine's each) into latency
    /// percentiles, a CSV and an SVG plot, or with --throughput into msgs/s; ends with one
    /// `RESULT engine=...` line per run (see scripts/latency.sh, scripts/throughput.sh).
    LatencyReport(LatencyReportArgs),
    /// Compare every kline a run stored in SQLite with the klines rebuilt from the trades the
    /// simulator recorded (`klagg sim --record DIR`); ends with `klines=N mismatches=N
    /// lost_trades=N` (see scripts/soak.sh). Exits non-zero on any mismatch.
    CheckStore(CheckStoreArgs),
    /// Serve the gateway's Binance-compatible streams and REST klines from NATS (what `klagg
    /// run` publishes with `[nats]`), with no exchange connection (see docs/nats.md).
    Gateway(GatewayArgs),
    /// Report what on this host hurts the latency of the cores the config pins threads to
    /// (isolation, SMT siblings, frequency governor, IRQs, transparent huge pages), each with
    /// its fix. Exits 0 when clean, 2 with findings (0 with --warn-only), 1 on errors.
    CheckHost(CheckHostArgs),
}

#[derive(Debug, Args)]
struct GatewayArgs {
    /// The NATS server, e.g. nats://127.0.0.1:4222.
    #[arg(long, value_name = "URL")]
    nats: String,
    /// Where to serve.
    #[arg(long, default_value = "127.0.0.1:8090")]
    bind: std::net::SocketAddr,
    /// The market whose klines are served: usdm or spot.
    #[arg(long, default_value = "usdm")]
    market: klagg::config::Market,
    /// Intervals served, e.g. 1m,1h, or all.
    #[arg(long, default_value = "all")]
    intervals: String,
    /// The publishers' `[nats] subject_prefix`.
    #[arg(long, default_value = "klagg")]
    prefix: String,
    /// Closed klines kept per symbol and interval for REST.
    #[arg(long, default_value_t = 1_500)]
    history_per_slot: usize,
}

#[derive(Debug, Args)]
struct CheckHostArgs {
    /// The engine's TOML config, whose [threads] cores are checked.
    #[arg(long, value_name = "FILE", default_value = "config/default.toml")]
    config: PathBuf,
    /// Read /sys and /proc under this directory instead of / (for tests and inspecting a
    /// copy of another host's files).
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Print the findings but exit 0 (for provisioning scripts that only want the report).
    #[arg(long)]
    warn_only: bool,
}

#[derive(Debug, Args)]
struct CheckStoreArgs {
    /// Directory of the simulator's recorded SYMBOL-aggTrades.csv files, or of a `klagg blast`
    /// record.
    #[arg(long, value_name = "DIR")]
    trades: PathBuf,
    /// The run's kline database.
    #[arg(long, value_name = "FILE")]
    database: PathBuf,
    /// Intervals to check, e.g. 1s,1m,1h, or all.
    #[arg(long, default_value = "all")]
    intervals: String,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// How long to run, e.g. 30s or 2m [default: until Ctrl-C].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Symbols the simulated market trades.
    #[arg(long, default_value_t = 50)]
    symbols: usize,
    /// Target trades per second over all symbols.
    #[arg(long, default_value_t = 20_000)]
    rate: u32,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The engine's TOML config.
    #[arg(long, value_name = "FILE", default_value = "config/default.toml")]
    config: PathBuf,
    /// Time between status lines.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    status_every: Duration,
    /// Stop after this long instead of at Ctrl-C, e.g. 10m.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Write the latency stamps of the run to this file when it stops (see scripts/latency.sh).
    #[arg(long, value_name = "FILE")]
    stamps: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct LatencyReportArgs {
    /// One engine's run: its name and the stamp files of its simulator and of itself, e.g.
    /// klagg=/tmp/sim1.csv,/tmp/klagg.csv. Repeat for each engine.
    #[arg(long, required = true, value_name = RUN_FORM, value_parser = RunSpec::parse)]
    run: Vec<RunSpec>,
    /// Directory for latency.csv and latency.svg; created if missing.
    #[arg(long, value_name = "DIR", default_value = "target/latency")]
    out: PathBuf,
    /// Report sustained msgs/s and lost trades instead of latency percentiles.
    #[arg(long)]
    throughput: bool,
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

#[derive(Debug, Args)]
struct BlastArgs {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Number of symbols (S0000USDT, S0001USDT, ...).
    #[arg(long, default_value_t = 100)]
    symbols: usize,
    /// Random seed of prices, quantities and sides.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop once this many trades have been sent, over all connections.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Stop after this long [default: until Ctrl-C or --count].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Record what was sent into this directory, for `klagg check-store --trades DIR`.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Pin the writer threads to these cores, round robin, e.g. 0 [default: not pinned].
    #[arg(long, value_delimiter = ',')]
    cores: Vec<usize>,
    /// Bytes of frames per write (about).
    #[arg(long, default_value_t = 256 * 1024, value_name = "BYTES")]
    write_bytes: usize,
    /// Read every stream in this process and throw the frames away: the generator alone.
    #[arg(long)]
    discard: bool,
    /// With --discard: the core of the reader threads.
    #[arg(long, value_name = "CORE")]
    discard_core: Option<usize>,
}

#[derive(Debug, Args)]
struct SimArgs {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// The Binance API to speak: usdm (/market/stream, /fapi/v1) or spot (/stream, /ws,
    /// /api/v3).
    #[arg(long, default_value = "usdm")]
    market: klagg::config::Market,
    /// Synthetic market: number of symbols.
    #[arg(long, default_value_t = 50)]
    symbols: usize,
    /// Synthetic market: target trades per second over all symbols.
    #[arg(long, default_value_t = 20_000)]
    rate: u32,
    /// Synthetic market: random seed (the same seed gives the same market).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Synthetic market: list one new symbol after this long, e.g. 30s.
    #[arg(long, value_parser = parse_duration)]
    new_listing_after: Option<Duration>,
    /// Synthetic market: names of the first symbols, comma-separated, e.g.
    /// BTCUSDT,币安人生USDT (the others are generated).
    #[arg(long, value_delimiter = ',')]
    names: Vec<String>,
    /// Replay these Data Vision aggTrades files (.csv, .zip) or captures instead of a
    /// synthetic market.
    #[arg(long, value_name = "FILE")]
    replay: Vec<PathBuf>,
    /// Symbol of replayed Data Vision files (captures name their own symbols).
    #[arg(long)]
    symbol: Option<String>,
    /// Replay speed: a factor (1 = real time) or `max`.
    #[arg(long, default_value = "1")]
    speed: String,
    /// Write every trade sent as Data Vision CSV into this directory (DIR/SYMBOL-aggTrades.csv).
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Server ping interval (Binance: 3m).
    #[arg(long, value_parser = parse_duration, default_value = "3m")]
    ping_every: Duration,
    /// Disconnect a client that has not answered a ping within this long (Binance: 10m).
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    pong_timeout: Duration,
    /// Disconnect connections at this age (Binance: 24h).
    #[arg(long, value_parser = parse_duration, default_value = "24h")]
    max_age: Duration,
    /// Fault: drop every connection this often.
    #[arg(long, value_parser = parse_duration)]
    drop_every: Option<Duration>,
    /// Fault: drop without sending a close frame first.
    #[arg(long)]
    drop_without_close: bool,
    /// Fault: every this often, stall (send and answer nothing) ...
    #[arg(long, value_parser = parse_duration)]
    stall_every: Option<Duration>,
    /// ... for this long.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    stall_for: Duration,
    /// Fault: garbage frames per second per connection.
    #[arg(long, default_value_t = 0)]
    garbage_per_s: u32,
    /// Fault: send every Nth frame twice.
    #[arg(long, default_value_t = 0)]
    duplicate_every: u32,
    /// Faults: give each connection its own drop and stall periods (0.5x to 1.5x the given
    /// ones), so connections opened together do not fail together.
    #[arg(long)]
    spread_faults: bool,
    /// Faults: take --drop-every and --stall-every for the whole simulator, not per connection:
    /// each drop or stall hits the next connection round robin, and only once the last one is
    /// over (the dropped connection replaced, the stall ended, then a second more), so two
    /// connections carrying the same streams are never both faulted at once.
    #[arg(long)]
    one_fault_at_a_time: bool,
    /// Fault: send a 2 MiB frame this often.
    #[arg(long, value_parser = parse_duration)]
    oversized_every: Option<Duration>,
    /// Stop after this long [default: until Ctrl-C].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Stop trading after this long, but go on serving REST and connections (so a client can
    /// still fetch what it missed) until Ctrl-C or --duration.
    #[arg(long, value_parser = parse_duration)]
    trade_for: Option<Duration>,
    /// Pin the simulator's threads to these cores, e.g. 2,3 [default: not pinned].
    #[arg(long, value_delimiter = ',')]
    cores: Vec<usize>,
    /// Start trading only once this many WebSocket clients have connected.
    #[arg(long, default_value_t = 0, value_name = "N")]
    wait_for_clients: u64,
    /// Stop once this many trades have been sent to connections.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Write when each trade was sent to this stamp file at the end (see scripts/latency.sh).
    #[arg(long, value_name = "FILE")]
    stamps: Option<PathBuf>,
    /// With --stamps: stamp one trade in this many (rounded up to a power of two).
    #[arg(long, default_value_t = 1, value_name = "N")]
    sample_every: u64,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CheckHost(args) => return run_check_host(&args),
        Command::Demo(args) => run_demo(&args),
        Command::Run(args) => run_live(&args),
        Command::CheckConfig(args) => klagg::config::check_config(&args.config)
            .map(|plan| print!("{plan}"))
            .map_err(Into::into),
        Command::Replay(args) => run_replay(args),
        Command::Sim(args) => run_sim(*args),
        Command::Blast(args) => run_blast(args),
        Command::LatencyReport(args) => run_latency_report(&args),
        Command::CheckStore(args) => run_check_store(&args),
        Command::Gateway(args) => run_bus_gateway(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A stop flag set by the first Ctrl-C (or SIGTERM); a second one exits at once.
fn stop_on_ctrl_c() -> Result<Arc<AtomicBool>, ctrlc::Error> {
    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = Arc::clone(&stop);
    ctrlc::set_handler(move || {
        if handler_stop.swap(true, Ordering::AcqRel) {
            std::process::exit(130);
        }
        eprintln!("stopping (Ctrl-C again to exit at once)");
    })?;
    Ok(stop)
}

fn run_demo(args: &DemoArgs) -> Result<(), Box<dyn std::error::Error>> {
    let stop = stop_on_ctrl_c()?;
    let options = DemoOptions {
        duration: args.duration,
        symbols: args.symbols,
        rate: args.rate,
        ..DemoOptions::default()
    };
    let summary = demo::run(&options, &stop)?;
    println!("{summary}");
    let check = &summary.verification;
    if !check.is_exact() {
        return Err(format!(
            "{} klines differ from the simulator's trades, {} are missing, {} trades lost",
            check.mismatches, check.missing, check.lost_trades
        )
        .into());
    }
    Ok(())
}

fn run_live(args: &RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    // Another provider may be installed already (never by klagg); either way TLS works.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stop = stop_on_ctrl_c()?;
    let options = RunOptions {
        config: args.config.clone(),
        status_every: args.status_every.max(Duration::from_secs(1)),
        duration: args.duration,
        stamps: args.stamps.clone(),
    };
    let status = live::run(&options, &stop)?;
    println!("stopped: {}", status.line());
    Ok(())
}

fn run_bus_gateway(args: &GatewayArgs) -> Result<(), Box<dyn std::error::Error>> {
    let stop = stop_on_ctrl_c()?;
    let intervals = if args.intervals == "all" {
        klagg::interval::Interval::standard().to_vec()
    } else {
        klagg::interval::Interval::parse_list(&args.intervals)?
    };
    let options = klagg::nats::bus_gateway::BusGatewayOptions {
        bus: klagg::nats::bus::BusConfig {
            url: args.nats.clone(),
            prefix: args.prefix.clone(),
            market: args.market,
            intervals,
        },
        bind: args.bind,
        history_per_slot: args.history_per_slot,
    };
    klagg::nats::bus_gateway::serve_from_bus(&options, &stop)?;
    Ok(())
}

fn run_check_host(args: &CheckHostArgs) -> ExitCode {
    match klagg::check_host::check_config(&args.config, &args.root) {
        Ok(report) => {
            print!("{report}");
            if report.is_clean() || args.warn_only {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_check_store(args: &CheckStoreArgs) -> Result<(), Box<dyn std::error::Error>> {
    let intervals = if args.intervals == "all" {
        klagg::interval::Interval::standard().to_vec()
    } else {
        klagg::interval::Interval::parse_list(&args.intervals)?
    };
    let report = klagg::check_store::check(&klagg::check_store::CheckOptions {
        trades: args.trades.clone(),
        database: args.database.clone(),
        intervals,
    })?;
    for example in &report.examples {
        println!("  {example}");
    }
    println!(
        "checked {} klines of {} symbols: {} differ, {} missing, {} trades lost",
        report.klines, report.symbols, report.mismatches, report.missing, report.lost_trades
    );
    println!("{}", report.fields());
    if !report.is_exact() {
        return Err("stored klines differ from the recorded trades".into());
    }
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

fn run_sim(args: SimArgs) -> Result<(), Box<dyn std::error::Error>> {
    let stop = stop_on_ctrl_c()?;
    let source = if args.replay.is_empty() {
        SourceOptions::Synthetic {
            symbols: args.symbols,
            rate: args.rate,
            seed: args.seed,
            new_listing_after: args.new_listing_after,
            names: args.names,
        }
    } else {
        SourceOptions::Replay {
            files: args.replay,
            symbol: args.symbol,
            speed: args.speed,
        }
    };
    let options = SimOptions {
        addr: args.addr,
        market: args.market,
        source,
        record: args.record,
        ping_every: args.ping_every,
        pong_timeout: args.pong_timeout,
        max_age: args.max_age,
        faults: Faults {
            drop_every: args.drop_every,
            drop_with_close_frame: !args.drop_without_close,
            stall_every: args.stall_every,
            stall_for: args.stall_for,
            garbage_per_s: args.garbage_per_s,
            duplicate_every: args.duplicate_every,
            oversized_every: args.oversized_every,
            spread: args.spread_faults,
            one_at_a_time: args.one_fault_at_a_time,
        },
        duration: args.duration,
        trade_for: args.trade_for,
        cores: args.cores,
        wait_for_clients: args.wait_for_clients,
        count: args.count,
        stamps: args.stamps,
        sample_every: args.sample_every,
    };
    let report = sim::run(&options, &stop)?;
    println!("{report}");
    Ok(())
}

fn run_blast(args: BlastArgs) -> Result<(), Box<dyn std::error::Error>> {
    let stop = stop_on_ctrl_c()?;
    let options = BlastOptions {
        addr: args.addr,
        symbols: args.symbols,
        seed: args.seed,
        count: args.count,
        duration: args.duration,
        record: args.record,
        cores: args.cores,
        write_bytes: args.write_bytes,
        discard: args.discard,
        discard_core: args.discard_core,
    };
    let report = sim::blast::run(&options, &stop)?;
    println!("{report}");
    Ok(())
}

fn run_latency_report(args: &LatencyReportArgs) -> Result<(), Box<dyn std::error::Error>> {
    latency::check_unique_names(&args.run)?;
    let report = if args.throughput {
        latency::throughput_report(&args.run)?
    } else {
        latency::latency_report(&args.run, &args.out)?
    };
    print!("{report}");
    Ok(())
}
