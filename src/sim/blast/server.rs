//! The blast server: a listener, a thread per client, and for each WebSocket client one writer.
//!
//! A symbol's trades continue across connections: its next id lives in a slot a connection
//! takes when it starts writing and gives back when it ends, so a reconnecting engine gets the
//! ids that follow the last ones it was sent. A symbol already taken by a live connection is
//! not sent on a second one (blast serves each stream once; it is not a redundancy test).

use std::io::{self, ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::frames::FrameBatch;
use super::http::{Request, accept_upgrade, answer_get, read_request};
use super::market::{BlastMarket, FIRST_AGG_ID};
use super::record::{Record, Segment};
use super::writer::{WriterStats, write_trades};
use crate::pipeline::pin_current_thread;

/// How often the accept loop and idle connections look at the stop flag.
const POLL: Duration = Duration::from_millis(20);

/// How a blast server runs.
#[derive(Debug, Clone)]
pub struct BlastConfig {
    /// Listen address (port 0: any free port).
    pub bind: SocketAddr,
    /// Symbols of the market.
    pub symbols: usize,
    /// Seed of the market's trades.
    pub seed: u64,
    /// Trades to send in all, over every connection (`None`: until stopped).
    pub count: Option<u64>,
    /// Bytes per write, about: a batch holds this many bytes of frames.
    pub write_bytes: usize,
    /// Cores for the writer threads, taken round robin (empty: not pinned).
    pub cores: Vec<usize>,
}

/// Counters of a running server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlastStats {
    /// WebSocket clients accepted so far.
    pub clients: u64,
    /// Writers running now.
    pub writing: u64,
    /// Streams asked for that were not sent (unknown, or taken by another connection).
    pub streams_refused: u64,
    /// Trades sent whole so far by writers that ended.
    pub sent: u64,
}

