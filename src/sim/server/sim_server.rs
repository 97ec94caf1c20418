//! The server's lifecycle: bind, accept on one thread, one thread per connection, and a stop
//! that closes everything and joins every thread.

use std::io;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::config::ServerConfig;
use super::dispatch;
use super::hub::Hub;
use super::lock::lock;
use super::market::MarketState;
use super::publisher::Publisher;
use super::stats::SimServerStats;
use super::symbols::SymbolTable;
use super::written::WrittenStamps;
use crate::pipeline::pin_current_thread;
use crate::sim::SymbolSpec;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(10);
/// Bound on the connection that wakes the accept thread at stop.
const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// A Binance-compatible exchange on one port (WebSocket streams and REST), on its own threads.
/// Dropping it stops it like [`SimServer::stop`].
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    hub: Arc<Hub>,
    accept_thread: Option<JoinHandle<()>>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl SimServer {
    /// Binds `config.bind` and starts accepting. `symbols` are every symbol the market will
    /// ever trade, indexed as in [`crate::sim::SimTrade::symbol`]; those without a listing
    /// time are listed from the start.
    ///
    /// # Errors
    ///
    /// Binding fails, the accept thread cannot be spawned, a symbol name breaks
    /// [`crate::symbol_name`]'s rule (frames carry names unescaped), or
    /// `config.kline_intervals` is empty or too long for a shard (`InvalidInput`).
    pub fn start(config: ServerConfig, symbols: Vec<SymbolSpec>) -> io::Result<SimServer> {
        for spec in &symbols {
            crate::symbol_name::check(&spec.name).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("cannot serve symbol {:?}: {e}", spec.name),
                )
            })?;
        }
        let market = MarketState::new(
            &symbols,
            config.kline_intervals.clone(),
            config.history_per_symbol,
        )
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let listener = TcpListener::bind(config.bind)?;
        let addr = listener.local_addr()?;
        let table = SymbolTable::for_market(symbols, config.market);
        let hub = Arc::new(Hub::new(config, table, market));
        let threads = Arc::new(Mutex::new(Vec::new()));
        let accept_thread = {
            let (hub, threads) = (Arc::clone(&hub), Arc::clone(&threads));
            thread::Builder::new()
                .name("sim-accept".into())
                .spawn(move || {
                    pin_current_thread("sim-accept", hub.config.cores.first().copied());
                    accept_loop(&listener, &hub, &threads)
                })?
        };
        Ok(SimServer {
            addr,
            hub,
            accept_thread: Some(accept_thread),
            threads,
        })
    }

    /// The Binance API the server speaks.
    pub fn market(&self) -> crate::config::Market {
        self.hub.config.market
    }

    /// The combined-stream URL an engine connects to, e.g. `ws://127.0.0.1:9443/market/stream`
    /// (spot: `.../stream`).
    pub fn stream_url(&self) -> String {
        let api = super::market_api::MarketApi::of(self.hub.config.market);
        format!("ws://{}{}", self.addr, api.combined_path)
    }

    /// The cores the server's threads are pinned to (empty: not pinned).
    pub fn config_cores(&self) -> &[usize] {
        &self.hub.config.cores
    }

    /// Capacity of each connection's send queue, in frames.
    pub fn config_send_queue(&self) -> usize {
        self.hub.config.send_queue
    }

    /// The bound address (with the port picked when `bind` had port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stamps every frame of a trade `stamps` picks once a connection has written it (only
    /// the first call counts).
    pub fn stamp_writes(&self, stamps: Arc<WrittenStamps>) {
        let _ = self.hub.written.set(stamps);
    }

    /// A handle for the market thread to publish through.
    pub fn publisher(&self) -> Publisher {
        Publisher::new(Arc::clone(&self.hub))
    }

    /// Drops the WebSocket connection open the longest, as the `drop_every` fault would (the
    /// client sees the same); false if none is open.
    pub fn drop_oldest_connection(&self) -> bool {
        self.hub.routes.drop_oldest()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SimServerStats {
        self.hub.counters.snapshot()
    }

    /// Closes every connection (with a close frame) and joins every thread. Takes a few
    /// milliseconds, bounded by the close linger and request-head waits (well under a second).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(accept_thread) = self.accept_thread.take() else {
            return;
        };
        self.hub.begin_stop();
        // The accept thread blocks in `accept`; a connection of our own wakes it to see the flag.
        let _ = TcpStream::connect_timeout(&wake_addr(self.addr), WAKE_TIMEOUT);
        let _ = accept_thread.join();
        let threads = std::mem::take(&mut *lock(&self.threads));
        for thread in threads {
            let _ = thread.join();
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Where to connect to reach the listener (an unspecified bind address accepts on loopback).
fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

fn accept_loop(listener: &TcpListener, hub: &Arc<Hub>, threads: &Mutex<Vec<JoinHandle<()>>>) {
    let mut accepted_count = 0usize;
    loop {
        let accepted = listener.accept();
        if hub.is_stopping() {
            return;
        }
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                log::warn!("sim: accept failed: {e}");
                thread::sleep(ACCEPT_RETRY);
                continue;
            }
        };
        let hub = Arc::clone(hub);
        accepted_count += 1;
        let cores = &hub.config.cores;
        let core = (!cores.is_empty()).then(|| cores[accepted_count % cores.len()]);
        let spawned = thread::Builder::new()
            .name("sim-conn".into())
            .spawn(move || {
                pin_current_thread("sim-conn", core);
                dispatch::handle(hub, stream)
            });
        match spawned {
            Ok(handle) => {
                let mut threads = lock(threads);
                // Joined as they finish so a long run does not keep every handle.
                threads.retain(|thread| !thread.is_finished());
                threads.push(handle);
            }
            Err(e) => log::warn!("sim: cannot spawn a connection thread: {e}"),
        }
    }
}
