//! Offline replay: Binance trade files in, Data Vision kline files out, through the same
//! aggregator that runs live.
//!
//! Inputs are Data Vision aggTrades CSVs (plain or zipped, futures or spot, millisecond or
//! microsecond times) and WebSocket captures, read in the order given and fed to one shard as
//! one symbol; overlapping trades between inputs are dropped by the shard's agg-id dedupe and
//! counted. Each interval is written to `DIR/SYMBOL-LABEL.csv` with every kline from the first
//! traded period to the last, empty periods included, so the files can be compared row by row
//! with Binance's own.
//!
//! ```no_run
//! use klagg::interval::Interval;
//! use klagg::replay::{ReplayOptions, run};
//!
//! let mut options = ReplayOptions::new("BTCUSDT", "out".into(), vec!["aggTrades.csv".into()]);
//! options.intervals = Interval::parse_list("1m,1h").unwrap();
//! let summary = run(&options).unwrap();
//! print!("{summary}");
//! ```

// The simulator's file replay reads the same inputs through these.
pub(crate) mod capture;
pub mod datavision;
mod error;
mod kline_csv;
mod progress;
mod reader;
mod replayer;
pub(crate) mod source;
mod summary;

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::aggregator::MAX_INTERVALS;
use crate::interval::Interval;
use crate::symbol_name::{self, SymbolNameError};

pub use error::{BadRow, FieldRef, ReplayError, RowProblem};
pub use source::InputKind;
pub use summary::{InputSummary, OutputSummary, ReplaySummary};

use kline_csv::KlineCsvWriter;
use progress::Progress;
use reader::RowPolicy;
use replayer::Replayer;

/// What to replay and where to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    /// The symbol: names the output files (ASCII letters upper-cased, so `币安人生usdt` writes
    /// `币安人生USDT-1m.csv`) and selects trades in captures.
    pub symbol: String,
    /// Intervals to write, one file each.
    pub intervals: Vec<Interval>,
    /// Directory of the output files; created if missing.
    pub out_dir: PathBuf,
    /// Count and report unparseable rows instead of stopping at the first one.
    pub skip_bad: bool,
    /// Inputs, read in this order.
    pub inputs: Vec<PathBuf>,
    /// Print progress to stderr on long runs.
    pub progress: bool,
}

impl ReplayOptions {
    /// All 16 standard intervals, stopping at bad rows, with progress reports.
    pub fn new(symbol: &str, out_dir: PathBuf, inputs: Vec<PathBuf>) -> ReplayOptions {
        ReplayOptions {
            symbol: symbol.to_owned(),
            intervals: Interval::standard().to_vec(),
            out_dir,
            skip_bad: false,
            inputs,
            progress: true,
        }
    }

    /// The file `interval` is written to: `DIR/SYMBOL-LABEL.csv`, named like Data Vision's
    /// kline files (`1M` is labelled `1mo`).
    pub fn output_path(&self, interval: Interval) -> PathBuf {
        let symbol = symbol_name::exchange_case(&self.symbol);
        self.out_dir
            .join(format!("{symbol}-{}.csv", interval.file_label()))
    }

    /// Checks everything that can be checked before any output is written.
    fn validate(&self) -> Result<(), ReplayError> {
        let usage = |message: String| Err(ReplayError::Usage(message));
        // The symbol becomes part of a file name; the rule keeps `/` and control characters out.
        match symbol_name::check(&self.symbol) {
            Ok(()) => {}
            Err(SymbolNameError::Empty) => return usage("the symbol is empty".into()),
            Err(e) => return usage(format!("invalid symbol {:?}: {e}", self.symbol)),
        }
        if self.intervals.is_empty() {
            return usage("no intervals given".into());
        }
        if self.intervals.len() > MAX_INTERVALS {
            return usage(format!(
                "{} intervals given: at most {MAX_INTERVALS} can be replayed at once",
                self.intervals.len()
            ));
        }
        let mut paths = HashSet::new();
        for &interval in &self.intervals {
            if !paths.insert(self.output_path(interval)) {
                return usage(format!("interval {interval} is given twice"));
            }
        }
        if self.inputs.is_empty() {
            return usage("no input files given".into());
        }
        for path in &self.inputs {
            check_readable(path)?;
        }
        Ok(())
    }
}

