//! The floor: the least any WebSocket client can do with the simulator's frames, measured by
//! `scripts/latency.sh` beside klagg and the baseline, on the same cores. One combined-stream
//! connection per 200 symbols, tungstenite over non-blocking sockets, polled in a spin; each
//! text frame's symbol and last trade id are found by a byte search, and it is stamped as read
//! and delivered at once. No parsing, no rings, no klines: what is left is the socket.
//!
//! ```text
//! cargo run --release --example floor -- --url ws://127.0.0.1:PORT/market/stream \
//!     --symbols BTCUSDT,ETHUSDT --stamps FILE [--max-stamps N]
//! ```
//!
//! It stops on SIGINT or when every connection has closed, writes the stamp file and prints
//! `floor: frames=<n> stamps=<n> dropped=<n>`.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use klagg::latency::{Stage, Stamp, StampFile, monotonic_ns};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// Streams per connection, as klagg and the baseline open them.
const STREAMS_PER_CONNECTION: usize = 200;

/// The floor's command line.
#[derive(Debug, Parser)]
#[command(name = "floor")]
struct Args {
    /// Combined-stream endpoint, e.g. ws://127.0.0.1:PORT/market/stream.
    #[arg(long)]
    url: String,
    /// Comma-separated symbols; a symbol's index in this list numbers it in the stamp file.
    #[arg(long, value_delimiter = ',', required = true)]
    symbols: Vec<String>,
    /// Where to write the stamps at the end.
    #[arg(long)]
    stamps: PathBuf,
    /// Most frames stamped (two stamps each); later ones are counted as dropped.
    #[arg(long, default_value_t = 8_000_000)]
    max_stamps: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        eprintln!("floor: cannot handle SIGINT: {e}");
        return ExitCode::FAILURE;
    }
    let mut sockets = Vec::new();
    for group in args.symbols.chunks(STREAMS_PER_CONNECTION) {
        let streams: Vec<String> = group
            .iter()
            .map(|s| format!("{}@aggTrade", s.to_ascii_lowercase()))
            .collect();
        let url = format!("{}?streams={}", args.url, streams.join("/"));
        match connect(&url) {
            Ok(socket) => sockets.push(socket),
            Err(e) => {
                eprintln!("floor: cannot connect to {url}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let mut stamps: Vec<Stamp> = Vec::with_capacity(args.max_stamps);
    let (mut frames, mut dropped) = (0u64, 0u64);
    let mut open = sockets.len();
    while open > 0 && !stop.load(Ordering::Relaxed) {
        open = 0;
        for socket in &mut sockets {
            let Some(ws) = socket else { continue };
            open += 1;
            match ws.read() {
                Ok(Message::Text(text)) => {
                    let at_ns = monotonic_ns();
                    frames += 1;
                    let Some((symbol, trade_id)) = key(text.as_bytes(), &args.symbols) else {
                        continue;
                    };
                    if stamps.len() + 2 > stamps.capacity() {
                        dropped += 1;
                        continue;
                    }
                    for stage in [Stage::FrameRead, Stage::Delivered] {
                        stamps.push(Stamp {
                            stage,
                            symbol,
                            trade_id,
                            at_ns,
                            event_ms: 0,
                        });
                    }
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                    std::hint::spin_loop();
                }
                Err(_) => *socket = None,
            }
        }
    }
    let file = StampFile {
        names: args.symbols.clone(),
        trades: frames,
        dropped,
        stamps,
    };
    if let Err(e) = file.write(&args.stamps) {
        eprintln!("floor: cannot write {}: {e}", args.stamps.display());
        return ExitCode::FAILURE;
    }
    println!(
        "floor: frames={frames} stamps={} dropped={dropped}",
        file.stamps.len()
    );
    ExitCode::SUCCESS
}

/// Connects (blocking), then makes the socket non-blocking for the spin.
fn connect(url: &str) -> Result<Option<WebSocket<MaybeTlsStream<TcpStream>>>, String> {
    let (socket, _) = tungstenite::connect(url).map_err(|e| e.to_string())?;
    if let MaybeTlsStream::Plain(tcp) = socket.get_ref() {
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
    }
    Ok(Some(socket))
}

/// The symbol index (in `names`) and last trade id of an aggTrade frame, by byte search.
fn key(frame: &[u8], names: &[String]) -> Option<(u32, i64)> {
    let symbol = value_after(frame, b"\"s\":\"")?;
    let end = symbol.iter().position(|&b| b == b'"')?;
    let index = names.iter().position(|n| n.as_bytes() == &symbol[..end])?;
    let last = value_after(frame, b"\"l\":")?;
    let digits = last.iter().take_while(|b| b.is_ascii_digit()).count();
    let trade_id = std::str::from_utf8(&last[..digits]).ok()?.parse().ok()?;
    Some((index as u32, trade_id))
}

fn value_after<'a>(frame: &'a [u8], label: &[u8]) -> Option<&'a [u8]> {
    let at = frame.windows(label.len()).position(|w| w == label)?;
    Some(&frame[at + label.len()..])
}
