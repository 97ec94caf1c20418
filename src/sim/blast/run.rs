//! `klagg blast` as a command: serve until the count is sent, the duration is over or Ctrl-C;
//! optionally read its own frames with a discarding reader; record; report the rate.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::discard::{DiscardReader, discard_streams};
use super::frames::FrameBatch;
use super::server::{BlastConfig, BlastServer};
use super::writer::WriterStats;
use crate::sim::SimError;

/// How often the run looks at its stop conditions.
const TICK: Duration = Duration::from_millis(20);

/// How long the discarding reader may take to read what is in flight at the end.
const READER_DRAIN: Duration = Duration::from_secs(5);

/// Everything `klagg blast` takes.
#[derive(Debug, Clone)]
pub struct BlastOptions {
    /// Listen address (port 0: any free port).
    pub addr: SocketAddr,
    /// Symbols of the market.
    pub symbols: usize,
    /// Seed of the trades.
    pub seed: u64,
    /// Stop once this many trades were sent.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Write the record of every trade sent into this directory.
    pub record: Option<PathBuf>,
    /// Cores for the writer threads (empty: not pinned).
    pub cores: Vec<usize>,
    /// Bytes per write, about.
    pub write_bytes: usize,
    /// Read every stream with a discarding reader in this process (the generator alone).
    pub discard: bool,
    /// Core of the discarding reader.
    pub discard_core: Option<usize>,
}

/// What a blast run did.
#[derive(Debug, Clone, PartialEq)]
pub struct BlastReport {
    /// Trades sent whole.
    pub sent: u64,
    /// Seconds from the first write's start to the last write's end (over all writers).
    pub seconds: f64,
    /// CPU ns the writer threads used per trade sent.
    pub cpu_ns_per_trade: f64,
    /// Frames the discarding reader read (with `discard`).
    pub read: Option<u64>,
    /// WebSocket clients served.
    pub clients: u64,
    /// Streams asked for that were not sent.
    pub streams_refused: u64,
}

impl BlastReport {
    /// Trades sent per second of writing.
    pub fn msgs_per_s(&self) -> f64 {
        if self.seconds > 0.0 {
            self.sent as f64 / self.seconds
        } else {
            0.0
        }
    }

    fn from_writers(stats: &[WriterStats]) -> BlastReport {
        let sent: u64 = stats.iter().map(|s| s.frames).sum();
        let first = stats
            .iter()
            .filter(|s| s.first_write_ns > 0)
            .map(|s| s.first_write_ns)
            .min()
            .unwrap_or(0);
        let last = stats.iter().map(|s| s.last_write_ns).max().unwrap_or(0);
        let cpu: u64 = stats.iter().map(|s| s.cpu_ns).sum();
        BlastReport {
            sent,
            seconds: last.saturating_sub(first) as f64 / 1e9,
            cpu_ns_per_trade: if sent > 0 {
                cpu as f64 / sent as f64
            } else {
                0.0
            },
            read: None,
            clients: 0,
            streams_refused: 0,
        }
    }
}

impl std::fmt::Display for BlastReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "blast: sent={} seconds={:.3} msgs_per_s={:.0} cpu_ns_per_trade={:.1} clients={} streams_refused={}",
            self.sent,
            self.seconds,
            self.msgs_per_s(),
            self.cpu_ns_per_trade,
            self.clients,
            self.streams_refused
        )?;
        if let Some(read) = self.read {
            write!(f, " read={read} lost={}", self.sent.saturating_sub(read))?;
        }
        Ok(())
    }
}

/// Runs a blast server until `stop`, the duration, or (with a count) everything is sent.
///
/// # Errors
///
/// Bad options, the address cannot be bound, the discarding reader cannot connect, or the
/// record cannot be written.
pub fn run(options: &BlastOptions, stop: &AtomicBool) -> Result<BlastReport, SimError> {
    if options.count.is_none() && options.duration.is_none() && options.discard {
        return Err(SimError::Options(
            "--discard needs --count or --duration: the reader never ends on its own".to_owned(),
        ));
    }
    let server = BlastServer::start(BlastConfig {
        bind: options.addr,
        symbols: options.symbols,
        seed: options.seed,
        count: options.count,
        write_bytes: options.write_bytes.max(1),
        cores: options.cores.clone(),
    })
    .map_err(SimError::Io)?;
    let addr = server.addr();
    println!("klagg blast listening on {addr}");
    println!(
        "  streams: ws://{addr}/market/stream?streams=s0000usdt@aggTrade/...  REST: http://{addr}/fapi/v1/exchangeInfo"
    );
    let reader = if options.discard {
        let streams = discard_streams(server.market().names());
        Some(DiscardReader::start(addr, &streams, options.discard_core).map_err(SimError::Io)?)
    } else {
        None
    };
    let started = Instant::now();
    while !stop.load(Ordering::Acquire)
        && options.duration.is_none_or(|d| started.elapsed() < d)
        && !server.finished()
    {
        std::thread::sleep(TICK);
    }
    let frame_len = FrameBatch::new(server.market(), &[0], 1).frame_len() as u64;
    let stats = server.stats();
    // Stopping the server closes its sockets; the reader reads what is still in flight up to
    // the close.
    let (record, writers) = server.stop();
    let read = reader.map(|reader| reader.finish(READER_DRAIN) / frame_len);
    let mut report = BlastReport::from_writers(&writers);
    report.read = read;
    report.clients = stats.clients;
    report.streams_refused = stats.streams_refused;
    if let Some(dir) = &options.record {
        record.save(dir).map_err(|e| {
            SimError::Options(format!("cannot write the record to {}: {e}", dir.display()))
        })?;
        println!(
            "recorded {} trades in {}",
            record.trades_sent(),
            dir.display()
        );
    }
    Ok(report)
}