/// Fails early, before outputs are created, on inputs that cannot be opened.
fn check_readable(path: &Path) -> Result<(), ReplayError> {
    let input_error = |source| ReplayError::Input {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(input_error)?;
    if file.metadata().map_err(input_error)?.is_dir() {
        return Err(input_error(std::io::Error::other("is a directory")));
    }
    Ok(())
}

/// Replays every input into the kline files and says what it did.
///
/// # Errors
///
/// Bad options, unreadable inputs or outputs, and (unless `skip_bad`) the first unparseable
/// row, named by file, line and field. Files written before the error are left as they are.
pub fn run(options: &ReplayOptions) -> Result<ReplaySummary, ReplayError> {
    options.validate()?;
    let mut progress = Progress::new(options.progress);
    fs::create_dir_all(&options.out_dir).map_err(|source| ReplayError::Output {
        path: options.out_dir.clone(),
        source,
    })?;
    let writers = options
        .intervals
        .iter()
        .map(|&interval| KlineCsvWriter::create(&options.output_path(interval)))
        .collect::<Result<Vec<_>, _>>()?;
    let paths: Vec<PathBuf> = writers.iter().map(|w| w.path().to_path_buf()).collect();
    let mut replayer = Replayer::new(options.intervals.clone(), writers);

    let policy = RowPolicy {
        symbol: &options.symbol,
        skip_bad: options.skip_bad,
    };
    let mut inputs = Vec::with_capacity(options.inputs.len());
    for path in &options.inputs {
        let summary = source::with_input(path, |input| {
            reader::replay_input(path, input, policy, &mut replayer, &mut progress)
        })?;
        inputs.push(summary);
    }

    let (stats, rows) = replayer.finish()?;
    let outputs = options
        .intervals
        .iter()
        .zip(paths)
        .zip(rows)
        .map(|((&interval, path), klines)| OutputSummary {
            interval,
            path,
            klines,
        })
        .collect();
    Ok(ReplaySummary {
        symbol: symbol_name::exchange_case(&options.symbol),
        inputs,
        outputs,
        stats,
        elapsed: progress.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: &Path, inputs: Vec<PathBuf>) -> ReplayOptions {
        let mut o = ReplayOptions::new("btcusdt", dir.join("out"), inputs);
        o.intervals = Interval::parse_list("1m,1M").unwrap();
        o.progress = false;
        o
    }

    fn error_text(o: &ReplayOptions) -> String {
        run(o).unwrap_err().to_string()
    }

    #[test]
    fn output_names_follow_data_vision() {
        let o = options(Path::new("/d"), vec![]);
        assert_eq!(
            o.output_path(Interval::parse("1M").unwrap()),
            Path::new("/d/out/BTCUSDT-1mo.csv")
        );
        assert_eq!(
            o.output_path(Interval::parse("1m").unwrap()),
            Path::new("/d/out/BTCUSDT-1m.csv")
        );
    }

    #[test]
    fn non_ascii_symbols_name_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("t.csv");
        fs::write(&input, "1,10,1,1,1,60000,true\n2,11,1,2,3,60001,false\n").unwrap();
        let mut o = options(dir.path(), vec![input]);
        o.symbol = "币安人生usdt".into();
        assert_eq!(
            o.output_path(Interval::parse("1m").unwrap()),
            dir.path().join("out/币安人生USDT-1m.csv")
        );
        let summary = run(&o).unwrap();
        assert_eq!(summary.symbol, "币安人生USDT");
        let text = fs::read_to_string(dir.path().join("out/币安人生USDT-1m.csv")).unwrap();
        assert!(text.starts_with("60000,10.00000000,11.00000000,"), "{text}");
        assert!(dir.path().join("out/币安人生USDT-1mo.csv").exists());
    }

    #[test]
    fn bad_options_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("t.csv");
        fs::write(&input, "1,1,1,1,1,60000,true\n").unwrap();
        let good = options(dir.path(), vec![input.clone()]);
        assert!(
            error_text(&ReplayOptions {
                symbol: String::new(),
                ..good.clone()
            })
            .contains("symbol is empty")
        );
        assert!(
            error_text(&ReplayOptions {
                symbol: "../x".into(),
                ..good.clone()
            })
            .contains("\"../x\"")
        );
        assert!(
            error_text(&ReplayOptions {
                inputs: vec![],
                ..good.clone()
            })
            .contains("no input files")
        );
        let missing = dir.path().join("missing.csv");
        let text = error_text(&ReplayOptions {
            inputs: vec![input.clone(), missing.clone()],
            ..good.clone()
        });
        assert!(text.contains(&missing.display().to_string()), "{text}");
        let twice = Interval::parse_list("1m,5m")
            .unwrap()
            .into_iter()
            .chain([Interval::parse("1m").unwrap()]);
        assert!(
            error_text(&ReplayOptions {
                intervals: twice.collect(),
                ..good.clone()
            })
            .contains("1m is given twice")
        );
        assert!(
            !good.out_dir.exists(),
            "nothing is written before the options are checked"
        );
    }

    #[test]
    fn overlapping_inputs_are_deduplicated_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        fs::write(&a, "1,10,1,1,1,60000,true\n2,11,1,2,3,60001,false\n").unwrap();
        fs::write(&b, "2,11,1,2,3,60001,false\n3,12,1,4,4,120000,true\n").unwrap();
        let summary = run(&options(dir.path(), vec![a, b])).unwrap();
        assert_eq!(summary.stats.trades, 3);
        assert_eq!(summary.stats.duplicates, 1);
        assert_eq!(
            (summary.inputs[1].duplicates, summary.inputs[1].applied),
            (1, 1)
        );
        let month = summary.output(Interval::parse("1M").unwrap()).unwrap();
        assert_eq!(month.klines, 1);
        let text = fs::read_to_string(dir.path().join("out/BTCUSDT-1m.csv")).unwrap();
        assert_eq!(
            text,
            "60000,10.00000000,11.00000000,10.00000000,11.00000000,2.00000000,119999,21.00000000,3,1.00000000,11.00000000,0\n\
             120000,12.00000000,12.00000000,12.00000000,12.00000000,1.00000000,179999,12.00000000,1,0.00000000,0.00000000,0\n"
        );
    }

    #[test]
    fn skipped_bad_rows_are_counted_per_input() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        fs::write(&a, "1,10,1,1,1,60000,true\n2,1x,1,2,2,60001,true\n\n3,10,1,3,3,60002,maybe\n4,10,1,4,4,60003,true\n")
            .unwrap();
        let strict = options(dir.path(), vec![a.clone()]);
        let text = error_text(&strict);
        assert!(text.contains("a.csv:2: field 2 (price) \"1x\""), "{text}");
        let summary = run(&ReplayOptions {
            skip_bad: true,
            ..strict
        })
        .unwrap();
        assert_eq!(
            (summary.bad_rows(), summary.stats.trades, summary.stats.gaps),
            (2, 2, 1)
        );
    }
}
