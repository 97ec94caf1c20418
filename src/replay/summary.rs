//! What a replay did, per input and in total, printed at the end of a run.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::aggregator::ShardStats;
use crate::interval::Interval;

use super::progress::per_second;
use super::source::InputKind;

/// What happened to the rows of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSummary {
    /// The input as named in messages.
    pub name: String,
    /// Its format.
    pub kind: InputKind,
    /// Non-empty lines read, header and skipped frames included.
    pub rows: u64,
    /// Trades read and handed to the aggregator.
    pub trades: u64,
    /// Of those, trades applied to the klines.
    pub applied: u64,
    /// Trades dropped because their agg id was already seen (overlap with an earlier input).
    pub duplicates: u64,
    /// Trades dropped for impossible numbers (price 0, first trade id above last, ...).
    pub invalid: u64,
    /// Jumps in agg ids before a trade of this input.
    pub gaps: u64,
    /// Unparseable rows skipped (only with `skip_bad`).
    pub bad_rows: u64,
    /// Capture frames of other event types or symbols.
    pub skipped_events: u64,
}

impl InputSummary {
    /// Zero counts for an input about to be read.
    pub fn new(name: String, kind: InputKind) -> InputSummary {
        InputSummary {
            name,
            kind,
            rows: 0,
            trades: 0,
            applied: 0,
            duplicates: 0,
            invalid: 0,
            gaps: 0,
            bad_rows: 0,
            skipped_events: 0,
        }
    }
}

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSummary {
    /// Its interval.
    pub interval: Interval,
    /// Where it was written.
    pub path: PathBuf,
    /// Klines written, empty periods and the final open kline included.
    pub klines: u64,
}

/// Everything a replay did.
#[derive(Debug, Clone)]
pub struct ReplaySummary {
    /// The replayed symbol, as used in output names.
    pub symbol: String,
    /// Per input, in the order read.
    pub inputs: Vec<InputSummary>,
    /// Per interval, in the order given.
    pub outputs: Vec<OutputSummary>,
    /// The aggregator's counters: trades applied, duplicates, gaps, corrections, ...
    pub stats: ShardStats,
    /// Wall time of the whole replay.
    pub elapsed: Duration,
}

impl ReplaySummary {
    /// Bad rows skipped over all inputs.
    pub fn bad_rows(&self) -> u64 {
        self.inputs.iter().map(|i| i.bad_rows).sum()
    }

    /// The output of `interval`, if it was replayed.
    pub fn output(&self, interval: Interval) -> Option<&OutputSummary> {
        self.outputs.iter().find(|o| o.interval == interval)
    }
}

impl fmt::Display for ReplaySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        writeln!(
            f,
            "replayed {} from {} input(s) in {:.3} s ({} trades/s)",
            self.symbol,
            self.inputs.len(),
            self.elapsed.as_secs_f64(),
            per_second(s.trades, self.elapsed)
        )?;
        for i in &self.inputs {
            write!(
                f,
                "  {} ({}): {} rows, {} trades, {} applied, {} duplicates, {} invalid, {} bad rows skipped",
                i.name, i.kind, i.rows, i.trades, i.applied, i.duplicates, i.invalid, i.bad_rows
            )?;
            if i.kind == InputKind::Capture {
                write!(f, ", {} other frames", i.skipped_events)?;
            }
            writeln!(f)?;
        }
        writeln!(f, "trades applied: {}", s.trades)?;
        writeln!(f, "duplicates dropped: {}", s.duplicates)?;
        writeln!(f, "invalid trades dropped: {}", s.invalid)?;
        writeln!(
            f,
            "gaps: {} ({} missing agg ids)",
            s.gaps, s.missing_agg_ids
        )?;
        writeln!(
            f,
            "late trades: {} corrections, {} dropped",
            s.corrections, s.late_dropped
        )?;
        writeln!(f, "bad rows skipped: {}", self.bad_rows())?;
        writeln!(f, "klines written:")?;
        for o in &self.outputs {
            writeln!(
                f,
                "  {:>3}  {:>9}  {}",
                o.interval,
                o.klines,
                o.path.display()
            )?;
        }
        Ok(())
    }
}
