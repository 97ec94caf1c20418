//! Replaying recorded trades (Data Vision CSVs, captures) as a live market, re-based onto the
//! wall clock and sped up or not, keeping every id so gap and dedupe logic meet real data.

use std::collections::HashMap;
use std::io;
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::sim::{MarketSource, SimTrade, SymbolSpec};

use super::MAX_TRADES_PER_POLL;
use super::file_input::{FileInput, read_trades};
use super::input_stream::InputStream;

/// How fast recorded trades are replayed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Recorded time runs this many times faster (`1.0` is real time); must be positive.
    Factor(f64),
    /// Every trade is due at once, with its times re-based as at factor 1.
    AsFastAsPossible,
}

/// What to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReplayConfig {
    /// The files; trades of all of them are merged in time order.
    pub inputs: Vec<FileInput>,
    /// How fast.
    pub speed: Speed,
    /// Wall-clock time (ms) the earliest trade is moved to.
    pub start_ms: i64,
}

/// A [`MarketSource`] replaying files.
///
/// A trade recorded at `t` is sent at `start_ms + (t - t0) / factor` (rounded down), `t0` being
/// the earliest trade over all inputs, and carries that time; agg ids, trade ids, prices,
/// quantities and sides are as recorded. Times never go backwards: a trade recorded before one
/// already sent (possible across symbols in a capture) takes the previous trade's time. Symbols
/// are listed in order of first appearance, each with the most fractional digits its prices
/// and quantities are written with.
///
/// Opening reads every file once to learn its symbols; replaying reads them again, streaming.
pub struct FileReplay {
    specs: Vec<SymbolSpec>,
    streams: Vec<InputStream>,
    /// Recorded ms per replayed ms.
    factor: f64,
    as_fast_as_possible: bool,
    start_ms: i64,
    /// Earliest recorded trade time.
    first_ms: i64,
    /// Time of the last trade sent, so times never decrease.
    last_ms: i64,
    trades: u64,
    error: Option<String>,
}

impl FileReplay {
    /// Reads the inputs once for their symbols and starts streaming them.
    ///
    /// # Errors
    ///
    /// A speed factor that is not positive and finite, a file that cannot be read, or a line
    /// that is not a trade of its format (named by file and line).
    pub fn open(config: FileReplayConfig) -> io::Result<FileReplay> {
        let (factor, as_fast_as_possible) = match config.speed {
            Speed::Factor(f) if f.is_finite() && f > 0.0 => (f, false),
            Speed::Factor(f) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("replay speed factor {f} is not a positive number"),
                ));
            }
            Speed::AsFastAsPossible => (1.0, true),
        };
        let mut specs: Vec<SymbolSpec> = Vec::new();
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut first_ms = i64::MAX;
        let mut trades = 0u64;
        for input in &config.inputs {
            read_trades(input, &mut |t| {
                let symbol = *index.entry(t.symbol.to_owned()).or_insert_with(|| {
                    specs.push(SymbolSpec {
                        name: t.symbol.to_owned(),
                        price_decimals: 0,
                        quantity_decimals: 0,
                        listed_at_ms: None,
                    });
                    (specs.len() - 1) as u32
                });
                let spec = &mut specs[symbol as usize];
                spec.price_decimals = spec.price_decimals.max(t.price_digits);
                spec.quantity_decimals = spec.quantity_decimals.max(t.quantity_digits);
                first_ms = first_ms.min(t.trade.time_ms);
                trades += 1;
                ControlFlow::Continue(())
            })?;
        }
        let index = Arc::new(index);
        let streams = config
            .inputs
            .into_iter()
            .map(|input| InputStream::spawn(input, Arc::clone(&index)))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(FileReplay {
            specs,
            streams,
            factor,
            as_fast_as_possible,
            start_ms: config.start_ms,
            first_ms,
            last_ms: i64::MIN,
            trades,
            error: None,
        })
    }

    /// Trades in all inputs, as counted when they were opened.
    pub fn total_trades(&self) -> u64 {
        self.trades
    }

    /// Why reading stopped early, if a file failed after it was opened (it then counts as
    /// ended; the error is also logged).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The replayed time of a trade recorded at `recorded_ms`.
    fn rebase(&self, recorded_ms: i64) -> i64 {
        let elapsed = recorded_ms.saturating_sub(self.first_ms);
        let scaled = if self.factor == 1.0 {
            elapsed
        } else {
            (elapsed as f64 / self.factor).floor() as i64
        };
        self.start_ms.saturating_add(scaled)
    }

    /// The input holding the earliest next trade, and that trade (ties go to the first input).
    fn next_trade(&mut self) -> Option<(usize, SimTrade)> {
        let mut best: Option<(usize, SimTrade)> = None;
        for (index, stream) in self.streams.iter_mut().enumerate() {
            match stream.peek() {
                Ok(Some(trade)) => {
                    if best.is_none_or(|(_, b)| trade.time_ms < b.time_ms) {
                        best = Some((index, trade));
                    }
                }
                Ok(None) => {}
                Err(message) => {
                    log::error!("replay: {message}");
                    self.error.get_or_insert(message);
                }
            }
        }
        best
    }
}

impl MarketSource for FileReplay {
    fn symbols(&self) -> &[SymbolSpec] {
        &self.specs
    }

    /// Appends the trades due by `now_ms` (all remaining ones, as fast as possible), at most
    /// [`MAX_TRADES_PER_POLL`] at a time; false once every file is sent.
    fn poll(&mut self, now_ms: i64, out: &mut Vec<SimTrade>) -> bool {
        let first = out.len();
        while out.len() - first < MAX_TRADES_PER_POLL {
            let Some((stream, trade)) = self.next_trade() else {
                return false;
            };
            let time_ms = self.rebase(trade.time_ms).max(self.last_ms);
            if !self.as_fast_as_possible && time_ms > now_ms {
                return true;
            }
            self.streams[stream].advance();
            self.last_ms = time_ms;
            out.push(SimTrade { time_ms, ..trade });
        }
        true
    }
}
