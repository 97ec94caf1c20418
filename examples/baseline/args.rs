//! The baseline's command line, checked before anything connects.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, Parser, error::ErrorKind};
use klagg::duration_arg::parse_duration;

/// Most streams the exchange (and `klagg sim`) accepts on one connection.
const MAX_STREAMS_PER_CONNECTION: usize = 1024;

/// The tokio pipeline klagg replaces, measured against the same simulator: combined aggTrade
/// streams to klines of the 16 intervals to a consumer task.
#[derive(Debug, Parser)]
#[command(name = "baseline")]
pub struct Args {
    /// Combined-stream endpoint, e.g. ws://127.0.0.1:PORT/market/stream (plain ws:// only).
    #[arg(long, value_parser = parse_url)]
    pub url: String,
    /// Comma-separated symbols, e.g. BTCUSDT,ETHUSDT; a symbol's index in this list numbers it
    /// in the stamp file.
    #[arg(long, value_delimiter = ',', required = true, value_parser = parse_symbol)]
    pub symbols: Vec<String>,
    /// Write latency stamps (frame_read, pushed, updated, delivered) to this file at the end.
    #[arg(long, value_name = "FILE")]
    pub stamps: Option<PathBuf>,
    /// Stamp one trade in N (rounded up to a power of two, by last trade id).
    #[arg(long, default_value_t = 1)]
    pub sample_every: u64,
    /// Most stamps kept over all tasks [default: 200,000 trades/s for --duration, at most
    /// 20,000,000]; stamps past it are counted as dropped.
    #[arg(long)]
    pub max_stamps: Option<usize>,
    /// Stop after this long, e.g. 30s [default: until Ctrl-C, SIGTERM or every connection
    /// closed].
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Worker threads of the tokio runtime.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub worker_threads: u16,
    /// Streams per WebSocket connection; more symbols open more connections, one task each.
    #[arg(long, default_value_t = 200)]
    pub streams_per_connection: usize,
}

impl Args {
    /// Parses the command line and checks what clap cannot check field by field; exits with
    /// a usage error otherwise.
    pub fn parse_checked() -> Args {
        let args = Args::parse();
        if let Err(message) = args.check() {
            Args::command()
                .error(ErrorKind::ValueValidation, message)
                .exit();
        }
        args
    }

    fn check(&self) -> Result<(), String> {
        let mut seen = HashSet::new();
        if let Some(repeated) = self.symbols.iter().find(|s| !seen.insert(s.as_str())) {
            return Err(format!("--symbols: {repeated} is listed twice"));
        }
        if !(1..=MAX_STREAMS_PER_CONNECTION).contains(&self.streams_per_connection) {
            return Err(format!(
                "--streams-per-connection {}: expected 1 to {MAX_STREAMS_PER_CONNECTION}",
                self.streams_per_connection
            ));
        }
        if self.max_stamps == Some(0) {
            return Err("--max-stamps 0: to record no stamps, leave out --stamps".into());
        }
        Ok(())
    }
}

/// A plain `ws://` URL without a query (the streams are appended).
fn parse_url(text: &str) -> Result<String, String> {
    if text.starts_with("wss://") {
        return Err("wss:// needs TLS, which the baseline is built without".into());
    }
    if !text.starts_with("ws://") {
        return Err(format!(
            "expected ws://HOST:PORT/market/stream, got {text:?}"
        ));
    }
    if text.contains('?') {
        return Err("leave out the query: ?streams=... is built from --symbols".into());
    }
    Ok(text.to_string())
}

/// A symbol name, upper case as the exchange writes it in events.
fn parse_symbol(text: &str) -> Result<String, String> {
    let symbol = text.trim();
    if symbol.is_empty() || !symbol.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "invalid symbol {text:?}: expected letters and digits, like BTCUSDT"
        ));
    }
    Ok(symbol.to_ascii_uppercase())
}
