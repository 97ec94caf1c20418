//! `klagg check-store`: every kline a run stored in SQLite against the independent oracle
//! built from the trades the simulator recorded (`klagg sim --record DIR`), for soak runs.
//!
//! Nothing is skipped: every stored kline of every interval, the klines still open when the
//! engine stopped included, must equal the oracle's; every kline the recorded trades make, from
//! a symbol's first trade to its last stored kline, must be stored; and the trades the stored
//! klines of the finest interval lack are counted as lost.
//!
//! The trades come from the recorder's CSV files, or, when the directory holds a `klagg blast`
//! record ([`blast::RECORD_FILE`]), are regenerated from it.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::aggregator::KlineRecord;
use crate::interval::Interval;
use crate::oracle::{Checker, Completeness, OracleTrade, Verification};
use crate::replay::datavision::{is_header, parse_row};
use crate::sim::blast;
use crate::store::KlineStore;

/// Suffix of the recorder's files.
const SUFFIX: &str = "-aggTrades.csv";

/// How many differences are described.
const EXAMPLES: usize = 5;

/// Symbols between two progress lines.
const PROGRESS_EVERY: usize = 100;

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
    /// Stored klines compared.
    pub klines: u64,
    /// Stored klines that differ from the oracle's, or that no recorded trade explains.
    pub mismatches: u64,
    /// Klines of the recorded trades that the database does not hold.
    pub missing: u64,
    /// Recorded raw trades that the stored klines of the finest interval lack.
    pub lost_trades: u64,
    /// The first few differences, described.
    pub examples: Vec<String>,
}

impl CheckReport {
    /// `klines=N mismatches=N lost_trades=N`, for the soak script's RESULT line; missing klines
    /// count as mismatches.
    pub fn fields(&self) -> String {
        format!(
            "klines={} mismatches={} lost_trades={}",
            self.klines,
            self.mismatches + self.missing,
            self.lost_trades
        )
    }

    /// True when every stored kline is right and none is missing.
    pub fn is_exact(&self) -> bool {
        self.mismatches == 0 && self.missing == 0 && self.lost_trades == 0
    }

    fn add(&mut self, found: Verification) {
        self.klines += found.verified + found.mismatches;
        self.mismatches += found.mismatches;
        self.missing += found.missing;
        self.lost_trades += found.lost_trades;
        let room = EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(found.examples.into_iter().take(room));
    }
}

/// Checks every recorded symbol, and every stored symbol that has no recorded trades (any
/// kline with a trade is then a mismatch). Prints a progress line to stderr every 100
/// symbols.
///
/// # Errors
///
/// The trades directory or a file in it cannot be read, a row is not a Data Vision row, the
/// database cannot be opened or read, or an interval has no oracle layout; each names what
/// failed.
pub fn check(options: &CheckOptions) -> Result<CheckReport, String> {
    let store = KlineStore::open(&options.database).map_err(|e| e.to_string())?;
    let blast = blast::Record::load(&options.trades)?;
    let blast_market = blast.as_ref().map(blast::Record::market).transpose()?;
    let mut names: Vec<String> = fs::read_dir(&options.trades)
        .map_err(|e| format!("cannot read {}: {e}", options.trades.display()))?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            file.strip_suffix(SUFFIX).map(str::to_owned)
        })
        .collect();
    if let Some(market) = &blast_market {
        names.extend(market.names().iter().cloned());
    }
    names.extend(store.symbols().map_err(|e| e.to_string())?);
    names.sort();
    names.dedup();
    let mut report = CheckReport::default();
    for (n, name) in names.iter().enumerate() {
        let path = options.trades.join(format!("{name}{SUFFIX}"));
        let blast_index = blast_market
            .as_ref()
            .and_then(|m| m.names().iter().position(|n| n == name));
        let trades = if let (Some(record), Some(market), Some(index)) =
            (&blast, &blast_market, blast_index)
        {
            let trades = record.trades_of(market, index as u32);
            trades.iter().map(OracleTrade::from).collect()
        } else if path.exists() {
            read_trades(&path)?
        } else {
            Vec::new()
        };
        report.add(check_symbol(name, trades, &store, &options.intervals)?);
        report.symbols += 1;
        if (n + 1) % PROGRESS_EVERY == 0 {
            eprintln!("check-store: {}/{} symbols checked", n + 1, names.len());
        }
    }
    Ok(report)
}

/// One symbol's stored klines of every interval against the oracle of its `trades`.
fn check_symbol(
    name: &str,
    trades: Vec<OracleTrade>,
    store: &KlineStore,
    intervals: &[Interval],
) -> Result<Verification, String> {
    let mut stored = Vec::new();
    for (index, interval) in intervals.iter().enumerate() {
        let klines = store
            .klines(name, *interval, None, None, usize::MAX / 2)
            .map_err(|e| e.to_string())?;
        stored.extend(klines.into_iter().map(|kline| KlineRecord {
            symbol: 0,
            interval: index as u16,
            correction: false,
            kline,
        }));
    }
    let checker = Checker::new(intervals, trades.into_iter().map(|t| (0, t)))?
        .with_names(vec![name.to_owned()]);
    Ok(checker.check(&stored, Completeness::Every))
}

/// The trades of one recorder file.
fn read_trades(path: &Path) -> Result<Vec<OracleTrade>, String> {
    let file = fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut trades = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if line.is_empty() || (n == 0 && is_header(line.as_bytes())) {
            continue;
        }
        let trade = parse_row(line.as_bytes(), 0)
            .map_err(|e| format!("{}:{}: {:?}: {}", path.display(), n + 1, e.text, e.cause))?;
        trades.push(OracleTrade::from(&trade));
    }
    Ok(trades)
}