/// What the threads share.
struct Shared {
    market: BlastMarket,
    config: BlastConfig,
    /// Next agg id of each symbol, `None` while a connection has it.
    next_ids: Vec<Mutex<Option<i64>>>,
    budget: AtomicU64,
    stop: AtomicBool,
    clients: AtomicU64,
    writing: AtomicU64,
    streams_refused: AtomicU64,
    next_core: AtomicUsize,
    ended: Mutex<Vec<(Segment, WriterStats)>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// A running blast server.
pub struct BlastServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl BlastServer {
    /// Binds and starts accepting.
    ///
    /// # Errors
    ///
    /// A bad symbol count, or the address cannot be bound.
    pub fn start(config: BlastConfig) -> io::Result<BlastServer> {
        let market = BlastMarket::new(config.symbols, config.seed)
            .map_err(|e| io::Error::new(ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(config.bind)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            next_ids: (0..config.symbols)
                .map(|_| Mutex::new(Some(FIRST_AGG_ID)))
                .collect(),
            budget: AtomicU64::new(config.count.unwrap_or(u64::MAX)),
            market,
            config,
            stop: AtomicBool::new(false),
            clients: AtomicU64::new(0),
            writing: AtomicU64::new(0),
            streams_refused: AtomicU64::new(0),
            next_core: AtomicUsize::new(0),
            ended: Mutex::new(Vec::new()),
            threads: Mutex::new(Vec::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("blast-accept".to_owned())
            .spawn(move || accept_loop(&listener, &accept_shared))?;
        Ok(BlastServer {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The market it sends.
    pub fn market(&self) -> &BlastMarket {
        &self.shared.market
    }

    /// Counters so far.
    pub fn stats(&self) -> BlastStats {
        BlastStats {
            clients: self.shared.clients.load(Ordering::Acquire),
            writing: self.shared.writing.load(Ordering::Acquire),
            streams_refused: self.shared.streams_refused.load(Ordering::Acquire),
            sent: locked(&self.shared.ended)
                .iter()
                .map(|(s, _)| s.frames)
                .sum(),
        }
    }

    /// True once a `count` was given, it is all sent, and no writer is running.
    pub fn finished(&self) -> bool {
        self.shared.config.count.is_some()
            && self.shared.budget.load(Ordering::Acquire) == 0
            && self.shared.writing.load(Ordering::Acquire) == 0
    }

    /// Stops every thread and returns what was sent, with each writer's own measurements.
    pub fn stop(mut self) -> (Record, Vec<WriterStats>) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        loop {
            let threads: Vec<JoinHandle<()>> = locked(&self.shared.threads).drain(..).collect();
            if threads.is_empty() {
                break;
            }
            for thread in threads {
                let _ = thread.join();
            }
        }
        let ended = std::mem::take(&mut *locked(&self.shared.ended));
        let stats = ended.iter().map(|(_, s)| *s).collect();
        let record = Record {
            seed: self.shared.market.seed(),
            symbols: self.shared.market.names().len(),
            segments: ended.into_iter().map(|(s, _)| s).collect(),
        };
        (record, stats)
    }
}

impl Drop for BlastServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((stream, _)) => {
                let client_shared = Arc::clone(shared);
                let spawned = std::thread::Builder::new()
                    .name("blast-client".to_owned())
                    .spawn(move || serve_client(stream, &client_shared));
                match spawned {
                    Ok(thread) => locked(&shared.threads).push(thread),
                    Err(e) => log::warn!("blast: cannot start a client thread: {e}"),
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) => {
                log::warn!("blast: accept failed: {e}");
                std::thread::sleep(POLL);
            }
        }
    }
}

fn serve_client(mut stream: TcpStream, shared: &Shared) {
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    match read_request(&mut stream) {
        Ok(Request::Get(path)) => {
            if let Err(e) = answer_get(&mut stream, &path, &shared.market) {
                log::debug!("blast: answering {path}: {e}");
            }
        }
        Ok(Request::Streams { streams, key }) => {
            if accept_upgrade(&mut stream, &key).is_ok() {
                shared.clients.fetch_add(1, Ordering::AcqRel);
                serve_streams(stream, &streams, shared);
            }
        }
        Err(e) => log::debug!("blast: a bad request: {e}"),
    }
}

/// The market symbol a stream name asks for, if it is an aggTrade stream of the market.
fn stream_symbol(market: &BlastMarket, stream: &str) -> Option<u32> {
    let (name, kind) = stream.split_once('@')?;
    if !kind.eq_ignore_ascii_case("aggTrade") {
        return None;
    }
    let index: usize = name.get(1..5)?.parse().ok()?;
    market
        .names()
        .get(index)?
        .eq_ignore_ascii_case(name)
        .then_some(index as u32)
}

fn serve_streams(mut stream: TcpStream, streams: &[String], shared: &Shared) {
    let mut symbols = Vec::new();
    let mut ids = Vec::new();
    for name in streams {
        let taken = stream_symbol(&shared.market, name).and_then(|s| {
            locked(&shared.next_ids[s as usize])
                .take()
                .map(|id| (s, id))
        });
        match taken {
            Some((symbol, id)) => {
                symbols.push(symbol);
                ids.push(id);
            }
            None if name.starts_with('!') => {}
            None => {
                shared.streams_refused.fetch_add(1, Ordering::AcqRel);
            }
        }
    }
    if !symbols.is_empty() {
        shared.writing.fetch_add(1, Ordering::AcqRel);
        let core = (!shared.config.cores.is_empty()).then(|| {
            let n = shared.next_core.fetch_add(1, Ordering::AcqRel);
            shared.config.cores[n % shared.config.cores.len()]
        });
        pin_current_thread("blast writer", core);
        let frame_len = FrameBatch::new(&shared.market, &symbols[..1], 1).frame_len();
        let per_symbol = (shared.config.write_bytes / frame_len / symbols.len()).max(1);
        let mut batch = FrameBatch::new(&shared.market, &symbols, per_symbol);
        let _ = stream.set_nodelay(true);
        // A reader that stops reading must not keep the writer from seeing a stop.
        let _ = stream.set_write_timeout(Some(POLL * 5));
        let (segment, stats) = write_trades(
            &mut stream,
            &shared.market,
            &mut batch,
            &mut ids,
            &shared.budget,
            &shared.stop,
        );
        for (symbol, id) in symbols.iter().zip(&ids) {
            *locked(&shared.next_ids[*symbol as usize]) = Some(*id);
        }
        if segment.frames > 0 {
            locked(&shared.ended).push((segment, stats));
        }
        shared.writing.fetch_sub(1, Ordering::AcqRel);
    }
    hold_open(&mut stream, shared);
}

/// Keeps a connection open, discarding what the client sends, until it closes or the server
/// stops: a client whose trades are all sent waits quietly instead of reconnecting.
fn hold_open(stream: &mut TcpStream, shared: &Shared) {
    if stream.set_read_timeout(Some(POLL * 5)).is_err() {
        return;
    }
    let mut sink = [0u8; 4096];
    while !shared.stop.load(Ordering::Acquire) {
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_map_to_symbols() {
        let market = BlastMarket::new(12, 1).unwrap();
        assert_eq!(stream_symbol(&market, "s0011usdt@aggTrade"), Some(11));
        assert_eq!(stream_symbol(&market, "S0003USDT@aggtrade"), Some(3));
        assert_eq!(stream_symbol(&market, "s0012usdt@aggTrade"), None);
        assert_eq!(stream_symbol(&market, "s0001usdt@kline_1m"), None);
        assert_eq!(stream_symbol(&market, "!miniTicker@arr"), None);
        assert_eq!(stream_symbol(&market, "btcusdt@aggTrade"), None);
    }
}
