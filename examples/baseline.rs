//! The baseline: the pipeline of the system klagg replaces, as a user of the usual stack writes
//! it, measured by the same scripts against the same simulator (`scripts/latency.sh`,
//! `scripts/throughput.sh`).
//!
//! tokio multi-thread runtime; one tokio-tungstenite connection task per group of symbols; each
//! frame becomes a `String`, then a `serde_json::Value`; prices parse as `f64`; the symbol is
//! looked up in an `Arc<RwLock<HashMap>>`; trades go over a bounded tokio `mpsc` to an
//! aggregator task keeping a kline per symbol and each of the 16 intervals (1s to 1M) in a
//! `HashMap<(String, usize), Kline>`, which sends the 16 klines each trade updated over
//! another `mpsc` to a consumer task, as klagg keeps and delivers them. Nothing here is part
//! of the engine.
//!
//! ```text
//! cargo run --release --example baseline -- --url ws://127.0.0.1:PORT/market/stream \
//!     --symbols BTCUSDT,ETHUSDT [--stamps FILE] [--sample-every N] [--duration 30s]
//! ```
//!
//! It stops at `--duration`, Ctrl-C, SIGTERM or when every connection has closed, lets the
//! queued trades drain, writes the stamp file and prints
//! `baseline: trades=<n> stamps=<n> dropped=<n>`.

#[path = "baseline/aggregator.rs"]
mod aggregator;
#[path = "baseline/args.rs"]
mod args;
#[path = "baseline/connection.rs"]
mod connection;
#[path = "baseline/consumer.rs"]
mod consumer;
#[path = "baseline/stamps.rs"]
mod stamps;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use klagg::latency::{Sampling, Stamp, StampFile};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use args::Args;
use stamps::Recorder;

/// Capacity of each channel: the usual "big enough" bound.
const CHANNEL_CAPACITY: usize = 10_000;
/// Trades per second the default stamp budget allows for over `--duration`.
const BUDGETED_TRADES_PER_S: f64 = 200_000.0;
/// Most stamps kept by default (32 bytes each, preallocated).
const MAX_DEFAULT_STAMPS: usize = 20_000_000;
/// Stages stamped per trade: frame_read, pushed, updated, delivered.
const STAGES: usize = 4;

