//! `klagg check-store`: every kline a run stored in SQLite against the klines rebuilt from the
//! trades the simulator recorded (`klagg sim --record DIR`), for soak runs: none wrong, none
//! missing, and how many trades the stored klines lack.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::interval::Interval;
use crate::kline::Kline;
use crate::replay::datavision::{is_header, parse_row};
use crate::store::KlineStore;

/// Periods that ended at least this long before a symbol's last recorded trade must be stored:
/// the engine closes a period once its close grace (1.5 s) has passed.
const SETTLED_MS: i64 = 5_000;

/// Suffix of the recorder's files.
const SUFFIX: &str = "-aggTrades.csv";

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Directory of `SYMBOL-aggTrades.csv` files.
    pub trades: PathBuf,
    /// The run's kline database.
    pub database: PathBuf,
    /// Intervals to check (the run's, or some of them).
    pub intervals: Vec<Interval>,
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Symbols checked.
    pub symbols: usize,
    /// Klines compared.
    pub klines: u64,
    /// Stored klines that differ from the rebuilt ones, or that no trade explains.
    pub mismatches: u64,
    /// Settled klines with trades that the database does not hold.
    pub missing: u64,
    /// Raw trades the stored klines of the finest interval lack.
    pub lost_trades: u64,
    /// The first few differences, described.
    pub examples: Vec<String>,
}

/// How many differences are described.
const EXAMPLES: usize = 5;

impl CheckReport {
    /// `klines=N mismatches=N lost_trades=N`, for the soak script's RESULT line.
    pub fn fields(&self) -> String {
        format!(
            "klines={} mismatches={} lost_trades={}",
            self.klines,
            self.mismatches + self.missing,
            self.lost_trades
        )
    }

    fn differ(&mut self, what: String) {
        if self.examples.len() < EXAMPLES {
            self.examples.push(what);
        }
    }
}

/// Checks every recorded symbol.
///
/// # Errors
///
/// The trades directory or a file in it cannot be read, a row is not a Data Vision row, or
/// the database cannot be opened or read; each names what failed.
pub fn check(options: &CheckOptions) -> Result<CheckReport, String> {
    let store = KlineStore::open(&options.database).map_err(|e| e.to_string())?;
    let mut files: Vec<PathBuf> = fs::read_dir(&options.trades)
        .map_err(|e| format!("cannot read {}: {e}", options.trades.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.to_string_lossy().ends_with(SUFFIX))
        .collect();
    files.sort();
    let mut report = CheckReport::default();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(SUFFIX).to_owned())
            .unwrap_or_default();
        check_symbol(&name, path, &store, &options.intervals, &mut report)?;
        report.symbols += 1;
    }
    Ok(report)
}

fn check_symbol(
    name: &str,
    path: &Path,
    store: &KlineStore,
    intervals: &[Interval],
    report: &mut CheckReport,
) -> Result<(), String> {
    let (rebuilt, last_ms) = rebuild(path, intervals)?;
    for (index, interval) in intervals.iter().enumerate() {
        let stored: HashMap<i64, Kline> = store
            .klines(name, *interval, None, None, usize::MAX / 2)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|k| (k.open_time, k))
            .collect();
        let finest = index == 0;
        for (key, kline) in rebuilt.iter().filter(|(key, _)| key.0 == index) {
            if kline.close_time + SETTLED_MS > last_ms {
                continue;
            }
            report.klines += 1;
            match stored.get(&key.1) {
                Some(found) if found == kline => {}
                Some(found) => {
                    report.mismatches += 1;
                    if finest {
                        report.lost_trades += (kline.count - found.count).max(0) as u64;
                    }
                    report.differ(format!(
                        "{name} {interval} {}: stored {found:?}, rebuilt {kline:?}",
                        key.1
                    ));
                }
                None if kline.count > 0 => {
                    report.missing += 1;
                    if finest {
                        report.lost_trades += kline.count as u64;
                    }
                    report.differ(format!("{name} {interval} {}: not stored", key.1));
                }
                // An empty period the engine's clock never reached before it stopped.
                None => {}
            }
        }
        for (open, found) in &stored {
            let explained = rebuilt.contains_key(&(index, *open));
            if !explained && *open <= last_ms && found.count > 0 {
                report.mismatches += 1;
                report.differ(format!(
                    "{name} {interval} {open}: stored {found:?}, no such trades"
                ));
            }
        }
    }
    Ok(())
}

/// Klines by (interval index, open time).
type Klines = HashMap<(usize, i64), Kline>;

/// The klines of a symbol's recorded trades and the time of its last trade.
fn rebuild(path: &Path, intervals: &[Interval]) -> Result<(Klines, i64), String> {
    let file = fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut trades = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if line.is_empty() || (n == 0 && is_header(line.as_bytes())) {
            continue;
        }
        let trade = parse_row(line.as_bytes(), 0)
            .map_err(|e| format!("{}:{}: {:?}: {}", path.display(), n + 1, e.text, e.cause))?;
        trades.push(trade);
    }
    let last_ms = trades
        .iter()
        .map(|t| t.trade_time_ms)
        .max()
        .unwrap_or(i64::MIN);
    let klines = crate::demo::rebuild(intervals, 1, trades)
        .into_iter()
        .map(|((_, interval, open), kline)| ((usize::from(interval), open), kline))
        .collect();
    Ok((klines, last_ms))
}