fn main() -> ExitCode {
    let args = Args::parse_checked();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(args.worker_threads))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("baseline: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match runtime.block_on(run(&args)) {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("baseline: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Off the runtime: the file can be large, and nothing is measured any more.
    drop(runtime);
    let stamps = outcome.file.stamps.len();
    if let Some(path) = &args.stamps
        && let Err(e) = outcome.file.write(path)
    {
        eprintln!("baseline: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    eprintln!(
        "baseline: frames={} bad_frames={} klines_delivered={}",
        outcome.frames, outcome.bad_frames, outcome.klines
    );
    println!(
        "baseline: trades={} stamps={stamps} dropped={}",
        outcome.file.trades, outcome.file.dropped
    );
    ExitCode::SUCCESS
}

/// What a run measured.
struct Outcome {
    /// Every task's stamps, the symbol names and the trades applied.
    file: StampFile,
    /// Text frames read over all connections.
    frames: u64,
    /// Frames that were not a trade of a listed symbol.
    bad_frames: u64,
    /// Klines the consumer received.
    klines: u64,
}

/// Runs the pipeline until a stop, then drains it and gathers what every task measured.
async fn run(args: &Args) -> Result<Outcome, String> {
    // Registered before connecting, so a signal at any point stops the run cleanly.
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;

    let index: HashMap<String, usize> = args
        .symbols
        .iter()
        .enumerate()
        .map(|(i, symbol)| (symbol.clone(), i))
        .collect();
    let symbols: connection::SymbolIndex = Arc::new(RwLock::new(index));
    let groups: Vec<&[String]> = args.symbols.chunks(args.streams_per_connection).collect();

    // Every buffer is allocated before the first frame arrives.
    let budget = stamp_budget(args);
    let sampling = Sampling::one_in(args.sample_every);
    let recorder = |capacity: usize| match args.stamps {
        Some(_) => Recorder::new(capacity, sampling),
        None => Recorder::disabled(),
    };
    let aggregator_stamps = recorder(budget / STAGES);
    let consumer_stamps = recorder(budget / STAGES);
    let connection_stamps: Vec<Recorder> = groups
        .iter()
        .map(|group| recorder(budget / 2 * group.len() / args.symbols.len()))
        .collect();

    let (trades_in, trades_out) = mpsc::channel(CHANNEL_CAPACITY);
    let (klines_in, klines_out) = mpsc::channel(CHANNEL_CAPACITY);
    let (shutdown, shutdown_seen) = watch::channel(false);
    let aggregator = tokio::spawn(aggregator::run(trades_out, klines_in, aggregator_stamps));
    let consumer = tokio::spawn(consumer::run(klines_out, consumer_stamps));

    let mut connections = JoinSet::new();
    for (group, stamps) in groups.iter().zip(connection_stamps) {
        let socket = connection::connect(&args.url, group).await?;
        connections.spawn(connection::run(
            socket,
            Arc::clone(&symbols),
            trades_in.clone(),
            shutdown_seen.clone(),
            stamps,
        ));
    }
    // The aggregator's input closes when the last connection task drops its sender.
    drop(trades_in);

    let deadline = async {
        match args.duration {
            Some(duration) => tokio::time::sleep(duration).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let mut reports = Vec::new();
    loop {
        let stop = tokio::select! {
            () = &mut deadline, if !*shutdown.borrow() => true,
            _ = interrupt.recv() => true,
            _ = terminate.recv() => true,
            joined = connections.join_next() => match joined {
                Some(report) => {
                    reports.push(report.map_err(|e| format!("a connection task failed: {e}"))?);
                    false
                }
                None => break,
            },
        };
        if stop {
            shutdown.send_replace(true);
        }
    }

    let aggregated = aggregator
        .await
        .map_err(|e| format!("the aggregator task failed: {e}"))?;
    let consumed = consumer
        .await
        .map_err(|e| format!("the consumer task failed: {e}"))?;

    let mut file = StampFile {
        names: args.symbols.clone(),
        trades: aggregated.trades,
        ..StampFile::default()
    };
    let (mut frames, mut bad_frames) = (0, 0);
    let mut recorders = vec![aggregated.stamps, consumed.stamps];
    for report in reports {
        if let Some(reason) = &report.ended_by {
            eprintln!("baseline: a connection ended: {reason}");
        }
        frames += report.frames;
        bad_frames += report.bad_frames;
        recorders.push(report.stamps);
    }
    for recorder in recorders {
        let (stamps, dropped) = recorder.into_parts();
        append(&mut file.stamps, stamps);
        file.dropped += dropped;
    }
    Ok(Outcome {
        file,
        frames,
        bad_frames,
        klines: consumed.klines,
    })
}

/// Stamps kept over all tasks: `--max-stamps`, or enough for 200,000 trades/s over
/// `--duration`, at most 20 million.
fn stamp_budget(args: &Args) -> usize {
    if let Some(max) = args.max_stamps {
        return max;
    }
    let every = Sampling::one_in(args.sample_every).every() as f64;
    match args.duration {
        Some(duration) => {
            let trades = duration.as_secs_f64() * BUDGETED_TRADES_PER_S / every;
            ((trades * STAGES as f64).ceil() as usize).min(MAX_DEFAULT_STAMPS)
        }
        None => MAX_DEFAULT_STAMPS,
    }
}

/// Moves `more` onto the end of `all`, reusing the larger buffer.
fn append(all: &mut Vec<Stamp>, mut more: Vec<Stamp>) {
    if more.len() > all.len() {
        std::mem::swap(all, &mut more);
    }
    all.extend(more);
}
